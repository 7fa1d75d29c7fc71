#include "common/assert.h"

#include <cstdio>
#include <cstdlib>

namespace bw::detail {

void assert_failed(const char* expr, const char* file, int line, const std::string& message) {
  std::fprintf(stderr, "bellwether: assertion failed: %s at %s:%d%s%s\n", expr, file, line,
               message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace bw::detail
