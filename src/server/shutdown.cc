// Graceful stop, from SIGTERM (main.cc) or SHUTDOWN, and SHUTDOWN ABORT.
//
// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], with Redis 7's syntax and replies. Every
// acknowledged write is already durable in the write-ahead log, so SAVE and NOSAVE change nothing
// (there is no RDB file to write or skip). A leader hands leadership over to its most caught-up
// follower first, bounded by shutdown-transfer-ms, as for SIGTERM; NOW skips the hand-over (the
// others then wait one election timeout). FORCE is accepted: nothing here can refuse a shutdown.
// The caller's connection closes when the node stops, as Redis's does; an ABORT answers the
// pending callers "ERR Errors trying to SHUTDOWN. Check logs.", as Redis does.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "absl/strings/match.h"
#include "server/args.h"
#include "server/log_format.h"
#include "server/node.h"
#include "server/node_call.h"

namespace bw::server {

namespace {

struct ShutdownArgs {
  bool save = false;
  bool nosave = false;
  bool now = false;
  bool force = false;
  bool abort = false;
};

// Redis's parsing (server.c shutdownCommand): false on a syntax error.
bool parse_shutdown(std::span<const std::string_view> argv, ShutdownArgs* out) {
  for (size_t i = 1; i < argv.size(); ++i) {
    if (iequals(argv[i], "nosave")) {
      out->nosave = true;
    } else if (iequals(argv[i], "save")) {
      out->save = true;
    } else if (iequals(argv[i], "now")) {
      out->now = true;
    } else if (iequals(argv[i], "force")) {
      out->force = true;
    } else if (iequals(argv[i], "abort")) {
      out->abort = true;
    } else {
      return false;
    }
  }
  const bool flags = out->save || out->nosave || out->now || out->force;
  return !(out->abort && flags) && !(out->save && out->nosave);
}

}  // namespace

void Node::shutdown_command(NodeCall& c) {
  ShutdownArgs args;
  if (!parse_shutdown(c.argv, &args)) {
    c.w.error("ERR syntax error");
    return;
  }
  if (args.abort) {
    if (abort_shutdown()) {
      c.w.simple("OK");
    } else {
      c.w.error("ERR No shutdown in progress.");
    }
    return;
  }
  spdlog::info("node {}: SHUTDOWN{} from client {}", config_.id, args.now ? " NOW" : "",
               c.s->peer_address);
  c.answered = true;  // no reply: the connection closes when the node stops
  shutdown_callers_.push_back(ShutdownCaller{.session = c.s, .seq = c.seq});
  std::function<void()> done = stop_handler_;
  if (!done) done = [] {};
  shutdown(std::move(done), !args.now);
}

void Node::shutdown(std::function<void()> done, bool transfer) {
  if (stopping_) {
    // Already on its way (SIGTERM, another SHUTDOWN): NOW cuts a hand-over short.
    if (!transfer) shutdown_deadline_ms_ = now_ms();
    poll_shutdown();
    return;
  }
  stopping_ = true;
  shutdown_done_ = std::move(done);
  shutdown_deadline_ms_ = now_ms() + (transfer ? int64_t{config_.shutdown_transfer_ms} : 0);
  log_event(spdlog::level::info, "node_stopping", {{"transfer", transfer ? "yes" : "no"}},
            "node {}: stopping", config_.id);
  if (transfer && raft().is_leader()) {
    // Hand over to the follower with the most of the log, so clients see no election timeout.
    NodeId best = most_caught_up_follower();
    if (best != kNoNode) {
      Status t = raft().transfer_leader(best);
      spdlog::info("node {}: shutting down; transferring leadership to {}: {}", config_.id, best,
                   t.ok() ? "started" : std::string(t.message()));
      schedule_flush();
    }
  }
  poll_shutdown();
}

void Node::poll_shutdown() {
  if (!shutdown_done_) return;
  bool handed_over = !raft().is_leader() || replica_->conf().voters.size() == 1;
  if (!handed_over && now_ms() < shutdown_deadline_ms_) return;
  if (!handed_over) spdlog::warn("node {}: stopping while still the leader", config_.id);
  asio::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  if (sentinel_acceptor_) sentinel_acceptor_->close(ignored);
  if (tls_acceptor_) tls_acceptor_->close(ignored);
  ticker_.cancel();
  for (auto& s : sessions()) s->close();
  shutdown_callers_.clear();
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  done();
}

bool Node::abort_shutdown() {
  if (!shutdown_done_) return false;
  stopping_ = false;
  shutdown_done_ = nullptr;
  if (raft().is_leader()) {
    (void)raft().transfer_leader(config_.id);  // to itself: cancels a hand-over in progress
    schedule_flush();
  }
  for (ShutdownCaller& caller : shutdown_callers_) {
    if (caller.session->closed()) continue;
    std::string out;
    resp::Writer(&out, caller.session->protocol)
        .error("ERR Errors trying to SHUTDOWN. Check logs.");
    caller.session->fulfil(caller.seq, std::move(out));
  }
  shutdown_callers_.clear();
  log_event(spdlog::level::warn, "shutdown_aborted", {}, "node {}: shutdown aborted", config_.id);
  return true;
}

}  // namespace bw::server
