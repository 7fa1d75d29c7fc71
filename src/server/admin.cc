// Operators' introspection as Redis offers it: per-command statistics fed by every reply, SLOWLOG,
// LATENCY, MONITOR and the client pause of CLIENT PAUSE (client_commands.cc parses that command).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/assert.h"
#include "kv/command.h"
#include "server/args.h"
#include "server/latency_monitor.h"
#include "server/monitor.h"
#include "server/node.h"
#include "server/node_call.h"
#include "server/reply.h"
#include "server/slowlog.h"

namespace bw::server {

namespace {

// Passwords never reach SLOWLOG (Redis shows them as "(redacted)"): AUTH's arguments, HELLO's
// AUTH password, ACL SETUSER's >password and <password rules, CONFIG SET requirepass's value.
void redact_secrets(std::vector<std::string>* argv) {
  std::vector<std::string>& a = *argv;
  if (a.empty()) return;
  constexpr std::string_view kRedacted = "(redacted)";
  if (iequals(a[0], "auth")) {
    for (size_t i = 1; i < a.size(); ++i) a[i] = kRedacted;
  } else if (iequals(a[0], "hello")) {
    for (size_t i = 1; i + 2 < a.size(); ++i) {
      if (iequals(a[i], "auth")) a[i + 2] = kRedacted;
    }
  } else if (iequals(a[0], "acl") && a.size() > 3 && iequals(a[1], "setuser")) {
    for (size_t i = 3; i < a.size(); ++i) {
      if (a[i].starts_with('>') || a[i].starts_with('<')) a[i] = kRedacted;
    }
  } else if (iequals(a[0], "config") && a.size() > 3 && iequals(a[1], "set")) {
    for (size_t i = 2; i + 1 < a.size(); i += 2) {
      if (iequals(a[i], "requirepass")) a[i + 1] = kRedacted;
    }
  }
}

int64_t unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Redis's errorstats key of an error reply: its first word when there is a space in its first 32
// bytes, else ERR.
std::string_view error_prefix(std::string_view reply) {
  std::string_view text;
  if (reply[0] == '-') {
    text = reply.substr(1);
  } else {  // RESP3 blob error: !<length>\r\n<text>\r\n
    const size_t line = reply.find("\r\n");
    text = line == std::string_view::npos ? std::string_view() : reply.substr(line + 2);
  }
  const size_t space = text.substr(0, std::min<size_t>(text.size(), 32)).find(' ');
  return space == std::string_view::npos ? std::string_view("ERR") : text.substr(0, space);
}

}  // namespace

// ---- command statistics ----------------------------------------------------------------------

CommandStat& Node::stat_for(const resp::CommandSpec& spec) {
  // execute() looks top-level commands up, so `spec` is an element of all_commands().
  if (stat_by_command_.empty()) {
    commands_base_ = resp::all_commands().data();
    stat_by_command_.resize(resp::all_commands().size(), nullptr);
  }
  const auto index = static_cast<size_t>(&spec - commands_base_);
  BW_ASSERT(index < stat_by_command_.size(), "{} is no top-level command", spec.name);
  CommandStat*& stat = stat_by_command_[index];
  if (stat == nullptr) stat = &command_stats_.stat(spec.name);
  return *stat;
}

void Node::command_replied(Session& s, const CommandReplied& r) {
  const bool error = !r.reply.empty() && (r.reply[0] == '-' || r.reply[0] == '!');
  if (error) command_stats_.record_error(error_prefix(r.reply));
  if (r.spec == nullptr) return;  // an unknown command: errorstats only, as Redis
  if (r.queued) {
    // QUEUED is no call; a command refused at queueing time is a rejected one.
    if (error) ++stat_for(*r.spec).rejected_calls;
    return;
  }
  CommandStat& st = stat_for(*r.spec);
  if (r.rejected) {
    ++st.rejected_calls;
    return;
  }
  ++st.calls;
  st.usec += r.usec;
  if (error) ++st.failed_calls;
  st.latency.record(r.usec);

  const int64_t slower_than_us = config_.slowlog_log_slower_than_us;
  // EXEC carries Redis's skip-slowlog flag because Redis logs the commands it runs one by one;
  // a transaction here is one log entry whose commands are not timed apart, so EXEC is logged.
  if (slower_than_us >= 0 && r.usec >= static_cast<uint64_t>(slower_than_us) &&
      (!r.spec->has(resp::kSkipSlowlog) || r.spec->name == "exec") && config_.slowlog_max_len > 0) {
    std::vector<std::string> argv = s.slowlog_argv(r.seq);
    redact_secrets(&argv);
    slowlog_.add(SlowLog::Entry{.unix_s = unix_us() / 1000000,
                                .duration_us = r.usec,
                                .argv = std::move(argv),
                                .client_address = s.peer_address,
                                .client_name = s.name},
                 config_.slowlog_max_len);
  }
  const uint64_t threshold_ms = config_.latency_monitor_threshold_ms;
  if (threshold_ms > 0 && r.usec / 1000 >= threshold_ms) {
    latency_.add(r.spec->has(resp::kFast) ? "fast-command" : "command", r.usec / 1000,
                 unix_us() / 1000000);
  }
}

void Node::reset_command_stats() {
  command_stats_.reset();
}

// SLOWLOG GET [count] | LEN | RESET | HELP
void Node::slowlog_command(NodeCall& c) {
  std::span<const std::string_view> argv = c.argv;
  resp::Writer& w = c.w;
  const std::string_view sub = argv[1];
  if (iequals(sub, "get") && argv.size() <= 3) {
    int64_t count = 10;
    if (argv.size() == 3) {
      auto [ptr, ec] = std::from_chars(argv[2].data(), argv[2].data() + argv[2].size(), count);
      if (argv[2].empty() || ec != std::errc() || ptr != argv[2].data() + argv[2].size() ||
          count < -1) {
        w.error("ERR count should be greater than or equal to -1");
        return;
      }
    }
    slowlog_.write_get(w, count);
  } else if (iequals(sub, "len") && argv.size() == 2) {
    w.integer(static_cast<int64_t>(slowlog_.size()));
  } else if (iequals(sub, "reset") && argv.size() == 2) {
    slowlog_.reset();
    w.simple("OK");
  } else if (iequals(sub, "help") && argv.size() == 2) {
    write_help(w, "SLOWLOG",
               {"GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name", "LEN", "    Return the length of the slowlog.", "RESET",
                "    Reset the slowlog."});
  } else {
    w.error(unknown_subcommand_message("slowlog", sub));
  }
}

// LATENCY LATEST | HISTORY event | RESET [event...] | HISTOGRAM [command...] | DOCTOR | HELP
void Node::latency_command(NodeCall& c) {
  std::span<const std::string_view> argv = c.argv;
  resp::Writer& w = c.w;
  const std::string_view sub = argv[1];
  if (iequals(sub, "latest") && argv.size() == 2) {
    latency_.write_latest(w);
  } else if (iequals(sub, "history") && argv.size() == 3) {
    latency_.write_history(w, argv[2]);
  } else if (iequals(sub, "reset")) {
    w.integer(static_cast<int64_t>(latency_.reset(argv.subspan(2))));
  } else if (iequals(sub, "histogram")) {
    write_latency_histogram(w, command_stats_, argv.subspan(2));
  } else if (iequals(sub, "doctor") && argv.size() == 2) {
    w.verbatim("txt", latency_.doctor(config_.latency_monitor_threshold_ms));
  } else if (iequals(sub, "help") && argv.size() == 2) {
    write_help(
        w, "LATENCY",
        {"DOCTOR", "    Return a human readable latency analysis report.", "HISTORY <event>",
         "    Return time-latency samples for the <event> class.", "LATEST",
         "    Return the latest latency samples for all events.", "RESET [<event> ...]",
         "    Reset latency data of one or more <event> classes.",
         "    (default: reset all data for all event classes)", "HISTOGRAM [COMMAND ...]",
         "    Return a cumulative distribution of latencies in the format of a histogram for the "
         "specified command names.",
         "    If no commands are specified then all histograms are replied."});
  } else {
    w.error(unknown_subcommand_message("latency", sub));
  }
}

// ---- MONITOR ---------------------------------------------------------------------------------

void Node::monitor_command(NodeCall& c) {
  // Listed once, also after RESET and MONITOR again (RESET leaves the entry for feed_monitors).
  const bool listed = std::any_of(monitors_.begin(), monitors_.end(),
                                  [&](const std::weak_ptr<Session>& m) { return m.lock() == c.s; });
  c.s->monitor = true;
  if (!listed) monitors_.push_back(c.s);
  c.w.simple("OK");
}

void Node::feed_monitors(const Session& s, std::span<const std::string_view> argv) {
  std::erase_if(monitors_, [](const std::weak_ptr<Session>& m) {
    auto p = m.lock();
    return p == nullptr || p->closed() || !p->monitor;
  });
  if (monitors_.empty()) return;
  // Passwords never reach a monitor (Redis shows them as "(redacted)").
  std::vector<std::string_view> shown(argv.begin(), argv.end());
  const std::string_view name = argv[0];
  if (iequals(name, "auth")) {
    for (size_t i = 1; i < shown.size(); ++i) shown[i] = "(redacted)";
  } else if (iequals(name, "hello")) {
    for (size_t i = 1; i + 2 < shown.size(); ++i) {
      if (iequals(shown[i], "auth")) shown[i + 2] = "(redacted)";
    }
  }
  const std::string line = monitor_line(unix_us(), s.peer_address, shown);
  for (const auto& m : monitors_) {
    if (auto p = m.lock()) p->push(line);
  }
}

// ---- CLIENT PAUSE ----------------------------------------------------------------------------

bool Node::pause_holds_command(const Session& s, std::span<const std::string_view> argv) const {
  if (s.sentinel_port) return false;
  if (pause_.all) return true;
  // WRITE: what would change the data or be replicated waits; reads go on.
  const kv::CommandKind kind = kv::command_kind(argv);
  if (kind.write_name && !kind.read) return true;
  const resp::CommandSpec* spec = resp::find_command(argv[0]);
  if (spec == nullptr) return false;
  if (spec->has(resp::kWrite) || spec->has(resp::kMayReplicate)) return true;
  if (spec->name == "exec") {
    return std::any_of(s.queued.begin(), s.queued.end(), [](const std::vector<std::string>& q) {
      return !q.empty() && kv::is_write_command(q[0]);
    });
  }
  return false;
}

void Node::hold_paused(std::shared_ptr<Session> s) {
  paused_sessions_.push_back(std::move(s));
}

void Node::pause_clients(int64_t timeout_ms, bool all) {
  // As Redis: the later end of the two pauses wins, the mode is the new one.
  const int64_t end_ms = monotonic_ms() + timeout_ms;
  pause_.end_ms = std::max(pause_.end_ms, end_ms);
  pause_.all = all;
  replica_->set_expirations_paused(true);  // both modes: keys expire by writes, held too
  if (!pause_timer_) pause_timer_ = std::make_unique<asio::steady_timer>(io_);
  pause_timer_->expires_after(std::chrono::milliseconds(pause_.end_ms - monotonic_ms()));
  pause_timer_->async_wait([this](const asio::error_code& ec) {
    if (ec) return;  // cancelled: re-armed or ended by UNPAUSE
    end_pause();
  });
}

void Node::end_pause() {
  pause_.end_ms = 0;
  replica_->set_expirations_paused(false);
  if (pause_timer_) pause_timer_->cancel();
  // Held commands run in the order they arrived; one of them may pause the clients again, which
  // holds the rest back once more.
  std::deque<std::weak_ptr<Session>> held;
  held.swap(paused_sessions_);
  while (!held.empty()) {
    if (pause_.end_ms != 0) {
      for (auto& h : held) paused_sessions_.push_back(std::move(h));
      return;
    }
    std::shared_ptr<Session> s = held.front().lock();
    held.pop_front();
    if (s) s->resume_paused();
  }
}

}  // namespace bw::server
