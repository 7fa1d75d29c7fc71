// libFuzzer target for the decoders of bytes that arrive from outside this process: snapshot
// images (sent by a leader to a lagging follower) and entry payloads (read back from the log).
// Both must fail cleanly on any input; whatever restore accepts must round-trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/assert.h"
#include "common/checksum.h"
#include "common/codec.h"
#include "kv/command_internal.h"
#include "kv/store.h"

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
  // it must apply without tripping an assertion.
  auto decoded = bw::kv::decode_payload(input);
  if (decoded.ok()) {
    bool applicable = true;
    if (const auto* cmd = std::get_if<bw::kv::DecodedCommand>(&decoded->body)) {
      const bw::kv::CommandSpec& spec = bw::kv::command_spec(cmd->op);
      applicable = bw::kv::arity_ok(spec, cmd->args.size() + 1);
      // SETRANGE may legitimately grow a value to 512 MiB; keep fuzz iterations small.
      if (cmd->op == bw::kv::Op::kSetRange && cmd->args.size() == 3 && cmd->args[1].size() > 6) {
        applicable = false;
      }
    }
    bw::kv::Store fresh;
    if (applicable) fresh.apply(1, input);
  }
  return 0;
}
