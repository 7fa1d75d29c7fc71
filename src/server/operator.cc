// Operator commands in Redis's shape: FAILOVER (hand Raft leadership to a follower) and DEBUG
// (fault injection for tests: slow or failing fsync, a power cut, a blocked event loop). Both act
// on this node only; neither is forwarded.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "common/assert.h"
#include "server/args.h"
#include "server/node.h"
#include "server/reply.h"

namespace bw::server {

namespace {

// Redis 7's reply, word for word, when DEBUG is not enabled for this connection.
constexpr std::string_view kDebugNotAllowed =
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you "
    "can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.";
constexpr int64_t kFsyncDelayMsMax = 60000;
constexpr double kDebugSleepSecondsMax = 60;

bool debug_allowed(DebugCommandAccess access, const Session& s) {
  return access == DebugCommandAccess::kYes || (access == DebugCommandAccess::kLocal && s.local);
}

// What FAILOVER asked for.
struct FailoverArgs {
  bool abort = false;
  bool force = false;
  int64_t timeout_ms = 0;  // 0 = not given
  std::string host;        // empty = no TO
  int64_t port = 0;
};

// Redis's parsing (replication.c failoverCommand): an error text, or nullopt with *out filled.
std::optional<std::string> parse_failover(std::span<const std::string_view> argv,
                                          FailoverArgs* out) {
  if (argv.size() == 2 && iequals(argv[1], "abort")) {
    out->abort = true;
    return std::nullopt;
  }
  for (size_t j = 1; j < argv.size(); ++j) {
    if (iequals(argv[j], "timeout") && j + 1 < argv.size() && out->timeout_ms == 0) {
      if (!parse_int64(argv[j + 1], &out->timeout_ms)) {
        return "ERR value is not an integer or out of range";
      }
      if (out->timeout_ms <= 0) return "ERR FAILOVER timeout must be greater than 0";
      ++j;
    } else if (iequals(argv[j], "to") && j + 2 < argv.size() && out->host.empty()) {
      if (!parse_int64(argv[j + 2], &out->port)) {
        return "ERR value is not an integer or out of range";
      }
      out->host = std::string(argv[j + 1]);
      j += 2;
    } else if (iequals(argv[j], "force") && !out->force) {
      out->force = true;
    } else {
      return "ERR syntax error";
    }
  }
  return std::nullopt;
}

// Redis's string2l: the whole text is a long in canonical form (no sign '+', no leading zeros,
// no spaces), which is when Redis stores a string with the int encoding.
bool canonical_integer(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() > 1 && (s[0] == '0' || (s[0] == '-' && s[1] == '0'))) return false;
  if (s == "-") return false;
  return parse_int64(s, out);
}

// RDB's length prefix: 1, 2, 5 or 9 bytes.
size_t rdb_length_bytes(uint64_t len) {
  if (len < (1u << 6)) return 1;
  if (len < (1u << 14)) return 2;
  if (len <= UINT32_MAX) return 5;
  return 9;
}

// DEBUG OBJECT's line for a string value, as Redis 7 writes it after SET: the int encoding for a
// canonical integer (Redis's shared integers 0-9999 show its shared refcount), embstr up to 44
// bytes, raw beyond. serializedlength is the RDB size of the value without LZF compression (Redis
// compresses values over 20 bytes when that saves space). Access times are not tracked: lru is
// the current LRU clock and lru_seconds_idle 0.
std::string debug_object_line(std::string_view value, int64_t now_ms) {
  constexpr int64_t kSharedIntegers = 10000;       // Redis's OBJ_SHARED_INTEGERS
  constexpr int64_t kSharedRefcount = 2147483647;  // Redis's OBJ_SHARED_REFCOUNT
  constexpr size_t kEmbstrBytesMax = 44;           // Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT
  constexpr int64_t kLruClockMax = (int64_t{1} << 24) - 1;  // Redis's LRU_CLOCK_MAX
  int64_t n = 0;
  std::string_view encoding;
  int64_t refcount = 1;
  size_t serialized = 0;
  if (canonical_integer(value, &n)) {
    encoding = "int";
    if (n >= 0 && n < kSharedIntegers) refcount = kSharedRefcount;
    if (n >= INT8_MIN && n <= INT8_MAX) {
      serialized = 2;
    } else if (n >= INT16_MIN && n <= INT16_MAX) {
      serialized = 3;
    } else if (n >= INT32_MIN && n <= INT32_MAX) {
      serialized = 5;
    } else {
      serialized = rdb_length_bytes(value.size()) + value.size();
    }
  } else {
    encoding = value.size() <= kEmbstrBytesMax ? "embstr" : "raw";
    serialized = rdb_length_bytes(value.size()) + value.size();
  }
  return fmt::format(
      "Value at:{} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:0",
      static_cast<const void*>(value.data()), refcount, encoding, serialized,
      (now_ms / 1000) & kLruClockMax);
}

}  // namespace

// ---- DEBUG -----------------------------------------------------------------------------------

// DEBUG FSYNC-DELAY <ms> | FSYNC-FAIL yes|no | POWER-CUT | SLEEP <seconds> | HELP
void Node::execute_debug(const std::shared_ptr<Session>& s, uint64_t seq,
                         std::span<const std::string_view> argv) {
  std::string out;
  resp::Writer w(&out, s->protocol);
  const bool has_value = argv.size() == 3;
  if (!debug_allowed(config_.enable_debug_command, *s)) {
    w.error(kDebugNotAllowed);
  } else if (iequals(argv[1], "fsync-delay") && has_value) {
    int64_t ms = 0;
    if (!parse_int64(argv[2], &ms) || ms < 0 || ms > kFsyncDelayMsMax) {
      w.error(fmt::format("ERR fsync delay must be an integer from 0 to {} ms", kFsyncDelayMsMax));
    } else {
      BW_ASSERT(debug_fs_ != nullptr);
      debug_fs_->set_sync_delay(std::chrono::milliseconds(ms));
      spdlog::warn("node {}: DEBUG FSYNC-DELAY {} ms (client {})", config_.id, ms, s->peer_address);
      w.simple("OK");
    }
  } else if (iequals(argv[1], "fsync-fail") && has_value) {
    if (!iequals(argv[2], "yes") && !iequals(argv[2], "no")) {
      w.error("ERR argument must be 'yes' or 'no'");
    } else {
      BW_ASSERT(debug_fs_ != nullptr);
      bool fail = iequals(argv[2], "yes");
      debug_fs_->set_sync_failure(fail);
      spdlog::warn("node {}: DEBUG FSYNC-FAIL {} (client {}){}", config_.id, fail ? "yes" : "no",
                   s->peer_address,
                   fail ? "; the next failed sync stops this node, as a real one would" : "");
      w.simple("OK");
    }
  } else if (iequals(argv[1], "power-cut") && argv.size() == 2) {
    BW_ASSERT(debug_fs_ != nullptr);
    spdlog::warn(
        "node {}: DEBUG POWER-CUT (client {}): dropping every write not yet fsync'd and "
        "stopping at once",
        config_.id, s->peer_address);
    // No reply: like a real power loss, the node is gone before it could answer.
    debug_fs_->power_cut();
    BW_UNREACHABLE("the process outlived DEBUG POWER-CUT");
  } else if (iequals(argv[1], "sleep") && has_value) {
    double seconds = 0;
    if (!absl::SimpleAtod(absl::string_view(argv[2].data(), argv[2].size()), &seconds) ||
        !std::isfinite(seconds)) {
      w.error("ERR value is not a valid float");
    } else if (seconds < 0 || seconds > kDebugSleepSecondsMax) {
      w.error(fmt::format("ERR sleep must be from 0 to {} seconds", kDebugSleepSecondsMax));
    } else {
      spdlog::warn("node {}: DEBUG SLEEP {} s: the event loop stops meanwhile", config_.id,
                   seconds);
      // Blocks this node's only event-loop thread on purpose, as Redis does: a pause.
      std::this_thread::sleep_for(std::chrono::microseconds(std::llround(seconds * 1e6)));
      w.simple("OK");
    }
  } else if (iequals(argv[1], "object") && has_value) {
    // This node's applied state, as a READONLY read sees it (DEBUG is local, as Redis's).
    const std::string_view get[] = {"get", argv[2]};
    kv::Reply value = store().read(get, now_ms(), 0);
    if (value.kind == kv::Reply::Kind::kBulk) {
      w.simple(debug_object_line(value.str, now_ms()));
    } else {
      w.error("ERR no such key");
    }
  } else if (iequals(argv[1], "help") && argv.size() == 2) {
    const char* lines[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "OBJECT <key>",
        "    Show low-level info about the key and associated value.",
        "FSYNC-DELAY <milliseconds>",
        "    Every fsync of the write-ahead log and snapshots takes this much longer (0: off).",
        "FSYNC-FAIL <yes|no>",
        "    Every fsync fails with EIO; the node stops at the first failed WAL sync.",
        "POWER-CUT",
        "    Drop every write not yet fsync'd (as a power loss would) and stop at once.",
        "SLEEP <seconds>",
        "    Stop the server's event loop for <seconds> (decimals allowed).",
        "HELP",
        "    Print this help."};
    w.array(std::size(lines));
    for (const char* l : lines) w.simple(l);
  } else {
    w.error(
        fmt::format("ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                    argv[1].substr(0, 128)));
  }
  s->fulfil(seq, std::move(out));
}

// ---- FAILOVER --------------------------------------------------------------------------------

// Raft's recent_active flag is cleared for every follower at each check-quorum round and set
// again by its next answer; a FAILOVER arriving in between would find no follower online. A
// follower whose peer link is up counts as online as well.
bool Node::follower_online(const raft::FollowerProgress& p) const {
  return p.recent_active || transport_->stats(p.id).connected;
}

// The voter most likely to take over at once: online, with the most of the log.
NodeId Node::most_caught_up_follower() const {
  raft::NodeStatus st = raft().status();
  NodeId best;
  LogIndex best_match;
  for (const auto& p : st.progress) {
    if (p.id == config_.id || p.learner || !follower_online(p)) continue;
    if (best == kNoNode || p.match > best_match) {
      best = p.id;
      best_match = p.match;
    }
  }
  return best;
}

// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]
// Unlike Redis, which answers +OK as soon as the failover starts, the reply comes once it ended:
// +OK when another node leads, an error when TIMEOUT (default: request-timeout-ms) passed first.
void Node::execute_failover(const std::shared_ptr<Session>& s, uint64_t seq,
                            std::span<const std::string_view> argv) {
  auto fail = [&](std::string_view message) {
    std::string out;
    resp::Writer(&out, s->protocol).error(message);
    s->fulfil(seq, std::move(out));
  };
  FailoverArgs args;
  if (auto err = parse_failover(argv, &args)) return fail(*err);
  if (args.abort) {
    if (!failover_) return fail("ERR No failover in progress.");
    if (raft().is_leader()) (void)raft().transfer_leader(config_.id);  // to itself: aborts
    finish_failover("ERR FAILOVER aborted");
    std::string out;
    resp::Writer(&out, s->protocol).simple("OK");
    s->fulfil(seq, std::move(out));
    return;
  }
  if (failover_) return fail("ERR FAILOVER already in progress.");
  if (!raft().is_leader()) return fail("ERR FAILOVER is not valid when server is a replica.");
  NodeId target = most_caught_up_follower();
  if (target == kNoNode) return fail("ERR FAILOVER requires connected replicas.");
  if (args.force && (args.timeout_ms == 0 || args.host.empty())) {
    return fail("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
  }
  if (!args.host.empty()) {
    std::string address = fmt::format("{}:{}", args.host, args.port);
    raft::NodeStatus st = raft().status();
    const raft::FollowerProgress* found = nullptr;
    for (const auto& p : st.progress) {
      std::optional<PeerSpec> spec = peer(p.id);
      if (p.id != config_.id && !p.learner && spec && spec->client_address == address) found = &p;
    }
    if (found == nullptr) return fail("ERR FAILOVER target HOST and PORT is not a replica.");
    if (!follower_online(*found)) return fail("ERR FAILOVER target replica is not online.");
    target = found->id;
  }
  Status started = raft().transfer_leader(target);
  if (!started.ok())
    return fail(fmt::format("ERR FAILOVER could not start: {}", started.message()));
  spdlog::info("node {}: FAILOVER to node {} requested by client {}", config_.id, target,
               s->peer_address);
  failover_ = PendingFailover{
      .session = s,
      .seq = seq,
      .target = target,
      .explicit_target = !args.host.empty(),
      .deadline_ms =
          now_ms() + (args.timeout_ms > 0 ? args.timeout_ms : config_.request_timeout_ms)};
  schedule_flush();
}

// Each tick while a FAILOVER waits: done once another node leads; Raft gives a transfer up
// after an election timeout (a lagging or unreachable target), so it is started again until the
// deadline.
void Node::poll_failover() {
  if (!failover_) return;
  PendingFailover& f = *failover_;
  if (f.session->closed()) {
    failover_.reset();  // the transfer already started goes on or times out in Raft
    return;
  }
  const bool late = now_ms() >= f.deadline_ms;
  if (!raft().is_leader()) {
    // Raft's leader, not leader_: on a tick run before the Ready of our step-down, leader_ is
    // still this node (node.h).
    const NodeId leader = raft().leader();
    if (leader == kNoNode) {
      if (late) finish_failover("ERR FAILOVER timed out: no new leader is known yet");
    } else if (leader == f.target || !f.explicit_target) {
      spdlog::info("node {}: FAILOVER done; node {} leads", config_.id, leader);
      finish_failover("");
    } else {
      finish_failover(
          fmt::format("ERR FAILOVER target did not take over; node {} leads now", leader));
    }
    return;
  }
  if (late) {
    (void)raft().transfer_leader(config_.id);  // aborts the transfer: writes resume here
    finish_failover("ERR FAILOVER timed out; this node is still the leader");
    return;
  }
  if (raft().status().transferee == kNoNode) {
    if (!f.explicit_target) {
      NodeId best = most_caught_up_follower();
      if (best != kNoNode) f.target = best;
    }
    if (raft().transfer_leader(f.target).ok()) schedule_flush();
  }
}

// Replies to the waiting FAILOVER: +OK for an empty `error`.
void Node::finish_failover(std::string_view error) {
  if (!failover_) return;
  PendingFailover f = std::move(*failover_);
  failover_.reset();
  std::string out;
  resp::Writer w(&out, f.session->protocol);
  if (error.empty()) {
    w.simple("OK");
  } else {
    spdlog::warn("node {}: FAILOVER to node {} failed: {}", config_.id, f.target, error);
    w.error(error);
  }
  f.session->fulfil(f.seq, std::move(out));
}

}  // namespace bw::server
