// CONFIG GET | SET | RESETSTAT | REWRITE | HELP: the node's side of the parameter table
// (config_params.h). CONFIG SET changes config_ and then whatever holds a copy of a value.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "absl/strings/match.h"
#include "server/args.h"
#include "server/config_params.h"
#include "server/node.h"
#include "server/node_call.h"
#include "server/overload.h"
#include "server/reply.h"
#include "storage/file_system.h"

namespace bw::server {

namespace {

// A config file is a few kilobytes; this bounds what CONFIG REWRITE reads back.
constexpr uint64_t kConfigFileBytesMax = 1 << 20;

void write_config_help(resp::Writer& w) {
  const char* lines[] = {"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "GET <pattern>",
                         "    Return parameters matching the glob-like <pattern> and their values.",
                         "SET <directive> <value>",
                         "    Set the configuration <directive> to <value>.",
                         "RESETSTAT",
                         "    Reset statistics reported by the INFO command.",
                         "REWRITE",
                         "    Rewrite the configuration file.",
                         "HELP",
                         "    Print this help."};
  w.array(std::size(lines));
  for (const char* l : lines) w.simple(l);
}

}  // namespace

void Node::config_command(NodeCall& c) {
  std::span<const std::string_view> argv = c.argv;
  resp::Writer& w = c.w;
  std::string_view sub = argv[1];
  if (iequals(sub, "get") && argv.size() >= 3) {
    auto hits = config_get(config_, argv.subspan(2));
    w.map(hits.size());
    for (const auto& [name, value] : hits) {
      w.bulk(name);
      w.bulk(value);
    }
  } else if (iequals(sub, "set") && argv.size() >= 4) {
    // Alone, requirepass is replicated as ACL SETUSER default (Node::execute); with other
    // parameters it would only change this node's copy.
    for (size_t i = 2; i < argv.size(); i += 2) {
      if (iequals(argv[i], "requirepass")) {
        w.error(
            "ERR CONFIG SET requirepass must be set alone: it changes the replicated default "
            "user");
        return;
      }
    }
    const NodeConfig before = config_;
    std::string tls_arg;  // the first tls-* parameter set: the TLS context is rebuilt
    for (size_t i = 2; i < argv.size() && tls_arg.empty(); i += 2) {
      if (argv[i].size() > 4 && iequals(argv[i].substr(0, 4), "tls-")) tls_arg = argv[i];
    }
    Status tls_status = OkStatus();
    if (auto error = config_set(&config_, argv.subspan(2))) {
      w.error(*error);
    } else if (!tls_arg.empty() && !(tls_status = reload_tls()).ok()) {
      config_ = before;  // all or nothing, as for any other bad value
      w.error(fmt::format(
          "ERR CONFIG SET failed (possibly related to argument '{}') - Unable to update TLS "
          "configuration: {}",
          tls_arg, tls_status.message()));
    } else {
      apply_config();
      std::string changes;
      for (size_t i = 2; i + 1 < argv.size(); i += 2) {
        // A password stays out of the log.
        const bool secret = iequals(argv[i], "masterauth");
        changes += fmt::format(" {} '{}'", argv[i], secret ? "(redacted)" : argv[i + 1]);
        if (iequals(argv[i], "cluster-secret-file")) reload_cluster_secrets();
      }
      spdlog::info("node {}: CONFIG SET{} (client {})", config_.id, changes, c.s->peer_address);
      w.simple("OK");
    }
  } else if (iequals(sub, "resetstat") && argv.size() == 2) {
    reset_command_stats();
    w.simple("OK");
  } else if (iequals(sub, "rewrite") && argv.size() == 2) {
    if (config_.config_file.empty()) {
      w.error("ERR The server is running without a config file");
    } else if (Status st = rewrite_config_file(); !st.ok()) {
      spdlog::warn("node {}: CONFIG REWRITE of {} failed: {}", config_.id, config_.config_file,
                   st.message());
      w.error(fmt::format("ERR Rewriting config file: {}", st.message()));
    } else {
      spdlog::info("node {}: CONFIG REWRITE wrote {}", config_.id, config_.config_file);
      w.simple("OK");
    }
  } else if (iequals(sub, "help") && argv.size() == 2) {
    write_config_help(w);
  } else {
    w.error(unknown_subcommand_message("config", sub));
  }
}

// After CONFIG SET: the holders of copies of values get the new ones. Everything else reads
// config_ when it needs a value.
void Node::apply_config() {
  if (Status st = pubsub_.set_notify_flags(config_.notify_keyspace_events); !st.ok()) {
    spdlog::error("node {}: notify-keyspace-events '{}': {}", config_.id,
                  config_.notify_keyspace_events, st.message());
  }
  if (auto level = parse_log_level(config_.log_level)) {
    spdlog::set_level(static_cast<spdlog::level::level_enum>(*level));
  }
  // Limits apply to every connection: the output limit at its next reply, proto-max-bulk-len to
  // the commands it reads from now on (as Redis's). readonly-default applies to new connections.
  if (config_.maxclients != maxclients_requested_) {
    maxclients_requested_ = config_.maxclients;
    effective_maxclients_ = adjust_open_files_limit(config_.maxclients);
  }
  for (const auto& s : sessions()) {
    s->set_output_bytes_max(config_.session.output_bytes_max);
    s->set_bulk_bytes_max(config_.protocol.bulk_bytes_max);
  }
}

// CONFIG SET cluster-secret-file (checked by the parameter's parser, read again here): the
// secrets apply to peer links opened from now on; links already up stay.
void Node::reload_cluster_secrets() {
  net::ClusterSecrets secrets;
  if (!config_.cluster_secret_file.empty()) {
    auto loaded = net::load_cluster_secrets(config_.cluster_secret_file);
    if (!loaded.ok()) {
      spdlog::error("node {}: {}; peer links keep the previous secrets", config_.id,
                    loaded.status().message());
      return;
    }
    secrets = std::move(*loaded);
  }
  spdlog::info("node {}: cluster secrets reloaded ({} secret(s))", config_.id,
               secrets.secrets.size());
  transport_->set_secrets(std::move(secrets));
}

Status Node::rewrite_config_file() {
  std::string old_text;
  auto read = storage::read_file(fs_, config_.config_file, kConfigFileBytesMax);
  if (read.ok()) {
    old_text = std::move(*read);
  } else if (!absl::IsNotFound(read.status())) {
    return read.status();
  }
  return storage::write_file_atomic(fs_, config_.config_file,
                                    rewrite_config_text(old_text, config_));
}

}  // namespace bw::server
