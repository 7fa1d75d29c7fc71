// Sets beyond what the golden scripts (testdata/sets.golden) can show.
#include <gtest/gtest.h>

#include "kv/test_util.h"

namespace bw::kv {
namespace {}  // namespace
}  // namespace bw::kv
