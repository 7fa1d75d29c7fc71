// The replicated state machine the simulator runs on every node: a map of string registers with
// put and compare-and-set commands encoded into Raft entries, and reads served locally after a
// ReadIndex round. Deliberately tiny so that any divergence it shows is Raft's or the driver's.
//
// Thread safety: none; owned by one simulated node.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bw::sim {

enum class CommandKind : uint8_t { kPut = 1, kCas = 2 };

// A write as proposed by a client; (client, seq) identifies it.
struct Command {
  CommandKind kind = CommandKind::kPut;
  uint32_t client = 0;
  uint64_t seq = 0;
  std::string key;
  std::string value;
  std::string expected;  // kCas only
};

std::string encode_command(const Command& c);
Result<Command> decode_command(std::string_view data);

class RegisterMachine {
 public:
  // Applies a write; returns whether it changed the register (a cas may not).
  bool apply(const Command& c);
  // Empty string when the key is absent.
  std::string get(const std::string& key) const;

  std::string snapshot() const;
  Status restore(std::string_view image);

 private:
  std::map<std::string, std::string> registers_;
};

}  // namespace bw::sim
