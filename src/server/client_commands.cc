// CLIENT and its subcommands, with Redis 7's replies: connection settings (SETNAME, SETINFO,
// REPLY, NO-EVICT, NO-TOUCH, TRACKING), introspection (ID, GETNAME, INFO, LIST) and control of
// other connections (KILL, PAUSE, UNPAUSE).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "resp/writer.h"
#include "server/args.h"
#include "server/node.h"
#include "server/node_call.h"
#include "server/reply.h"

namespace bw::server {

namespace {

// Redis's client types (CLIENT LIST TYPE, CLIENT KILL TYPE). No client here is a replica or a
// master of this node: replication runs over the peer port.
enum class ClientType : uint8_t { kNormal, kReplica, kPubSub, kMaster };

std::optional<ClientType> parse_client_type(std::string_view name) {
  if (iequals(name, "normal")) return ClientType::kNormal;
  if (iequals(name, "slave") || iequals(name, "replica")) return ClientType::kReplica;
  if (iequals(name, "pubsub")) return ClientType::kPubSub;
  if (iequals(name, "master")) return ClientType::kMaster;
  return std::nullopt;
}

void write_client_help(resp::Writer& w) {
  const char* lines[] = {"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "GETNAME",
                         "    Return the name of the current connection.",
                         "ID",
                         "    Return the ID of the current connection.",
                         "INFO",
                         "    Return information about the current client connection.",
                         "KILL <ip:port>",
                         "    Kill connection made from <ip:port>.",
                         "KILL <option> <value> [<option> <value> [...]]",
                         "    Kill connections. Options are:",
                         "    * ADDR (<ip:port>|<unixsocket>:0)",
                         "      Kill connections made from the specified address",
                         "    * LADDR (<ip:port>|<unixsocket>:0)",
                         "      Kill connections made to specified local address",
                         "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                         "      Kill connections by type.",
                         "    * USER <username>",
                         "      Kill connections authenticated by <username>.",
                         "    * SKIPME (YES|NO)",
                         "      Skip killing current connection (default: yes).",
                         "    * ID <client-id>",
                         "      Kill connections by client id.",
                         "    * MAXAGE <maxage>",
                         "      Kill connections older than the specified age.",
                         "LIST [options ...]",
                         "    Return information about client connections. Options:",
                         "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                         "      Return clients of specified type.",
                         "    * ID <client-id> [<client-id> ...]",
                         "      Return clients of specified IDs only.",
                         "UNPAUSE",
                         "    Stop the current client pause, resuming traffic.",
                         "PAUSE <timeout> [WRITE|ALL]",
                         "    Suspend all, or just write, clients for <timeout> milliseconds.",
                         "REPLY (ON|OFF|SKIP)",
                         "    Control the replies sent to the current connection.",
                         "SETNAME <name>",
                         "    Assign the name <name> to the current connection.",
                         "SETINFO <option> <value>",
                         "    Set client meta attr. Options are:",
                         "    * LIB-NAME: the client lib name.",
                         "    * LIB-VER: the client lib version.",
                         "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
                         "         [OPTIN] [OPTOUT] [NOLOOP]",
                         "    Control server assisted client side caching.",
                         "NO-EVICT (ON|OFF)",
                         "    Protect current client connection from eviction.",
                         "NO-TOUCH (ON|OFF)",
                         "    Will not touch LRU/LFU stats when this mode is on.",
                         "HELP",
                         "    Prints this help."};
  w.array(std::size(lines));
  for (const char* l : lines) w.simple(l);
}

}  // namespace

// The fields of one CLIENT LIST / CLIENT INFO line, in Redis's order. What this server does not
// have (databases, argv memory, eviction) shows as Redis shows it when unused.
std::string Node::client_info_line(Session& s) const {
  const int64_t now = now_ms();
  const int64_t age = (now - static_cast<int64_t>(s.created_ms)) / 1000;
  const int64_t idle = (now - static_cast<int64_t>(s.last_command_ms)) / 1000;
  const size_t psub = pubsub_.pattern_subscriptions(&s);
  const size_t ssub = pubsub_.shard_subscriptions(&s);
  const size_t sub = pubsub_.subscriptions(&s) - psub - ssub;
  std::string flags;
  if (s.monitor) flags += 'O';
  if (sub + psub + ssub > 0) flags += 'P';
  if (s.in_multi) flags += 'x';
  if (s.paused()) flags += 'b';
  if (tracking_.enabled(&s)) flags += 't';
  if (s.multi_dirty) flags += 'd';
  if (s.readonly) flags += 'r';
  if (s.no_evict) flags += 'e';
  if (s.no_touch) flags += 'T';
  if (flags.empty()) flags.push_back('N');
  const size_t qbuf = s.query_buffer_bytes();
  const size_t qbuf_cap = s.query_buffer_capacity();
  const size_t omem = s.output_bytes();
  return fmt::format(
      "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db=0 sub={} psub={} ssub={} "
      "multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl={} oll={} omem={} "
      "tot-mem={} events={} cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
      s.id(), s.peer_address, s.local_address, s.fd(), s.name, age, std::max<int64_t>(idle, 0),
      flags, sub, psub, ssub, s.in_multi ? static_cast<int64_t>(s.queued.size()) : -1, qbuf,
      qbuf_cap - std::min(qbuf, qbuf_cap), qbuf_cap, qbuf_cap, s.unwritten_bytes(),
      s.pending_replies(), omem, qbuf_cap + omem, s.writing() ? "rw" : "r",
      s.last_command.empty() ? "NULL" : s.last_command, s.user, s.protocol, s.lib_name,
      s.lib_version);
}

void Node::client_command(NodeCall& c) {
  std::span<const std::string_view> argv = c.argv;
  resp::Writer& w = c.w;
  Session& s = *c.s;
  std::string_view sub = argv[1];
  const std::string sub_lower = absl::AsciiStrToLower(absl::string_view(sub.data(), sub.size()));
  if (resp::find_subcommand(*resp::find_command("client"), sub) != nullptr) {
    s.last_command = "client|" + sub_lower;  // Redis's cmd= field names the subcommand
  }
  if (sub_lower == "id" && argv.size() == 2) {
    w.integer(static_cast<int64_t>(s.id()));
  } else if (sub_lower == "setname" && argv.size() == 3) {
    if (!valid_client_name(argv[2])) {
      w.error("ERR Client names cannot contain spaces, newlines or special characters.");
    } else {
      s.name = std::string(argv[2]);
      w.simple("OK");
    }
  } else if (sub_lower == "getname" && argv.size() == 2) {
    if (s.name.empty()) {
      w.null();
    } else {
      w.bulk(s.name);
    }
  } else if (sub_lower == "info" && argv.size() == 2) {
    w.verbatim("txt", client_info_line(s) + "\n");
  } else if (sub_lower == "list") {
    client_list(c);
  } else if (sub_lower == "kill" && argv.size() >= 3) {
    client_kill(c);
  } else if (sub_lower == "pause" && (argv.size() == 3 || argv.size() == 4)) {
    client_pause(c);
  } else if (sub_lower == "unpause" && argv.size() == 2) {
    end_pause();
    w.simple("OK");
  } else if (sub_lower == "reply" && argv.size() == 3) {
    client_reply(c);
  } else if (sub_lower == "setinfo" && argv.size() == 4) {
    if (iequals(argv[2], "lib-name")) {
      s.lib_name = std::string(argv[3]);
      w.simple("OK");
    } else if (iequals(argv[2], "lib-ver")) {
      s.lib_version = std::string(argv[3]);
      w.simple("OK");
    } else {
      w.error(fmt::format("ERR Unrecognized option '{}'", argv[2]));
    }
  } else if ((sub_lower == "no-evict" || sub_lower == "no-touch") && argv.size() == 3) {
    bool on = iequals(argv[2], "on");
    if (!on && !iequals(argv[2], "off")) {
      w.error("ERR syntax error");
      return;
    }
    (sub_lower == "no-evict" ? s.no_evict : s.no_touch) = on;
    w.simple("OK");
  } else if (sub_lower == "tracking" && argv.size() >= 3) {
    client_tracking(c.s, argv.subspan(2), w);
  } else if (sub_lower == "help" && argv.size() == 2) {
    write_client_help(w);
  } else {
    w.error(unknown_subcommand_message("client", sub));
  }
}

// CLIENT LIST [TYPE type] | [ID id...]
void Node::client_list(NodeCall& c) {
  std::span<const std::string_view> argv = c.argv;
  std::string text;
  if (argv.size() == 4 && iequals(argv[2], "type")) {
    std::optional<ClientType> type = parse_client_type(argv[3]);
    if (!type) {
      c.w.error(fmt::format("ERR Unknown client type '{}'", argv[3]));
      return;
    }
    for (const auto& other : sessions()) {
      const bool pubsub = pubsub_.subscriptions(other.get()) > 0;
      if ((*type == ClientType::kPubSub && pubsub) || (*type == ClientType::kNormal && !pubsub)) {
        text += client_info_line(*other) + "\n";
      }
    }
  } else if (argv.size() > 3 && iequals(argv[2], "id")) {
    for (size_t i = 3; i < argv.size(); ++i) {
      int64_t id = 0;
      if (!parse_int64(argv[i], &id)) {
        c.w.error("ERR Invalid client ID");
        return;
      }
      for (const auto& other : sessions()) {
        if (other->id() == static_cast<uint64_t>(id)) text += client_info_line(*other) + "\n";
      }
    }
  } else if (argv.size() != 2) {
    c.w.error("ERR syntax error");
    return;
  } else {
    for (const auto& other : sessions()) text += client_info_line(*other) + "\n";
  }
  c.w.verbatim("txt", text);
}

// CLIENT KILL addr:port (old form: OK or an error) | CLIENT KILL <filter> <value> ... (the number
// of clients killed). A client killing itself gets the reply first.
void Node::client_kill(NodeCall& c) {
  std::span<const std::string_view> argv = c.argv;
  resp::Writer& w = c.w;
  struct Filter {
    std::optional<uint64_t> id;
    std::optional<ClientType> type;
    std::optional<std::string_view> addr, laddr, user;
    std::optional<int64_t> max_age_s;
    bool skip_me = true;
  } f;
  const bool old_form = argv.size() == 3;
  if (old_form) {
    f.addr = argv[2];
    f.skip_me = false;
  } else {
    for (size_t i = 2; i < argv.size(); i += 2) {
      if (i + 1 >= argv.size()) {
        w.error("ERR syntax error");
        return;
      }
      const std::string_view opt = argv[i];
      const std::string_view value = argv[i + 1];
      int64_t n = 0;
      if (iequals(opt, "id")) {
        if (!parse_int64(value, &n) || n < 1) {
          w.error("ERR client-id should be greater than 0");
          return;
        }
        f.id = static_cast<uint64_t>(n);
      } else if (iequals(opt, "type")) {
        f.type = parse_client_type(value);
        if (!f.type) {
          w.error(fmt::format("ERR Unknown client type '{}'", value));
          return;
        }
      } else if (iequals(opt, "addr")) {
        f.addr = value;
      } else if (iequals(opt, "laddr")) {
        f.laddr = value;
      } else if (iequals(opt, "user")) {
        if (acl_.find(value) == nullptr) {
          w.error(fmt::format("ERR No such user '{}'", value));
          return;
        }
        f.user = value;
      } else if (iequals(opt, "skipme")) {
        if (iequals(value, "yes")) {
          f.skip_me = true;
        } else if (iequals(value, "no")) {
          f.skip_me = false;
        } else {
          w.error("ERR syntax error");
          return;
        }
      } else if (iequals(opt, "maxage")) {
        if (!parse_int64(value, &n)) {
          w.error("ERR value is not an integer or out of range");
          return;
        }
        f.max_age_s = n;
      } else {
        w.error("ERR syntax error");
        return;
      }
    }
  }
  const int64_t now = now_ms();
  std::vector<std::shared_ptr<Session>> victims;
  for (const auto& other : sessions()) {
    if (f.id && other->id() != *f.id) continue;
    if (f.addr && other->peer_address != *f.addr) continue;
    if (f.laddr && other->local_address != *f.laddr) continue;
    if (f.user && other->user != *f.user) continue;
    if (f.type) {
      const bool pubsub = pubsub_.subscriptions(other.get()) > 0;
      if (!((*f.type == ClientType::kPubSub && pubsub) ||
            (*f.type == ClientType::kNormal && !pubsub))) {
        continue;
      }
    }
    if (f.max_age_s && (now - static_cast<int64_t>(other->created_ms)) / 1000 < *f.max_age_s) {
      continue;
    }
    if (f.skip_me && other == c.s) continue;
    victims.push_back(other);
  }
  if (old_form && victims.empty()) {
    w.error("ERR No such client");
    return;
  }
  if (old_form) {
    w.simple("OK");
  } else {
    w.integer(static_cast<int64_t>(victims.size()));
  }
  for (const auto& v : victims) {
    if (v == c.s) {
      c.send();
      v->close_after_flush();
    } else {
      v->close();
    }
  }
}

// CLIENT PAUSE timeout [WRITE|ALL]
void Node::client_pause(NodeCall& c) {
  std::span<const std::string_view> argv = c.argv;
  bool all = true;
  if (argv.size() == 4) {
    if (iequals(argv[3], "write")) {
      all = false;
    } else if (!iequals(argv[3], "all")) {
      c.w.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
      return;
    }
  }
  int64_t timeout_ms = 0;
  if (!parse_int64(argv[2], &timeout_ms)) {
    c.w.error("ERR timeout is not an integer or out of range");
    return;
  }
  if (timeout_ms < 0) {
    c.w.error("ERR timeout is negative");
    return;
  }
  pause_clients(timeout_ms, all);
  c.w.simple("OK");
}

// CLIENT REPLY ON|OFF|SKIP: OFF and SKIP answer nothing.
void Node::client_reply(NodeCall& c) {
  const std::string_view mode = c.argv[2];
  if (iequals(mode, "on")) {
    c.s->set_reply_mode(ReplyMode::kOn, c.seq);
    c.w.simple("OK");
  } else if (iequals(mode, "off")) {
    c.s->set_reply_mode(ReplyMode::kOff, c.seq);
  } else if (iequals(mode, "skip")) {
    c.s->set_reply_mode(ReplyMode::kSkip, c.seq);
  } else {
    c.w.error("ERR syntax error");
  }
}

// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX prefix ...] [BCAST] [NOLOOP]
void Node::client_tracking(const std::shared_ptr<Session>& s,
                           std::span<const std::string_view> args, resp::Writer& w) {
  bool on = iequals(args[0], "on");
  if (!on && !iequals(args[0], "off")) {
    w.error("ERR syntax error");
    return;
  }
  Tracking::Options o;
  for (size_t i = 1; i < args.size(); ++i) {
    if (iequals(args[i], "bcast")) {
      o.bcast = true;
    } else if (iequals(args[i], "noloop")) {
      o.noloop = true;
    } else if (iequals(args[i], "prefix") && i + 1 < args.size()) {
      o.prefixes.emplace_back(args[++i]);
    } else if (iequals(args[i], "redirect") && i + 1 < args.size()) {
      int64_t id = 0;
      if (!parse_int64(args[++i], &id) || id <= 0) {
        w.error("ERR Invalid client ID");
        return;
      }
      if (!tracking_.find_session(static_cast<uint64_t>(id))) {
        w.error("ERR The client ID you want redirect to does not exist");
        return;
      }
      o.redirect = static_cast<uint64_t>(id);
    } else if (iequals(args[i], "optin") || iequals(args[i], "optout")) {
      w.error("ERR OPTIN and OPTOUT are not supported by this node; use the default mode or BCAST");
      return;
    } else {
      w.error("ERR syntax error");
      return;
    }
  }
  if (!o.prefixes.empty() && !o.bcast) {
    w.error("ERR PREFIX option requires BCAST mode to be enabled");
    return;
  }
  if (on) {
    tracking_.enable(s, std::move(o));
  } else {
    tracking_.disable(s.get());
  }
  w.simple("OK");
}

}  // namespace bw::server
