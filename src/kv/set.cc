// Sets: SADD SREM SPOP SMOVE SINTERSTORE SUNIONSTORE SDIFFSTORE (writes, applied from the log) and
// SMEMBERS SISMEMBER SMISMEMBER SCARD SRANDMEMBER SINTER SUNION SDIFF SINTERCARD SSCAN (reads).
#include <fmt/format.h>

#include "kv/aggregate_read.h"
#include "kv/apply.h"

namespace bw::kv {

Reply Applier::set_write(const WriteCmd& cmd) {
  return Reply::error(fmt::format("ERR unknown command '{}'", command_spec(cmd.op).name));
}

Reply evaluate_set_read(const Keyspace&, Op op, std::span<const std::string_view>, int64_t,
                        uint64_t) {
  return Reply::error(fmt::format("ERR unknown command '{}'", command_spec(op).name));
}

}  // namespace bw::kv
