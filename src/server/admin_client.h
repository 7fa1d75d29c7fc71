// A small blocking RESP client for the operator subcommands (status, cluster up) and a node's own
// requests to other members (join, dashboard probes): sends one command (after AUTH when a
// password is given) and reads one reply, with a deadline, over plain TCP or TLS.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "net/tls.h"

namespace bw::server {

// How a tool (or a node, to another member) reaches a client port: plain or TLS, and the
// credentials it authenticates with. The tools' --tls --cacert --cert --key --user --pass flags
// and REDISCLI_AUTH fill it; a node fills it from its tls-* settings and masteruser/masterauth.
struct ClientConnectOptions {
  bool tls = false;
  // Client side: ca_cert_file verifies the server (empty: the system's trust store),
  // cert_file/key_file are presented if the server asks. The server's certificate must also
  // name the address connected to (SAN IP or DNS), unless tls_options.verify_host is set
  // explicitly: it is filled with the endpoint's host when empty.
  net::TlsOptions tls_options;
  std::string user;  // AUTH user; empty: AUTH with the password alone (the default user)
  std::string pass;  // empty: no AUTH
};

// The reply as text: a simple/bulk/verbatim string's content, an integer's digits. A RESP error
// reply becomes an error Status carrying its text.
Result<std::string> admin_command(std::string_view endpoint, const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout,
                                  const ClientConnectOptions& connect = {});

// The same for a command answering an array of scalars (each element as text); a scalar reply
// is a one-element array.
Result<std::vector<std::string>> admin_command_array(std::string_view endpoint,
                                                     const std::vector<std::string>& argv,
                                                     std::chrono::milliseconds timeout,
                                                     const ClientConnectOptions& connect = {});

// Parses "key:value" lines of an INFO reply.
std::vector<std::pair<std::string, std::string>> parse_info(std::string_view text);

// `INFO raft` of `endpoint` as key -> value; empty when it gave no reply within `timeout`.
std::map<std::string, std::string> info_raft(std::string_view endpoint,
                                             std::chrono::milliseconds timeout,
                                             const ClientConnectOptions& connect = {});

}  // namespace bw::server
