#include "common/glob.h"

#include <fnmatch.h>

#include <string>

namespace bw {

bool glob_match(std::string_view pattern, std::string_view text, bool nocase) {
  if (pattern == "*") return true;
  if (pattern.find('\0') != std::string_view::npos) return false;
  if (text.find('\0') != std::string_view::npos) return false;
  return fnmatch(std::string(pattern).c_str(), std::string(text).c_str(),
                 nocase ? FNM_CASEFOLD : 0) == 0;
}

}  // namespace bw
