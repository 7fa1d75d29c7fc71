// Commands the node answers itself (connection, server and introspection commands), looked up by
// name in a table of handlers, and WAIT. Keyspace commands go through kv
// (node.cc).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "resp/command_table.h"
#include "resp/writer.h"
#include "server/args.h"
#include "server/info.h"
#include "server/node.h"
#include "server/node_call.h"
#include "server/object.h"
#include "server/reply.h"

namespace bw::server {

namespace {

// COMMAND GETKEYS command arg...: the keys THE command table locates in that command line.
void write_command_getkeys(resp::Writer& w, std::span<const std::string_view> command) {
  const resp::CommandSpec* spec = command.empty() ? nullptr : resp::find_command(command[0]);
  if (spec == nullptr) {
    w.error("ERR Invalid command specified");
  } else if (!resp::arity_ok(*spec, command.size())) {
    w.error("ERR Invalid number of arguments specified for command");
  } else {
    auto keys = resp::command_key_positions(*spec, command);
    if (keys.empty()) {
      w.error("ERR The command has no key arguments");
    } else {
      w.array(keys.size());
      for (auto k : keys) w.bulk(k);
    }
  }
}

}  // namespace

void Node::execute_node_command(const std::shared_ptr<Session>& s, uint64_t seq,
                                std::span<const std::string_view> argv) {
  // The commands the node answers itself, by name; execute() sends the others to kv, the
  // transaction code or WAIT before they get here.
  struct Handler {
    std::string_view name;
    void (Node::*answer)(NodeCall&);
  };
  static constexpr Handler kHandlers[] = {
      {"acl", &Node::acl_command},
      {"auth", &Node::auth_command},
      {"backup", &Node::backup_command},
      {"bgsave", &Node::save_command},
      {"client", &Node::client_command},
      {"command", &Node::command_command},
      {"config", &Node::config_command},
      {"debug", &Node::debug_command},
      {"echo", &Node::echo_command},
      {"failover", &Node::failover_command},
      {"hello", &Node::hello_command},
      {"info", &Node::info_command},
      {"lastsave", &Node::lastsave_command},
      {"latency", &Node::latency_command},
      {"member", &Node::member_command},
      {"monitor", &Node::monitor_command},
      {"object", &Node::debug_command},
      {"ping", &Node::ping_command},
      {"psubscribe", &Node::subscribe_command},
      {"pubsub", &Node::pubsub_command},
      {"punsubscribe", &Node::subscribe_command},
      {"quit", &Node::quit_command},
      {"readonly", &Node::readonly_command},
      {"readwrite", &Node::readonly_command},
      {"reset", &Node::reset_command},
      {"role", &Node::role_command},
      {"save", &Node::save_command},
      {"select", &Node::select_command},
      {"sentinel", &Node::sentinel_command},
      {"shutdown", &Node::shutdown_command},
      {"slowlog", &Node::slowlog_command},
      {"ssubscribe", &Node::subscribe_command},
      {"subscribe", &Node::subscribe_command},
      {"sunsubscribe", &Node::subscribe_command},
      {"time", &Node::time_command},
      {"unsubscribe", &Node::subscribe_command},
  };
  static_assert(std::ranges::is_sorted(kHandlers, {}, &Handler::name));

  std::string name = absl::AsciiStrToLower(absl::string_view(argv[0].data(), argv[0].size()));
  NodeCall c{.s = s, .seq = seq, .argv = argv, .name = name};
  const Handler* h = std::ranges::lower_bound(kHandlers, c.name, {}, &Handler::name);
  if (h != std::end(kHandlers) && h->name == c.name) {
    (this->*h->answer)(c);
  } else {
    c.w.error(fmt::format("ERR command '{}' is not supported by this node", name));
  }
  if (!c.answered) c.send();
}

// ---- connection ------------------------------------------------------------------------------

// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs.
void Node::subscribe_command(NodeCall& c) {
  const bool shard = c.name == "ssubscribe" || c.name == "sunsubscribe";
  const PubSub::Kind kind = c.name[0] == 'p' ? PubSub::Kind::kPattern
                            : shard          ? PubSub::Kind::kShard
                                             : PubSub::Kind::kChannel;
  if (c.name.find("unsubscribe") != std::string::npos) {
    pubsub_.unsubscribe(c.s, c.argv.subspan(1), kind, &c.out);
  } else {
    pubsub_.subscribe(c.s, c.argv.subspan(1), kind, &c.out);
  }
}

// PUBSUB CHANNELS [pattern] | NUMSUB [channel...] | NUMPAT | SHARDCHANNELS [pattern] |
// SHARDNUMSUB [channel...] | HELP: this node's subscriptions, as Redis answers them.
void Node::pubsub_command(NodeCall& c) {
  const std::string_view sub = c.argv[1];
  const size_t argc = c.argv.size();
  const bool shard = iequals(sub, "shardchannels") || iequals(sub, "shardnumsub");
  const PubSub::Kind kind = shard ? PubSub::Kind::kShard : PubSub::Kind::kChannel;
  if ((iequals(sub, "channels") || iequals(sub, "shardchannels")) && argc <= 3) {
    const std::string pattern = argc == 3 ? std::string(c.argv[2]) : std::string();
    const std::vector<std::string> names = pubsub_.channels(kind, argc == 3 ? &pattern : nullptr);
    c.w.array(names.size());
    for (const std::string& n : names) c.w.bulk(n);
  } else if (iequals(sub, "numsub") || iequals(sub, "shardnumsub")) {
    c.w.array(2 * (argc - 2));  // a flat array in RESP3 too, as Redis answers
    for (size_t i = 2; i < argc; ++i) {
      c.w.bulk(c.argv[i]);
      c.w.integer(static_cast<int64_t>(pubsub_.subscribers(kind, std::string(c.argv[i]))));
    }
  } else if (iequals(sub, "numpat") && argc == 2) {
    c.w.integer(static_cast<int64_t>(pubsub_.pattern_count()));
  } else if (iequals(sub, "help") && argc == 2) {
    write_help(
        c.w, "PUBSUB",
        {"CHANNELS [<pattern>]",
         "    Return the currently active channels matching a <pattern> (default: '*').", "NUMPAT",
         "    Return number of subscriptions to patterns.", "NUMSUB [<channel> ...]",
         "    Return the number of subscribers for the specified channels, excluding",
         "    pattern subscriptions(default: no channels).", "SHARDCHANNELS [<pattern>]",
         "    Return the currently active shard level channels matching a <pattern> "
         "(default: '*').",
         "SHARDNUMSUB [<shardchannel> ...]",
         "    Return the number of subscribers for the specified shard level channel(s)"});
  } else if ((iequals(sub, "numpat") || iequals(sub, "help")) && argc != 2) {
    c.w.error(fmt::format("ERR wrong number of arguments for 'pubsub|{}' command",
                          absl::AsciiStrToLower(absl::string_view(sub.data(), sub.size()))));
  } else if (iequals(sub, "channels") || iequals(sub, "shardchannels")) {
    c.w.error(fmt::format(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.", sub));
  } else {
    c.w.error(unknown_subcommand_message("pubsub", sub));
  }
}

void Node::ping_command(NodeCall& c) {
  if (c.s->protocol == 2 && pubsub_.subscriptions(c.s.get()) > 0) {
    // A RESP2 subscriber can only receive pushes: PING answers as one.
    c.w.array(2);
    c.w.bulk("pong");
    c.w.bulk(c.argv.size() > 1 ? c.argv[1] : "");
  } else if (c.argv.size() == 1) {
    c.w.simple("PONG");
  } else {
    c.w.bulk(c.argv[1]);
  }
}

void Node::echo_command(NodeCall& c) {
  c.w.bulk(c.argv[1]);
}

void Node::quit_command(NodeCall& c) {
  c.w.simple("OK");
  c.send();
  c.s->close_after_flush();
}

void Node::reset_command(NodeCall& c) {
  pubsub_.drop(c.s.get());
  c.s->monitor = false;  // feed_monitors drops it
  c.s->no_evict = c.s->no_touch = false;
  c.s->set_reply_mode(ReplyMode::kOn, c.seq);
  c.s->protocol = 2;
  c.s->readonly = config_.readonly_default;
  c.s->name.clear();
  c.s->user = "default";  // Redis: RESET authenticates as the default user again, if it can
  c.s->authenticated = acl_.default_open();
  c.w.set_protocol(2);
  c.w.simple("RESET");
}

void Node::select_command(NodeCall& c) {
  int64_t db = 0;
  if (!parse_int64(c.argv[1], &db)) {
    c.w.error("ERR value is not an integer or out of range");
  } else if (db != 0) {
    c.w.error("ERR DB index is out of range");
  } else {
    c.w.simple("OK");
  }
}

// READONLY, READWRITE.
void Node::readonly_command(NodeCall& c) {
  c.s->readonly = c.name == "readonly";
  c.w.simple("OK");
}

// ---- server ----------------------------------------------------------------------------------

void Node::time_command(NodeCall& c) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  c.w.array(2);
  c.w.bulk(std::to_string(us / 1000000));
  c.w.bulk(std::to_string(us % 1000000));
}

void Node::info_command(NodeCall& c) {
  if (c.s->sentinel_port) {
    c.w.verbatim("txt",
                 render_sentinel_info(*this, sentinel_.view(*this, now_ms()), c.argv.subspan(1)));
  } else {
    c.w.verbatim("txt", render_info(*this, c.argv.subspan(1)));
  }
}

void Node::role_command(NodeCall& c) {
  if (c.s->sentinel_port) {
    write_sentinel_role(sentinel_.view(*this, now_ms()), c.w);
  } else {
    write_role(*this, c.w);
  }
}

// SENTINEL <subcommand> ...: discovery as Redis Sentinel answers it (sentinel.h).
void Node::sentinel_command(NodeCall& c) {
  write_sentinel_reply(sentinel_.view(*this, now_ms()), c.argv, c.w);
}

void Node::debug_command(NodeCall& c) {
  if (c.name == "object") {  // OBJECT shares DEBUG OBJECT's local view of the value
    write_object_reply(store(), c.argv, c.w);
    return;
  }
  c.answered = true;  // execute_debug answers, maybe later (FSYNC-DELAY, SLEEP)
  execute_debug(c.s, c.seq, c.argv);
}

// MEMBER LIST answers here; the changes answer once applied (membership.cc).
void Node::member_command(NodeCall& c) {
  if (c.argv.size() == 2 &&
      absl::EqualsIgnoreCase(absl::string_view(c.argv[1].data(), c.argv[1].size()), "list")) {
    write_members(c.w);
    return;
  }
  if (c.argv.size() < 2) {
    c.w.error("ERR wrong number of arguments for 'member' command");
    return;
  }
  c.answered = true;
  execute_member(ReplyTo{.session = c.s, .seq = c.seq, .protocol = c.s->protocol}, c.argv);
}

void Node::failover_command(NodeCall& c) {
  c.answered = true;  // execute_failover answers once the transfer succeeds or fails
  execute_failover(c.s, c.seq, c.argv);
}

// COMMAND [COUNT | LIST | INFO name... | DOCS [name...] | GETKEYS command arg...]: THE command
// table's own replies.
void Node::command_command(NodeCall& c) {
  std::span<const std::string_view> argv = c.argv;
  resp::Writer& w = c.w;
  if (argv.size() == 1) {
    resp::write_all_command_info(w);
  } else if (iequals(argv[1], "count")) {
    w.integer(static_cast<int64_t>(resp::all_commands().size()));
  } else if (iequals(argv[1], "list")) {
    resp::write_command_list(w);
  } else if (iequals(argv[1], "info")) {
    w.array(argv.size() - 2);
    for (size_t i = 2; i < argv.size(); ++i) {
      resp::write_command_info(w, resp::find_command(argv[i]));
    }
  } else if (iequals(argv[1], "docs")) {
    std::vector<const resp::CommandSpec*> specs;
    if (argv.size() == 2) {
      for (const auto& spec : resp::all_commands()) specs.push_back(&spec);
    } else {
      for (size_t i = 2; i < argv.size(); ++i) {
        if (const auto* spec = resp::find_command(argv[i])) specs.push_back(spec);
      }
    }
    resp::write_command_docs(w, specs);
  } else if (iequals(argv[1], "getkeys")) {
    write_command_getkeys(w, argv.subspan(2));
  } else {
    w.error(unknown_subcommand_message("command", argv[1]));
  }
}

// WAIT numreplicas timeout: how many followers hold this client's last write. Every
// acknowledged write is already on a majority; WAIT reports followers beyond that.
void Node::execute_wait(const std::shared_ptr<Session>& s, uint64_t seq,
                        std::span<const std::string_view> argv) {
  int64_t replicas = 0;
  int64_t timeout_ms = 0;
  std::string out;
  resp::Writer w(&out, s->protocol);
  if (!parse_int64(argv[1], &replicas) || !parse_int64(argv[2], &timeout_ms)) {
    w.error("ERR value is not an integer or out of range");
    s->fulfil(seq, std::move(out));
    return;
  }
  if (timeout_ms < 0) {
    w.error("ERR timeout is negative");
    s->fulfil(seq, std::move(out));
    return;
  }
  waits_.push_back(WaitCall{.session = s,
                            .seq = seq,
                            .index = s->last_write_index,
                            .replicas = replicas,
                            .deadline_ms = timeout_ms == 0 ? 0 : now_ms() + timeout_ms});
  poll_waits();
}

int64_t Node::replicas_holding(uint64_t index) const {
  raft::NodeStatus st = raft().status();
  if (st.role != raft::Role::kLeader) {
    // A follower knows only itself: it holds the write once it applied it.
    return 0;
  }
  int64_t n = 0;
  for (const auto& p : st.progress) {
    if (p.id != config_.id && p.match.value() >= index) ++n;
  }
  return n;
}

void Node::poll_waits() {
  int64_t now = now_ms();
  for (auto it = waits_.begin(); it != waits_.end();) {
    int64_t have = replicas_holding(it->index);
    bool timed_out = it->deadline_ms != 0 && it->deadline_ms <= now;
    if (it->session->closed()) {
      it = waits_.erase(it);
    } else if (have >= it->replicas || timed_out) {
      std::string out;
      resp::Writer(&out, it->session->protocol).integer(have);
      it->session->fulfil(it->seq, std::move(out));
      it = waits_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace bw::server
