// Overload protection (docs/security.md, "Overload protection"): maxclients and the open-files
// limit, maxmemory with its eviction policies, output buffer limits and the idle timeout.
#include "server/overload.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kv/command.h"
#include "server/node.h"

namespace bw::server {

uint64_t adjust_open_files_limit(uint64_t maxclients) {
  const uint64_t wanted = maxclients + kReservedFds;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn(
        "Unable to obtain the current NOFILE limit ({}), assuming 1024 and setting the "
        "max clients configuration accordingly.",
        std::strerror(errno));
    return 1024 > kReservedFds ? 1024 - kReservedFds : 1;
  }
  if (limit.rlim_cur >= wanted) return maxclients;
  // Ask for `wanted`, then step down until the kernel agrees (as Redis does): an unprivileged
  // process may raise its soft limit up to the hard limit only.
  uint64_t best = limit.rlim_cur;
  int setrlimit_error = 0;
  for (uint64_t candidate = wanted; candidate > limit.rlim_cur;) {
    rlimit next{.rlim_cur = candidate, .rlim_max = std::max<rlim_t>(candidate, limit.rlim_max)};
    if (setrlimit(RLIMIT_NOFILE, &next) == 0) {
      best = candidate;
      break;
    }
    next.rlim_max = limit.rlim_max;
    if (candidate <= limit.rlim_max && setrlimit(RLIMIT_NOFILE, &next) == 0) {
      best = candidate;
      break;
    }
    setrlimit_error = errno;
    candidate = candidate > kOpenFilesStep ? candidate - kOpenFilesStep : 0;
  }
  if (best >= wanted) return maxclients;
  const uint64_t fitting = best > kReservedFds ? best - kReservedFds : 1;
  spdlog::warn("You requested maxclients of {} requiring at least {} max file descriptors.",
               maxclients, wanted);
  spdlog::warn("Server can't set maximum open files to {} because of OS error: {}.", wanted,
               std::strerror(setrlimit_error != 0 ? setrlimit_error : EPERM));
  spdlog::warn(
      "Current maximum open files is {}. maxclients has been reduced to {} to "
      "compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
      best, fitting);
  return fitting;
}

// ---- maxmemory -------------------------------------------------------------------------------

uint64_t Node::used_memory() const {
  return store().memory_bytes_estimate();
}

bool Node::over_maxmemory() const {
  return config_.maxmemory_bytes != 0 && used_memory() > config_.maxmemory_bytes;
}

// Leader only. Proposes one eviction entry when the dataset is over maxmemory and no earlier
// eviction entry is still waiting to apply (the estimate only falls once it applies). Returns
// false if the policy found nothing to evict (noeviction, or volatile-* without volatile keys).
bool Node::maybe_evict() {
  if (!over_maxmemory()) return true;
  if (eviction_index_ > replica_->applied().value()) return true;  // one entry in flight
  if (config_.maxmemory_policy == kv::EvictionPolicy::kNoEviction) return false;
  // The draws' seed: differs per start and per eviction (the choice is the leader's alone).
  const uint64_t seed = boot_epoch_ ^ (++eviction_rounds_ * 0x9e3779b97f4a7c15ull);
  const uint64_t excess = used_memory() - config_.maxmemory_bytes;
  kv::EvictionChoice choice = replica_->store().choose_evictions(
      config_.maxmemory_policy, config_.maxmemory_samples, excess, seed);
  if (choice.keys.empty()) return false;
  auto ignore = [](const Status&, const kv::Reply&) {};
  Result<LogIndex> index =
      replica_->propose(kv::encode_evict_keys(choice.keys, now_ms()), std::move(ignore));
  if (!index.ok()) return true;  // not leader any more: the next leader decides
  eviction_index_ = index->value();
  ++counters_.eviction_entries_proposed;
  schedule_flush();
  return true;
}

bool Node::refuse_oom(const ReplyTo& to, std::span<const std::string_view> argv) {
  if (config_.maxmemory_bytes == 0) return false;
  const resp::CommandSpec* spec = resp::find_command(argv[0]);
  if (spec == nullptr || !spec->has(resp::kDenyOom)) return false;
  if (maybe_evict()) return false;
  ++counters_.oom_rejections;
  reply_error(to, kOomError);
  return true;
}

bool Node::refuse_oom_transaction(const ReplyTo& to, const Transaction& tx) {
  if (config_.maxmemory_bytes == 0) return false;
  for (const auto& command : tx.commands) {
    const resp::CommandSpec* spec = resp::find_command(command[0]);
    if (spec == nullptr || !spec->has(resp::kDenyOom)) continue;
    if (maybe_evict()) return false;
    ++counters_.oom_rejections;
    reply_error(to, kOomError);
    return true;
  }
  return false;
}

// ---- clients ---------------------------------------------------------------------------------

bool Node::refuse_client(asio::ip::tcp::socket& socket) {
  if (sessions_.size() < effective_maxclients_) return false;
  ++counters_.rejected_connections;
  asio::error_code ec;
  const std::string_view error = "-ERR max number of clients reached\r\n";
  // A new socket's send buffer is empty: the short write completes at once.
  asio::write(socket, asio::buffer(error.data(), error.size()), ec);
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket.close(ec);
  return true;
}

ClientClass Node::client_class(const Session& s) const {
  return pubsub_.subscriptions(&s) > 0 ? ClientClass::kPubSub : ClientClass::kNormal;
}

void Node::output_limit_reached(Session& s) {
  ++counters_.output_limit_disconnections;
  spdlog::warn("Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
               client_info_line(s));
}

void Node::close_idle_clients() {
  if (config_.idle_timeout_s == 0) return;
  const uint64_t now = static_cast<uint64_t>(now_ms());
  const uint64_t idle_ms_max = config_.idle_timeout_s * 1000;
  std::vector<std::shared_ptr<Session>> idle;
  for (const auto& [ptr, s] : sessions_) {
    const uint64_t last = std::max(s->last_command_ms, s->created_ms);
    if (now <= last + idle_ms_max) continue;
    // Redis's exemptions: blocked clients (here: any command still waiting for its reply),
    // subscribers and MONITOR clients.
    if (s->pending_replies() > 0 || pubsub_.subscriptions(s.get()) > 0 || s->monitor) continue;
    idle.push_back(s);
  }
  for (const auto& s : idle) {
    spdlog::debug("Closing idle client {}", client_info_line(*s));
    s->close();
  }
}

}  // namespace bw::server
