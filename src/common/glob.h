// Redis's glob patterns (KEYS, CONFIG GET, ACL key and channel patterns).
#pragma once

#include <string_view>

namespace bw {

// Redis glob patterns through fnmatch(3) (no flags: '*' crosses '/', '\' escapes, [^...] and
// [!...] negate; `nocase` folds ASCII case). fnmatch sees C strings, so a text or pattern with a
// NUL byte matches only the catch-all "*". Thread safe.
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

}  // namespace bw
