// libFuzzer target for the decoders of bytes that arrive from outside this process: snapshot
// images (sent by a leader to a lagging follower) and entry payloads (read back from the log),
// including every payload kind of command.h.
// Both must fail cleanly on any input; whatever restore accepts must round-trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/assert.h"
#include "common/checksum.h"
#include "common/codec.h"
#include "kv/command_internal.h"
#include "kv/store.h"
#include "resp/command_table.h"

namespace {

// THE command table's arity check, which every command passed before a leader proposed it (kv
// keeps no copy of the arity: the server checks it).
bool fits_table_arity(const bw::kv::DecodedCommand& cmd) {
  const bw::kv::CommandSpec& spec = bw::kv::command_spec(cmd.op);
  const size_t bar = spec.name.find('|');
  const bw::resp::CommandSpec* entry = bw::resp::find_command(spec.name.substr(0, bar));
  if (entry != nullptr && bar != std::string_view::npos) {
    entry = bw::resp::find_subcommand(*entry, spec.name.substr(bar + 1));
  }
  return entry != nullptr && bw::resp::arity_ok(*entry, cmd.args.size() + spec.name_words());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // As given (the checksum almost always rejects it), and with a valid checksum appended so the
  // fuzzer reaches the record parser.
  std::string sealed(input);
  bw::ByteWriter(&sealed).u64(bw::checksum64(input));
  bw::kv::Store store;
  for (std::string_view image : {input, std::string_view(sealed)}) {
    if (store.restore(image).ok()) {
      bw::kv::Store again;
      BW_ASSERT(again.restore(store.snapshot()).ok());
      BW_ASSERT(again.snapshot() == store.snapshot());
    }
  }

  // A payload that decodes and passes arity and syntax is one the leader could have written, so
  // it must apply without tripping an assertion: to an empty store, and to one holding leases,
  // attached keys, election holders, a hash, a list and a set, so every payload kind (commands,
  // fenced commands, transactions, expiry of keys/leases/holders, the failover extension,
  // evictions) meets real state.
  auto decoded = bw::kv::decode_payload(input);
  if (!decoded.ok()) return 0;
  // SETRANGE may legitimately grow a value to 512 MiB; keep fuzz iterations small.
  auto small = [](const bw::kv::DecodedCommand& cmd) {
    return !(cmd.op == bw::kv::Op::kSetRange && cmd.args.size() == 3 && cmd.args[1].size() > 6);
  };
  bool applicable = true;
  if (const auto* cmd = std::get_if<bw::kv::DecodedCommand>(&decoded->body)) {
    applicable = fits_table_arity(*cmd) && small(*cmd);
  } else if (const auto* batch = std::get_if<bw::kv::DecodedBatch>(&decoded->body)) {
    for (const auto& item : batch->commands) {
      applicable = applicable && fits_table_arity(item) && small(item);
    }
  }
  if (!applicable) return 0;
  bw::kv::Store fresh;
  fresh.apply(1, input);

  bw::kv::Store seeded;
  constexpr int64_t kSeedNowMs = 1'700'000'000'000;
  const std::vector<std::vector<std::string_view>> seed = {
      {"LEASE", "GRANT", "1000"},        {"SET", "a", "v", "LEASE", "1"},
      {"SET", "b", "v", "PX", "5"},      {"ELECT", "w", "c", "1000"},
      {"LOCK", "l", "o", "10"},          {"SET", "c", "v", "LEASE", "1", "FENCE", "w", "4"},
      {"HSET", "h", "f", "1", "g", "x"}, {"RPUSH", "l", "a", "b"},
      {"SADD", "s", "1", "x"},
  };
  uint64_t index = 0;
  for (const auto& argv : seed) {
    auto payload = bw::kv::encode_write(argv, kSeedNowMs);
    BW_ASSERT(std::holds_alternative<std::string>(payload));
    seeded.apply(++index, std::get<std::string>(payload));
  }
  bw::kv::ApplyEffects effects;
  seeded.apply(++index, input, &effects);
  // Whatever time the entry carries, the log's time does not go back.
  BW_ASSERT(seeded.clock_ms() >= kSeedNowMs);
  bw::kv::Store copy;
  BW_ASSERT(copy.restore(seeded.snapshot()).ok());
  BW_ASSERT(copy.snapshot() == seeded.snapshot());
  return 0;
}
