// Internal to kv: what the reads of the aggregate types (hash.cc, set.cc) share.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/glob.h"
#include "kv/command_internal.h"
#include "kv/keyspace.h"
#include "kv/numbers.h"
#include "kv/reply.h"
#include "kv/store.h"

namespace bw::kv {

// HRANDFIELD / SRANDMEMBER with a negative count (repeats allowed) answer at most this many.
inline constexpr uint64_t kRandomRepliesMax = 1'000'000;
// HSCAN / SSCAN return a value of at most this many members whole, with cursor 0, whatever COUNT
// says: what Redis does for its small encodings (listpack, intset), so replies match Redis's.
inline constexpr size_t kScanWholeMembersMax = 128;

// The count of HRANDFIELD / SRANDMEMBER: an integer other than the lowest (Redis takes
// -LONG_MAX..LONG_MAX, so negating it never overflows). nullopt if valid, else Redis's error.
std::optional<Reply> check_random_count(std::string_view text);

// Redis's parseScanCursorOrReply: strtoul over the whole string, no leading space (read.cc).
std::optional<uint64_t> parse_scan_cursor(std::string_view text);

// The reads of hashes (hash.cc) and sets (set.cc): `expiry_ms` judges existence as
// evaluate_read does; `random` seeds HRANDFIELD / SRANDMEMBER.
Reply evaluate_hash_read(const Keyspace& keys, Op op, std::span<const std::string_view> argv,
                         int64_t expiry_ms, uint64_t random);
Reply evaluate_set_read(const Keyspace& keys, Op op, std::span<const std::string_view> argv,
                        int64_t expiry_ms, uint64_t random);
Reply evaluate_list_read(const Keyspace& keys, Op op, std::span<const std::string_view> argv,
                         int64_t expiry_ms);

// HSCAN/SSCAN key cursor [MATCH pattern] [COUNT count] over `table` (null: the key is absent).
// The cursor is a sequence number (collections.h); emit(node, &out) appends one member's replies.
// A table of at most `whole_max` members is returned whole.
// REQUIRES: argv[2] parses as a cursor.
template <typename Table, typename Emit>
Reply scan_members(const Table* table, std::span<const std::string_view> argv, Emit emit,
                   size_t whole_max = kScanWholeMembersMax) {
  const uint64_t cursor = *parse_scan_cursor(argv[2]);
  int64_t count = 10;
  std::string_view pattern = "*";
  for (size_t i = 3; i < argv.size(); i += 2) {
    const bool has_value = i + 1 < argv.size();
    if (equals_ignore_case(argv[i], "count") && has_value) {
      std::optional<int64_t> c = parse_int64(argv[i + 1]);
      if (!c) return Reply::error("ERR value is not an integer or out of range");
      if (*c < 1) return Reply::error("ERR syntax error");
      count = *c;
    } else if (equals_ignore_case(argv[i], "match") && has_value) {
      pattern = argv[i + 1];
    } else {
      return Reply::error("ERR syntax error");
    }
  }
  std::vector<Reply> found;
  uint64_t next = 0;
  if (table != nullptr) {
    const bool whole = table->size() <= whole_max;
    auto it = whole ? table->begin() : table->lower_bound(cursor);
    auto budget = static_cast<size_t>(std::min<int64_t>(count, kScanCountMax));
    for (size_t visited = 0; it != table->end() && (whole || visited < budget); ++it, ++visited) {
      if (glob_match(pattern, it->second->first)) emit(*it->second, &found);
    }
    next = it == table->end() ? 0 : it->first;
  }
  std::vector<Reply> reply;
  reply.push_back(Reply::bulk(std::to_string(next)));
  reply.push_back(Reply::array(std::move(found)));
  return Reply::array(std::move(reply));
}

}  // namespace bw::kv
