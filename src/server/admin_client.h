// A small blocking RESP client for the operator subcommands (status, cluster up): sends one
// command and reads one reply, with a deadline.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bw::server {

// Credentials sent as AUTH before the command when `password` is not empty (a node with
// requirepass or ACL users).
struct AdminAuth {
  std::string user = "default";
  std::string password;
};

// The reply as text: a simple/bulk/verbatim string's content, an integer's digits. A RESP error
// reply becomes an error Status carrying its text.
Result<std::string> admin_command(std::string_view endpoint, const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout, const AdminAuth& auth = {});

// The same for a command answering an array of scalars (each element as text); a scalar reply
// is a one-element array.
Result<std::vector<std::string>> admin_command_array(std::string_view endpoint,
                                                     const std::vector<std::string>& argv,
                                                     std::chrono::milliseconds timeout,
                                                     const AdminAuth& auth = {});

// Parses "key:value" lines of an INFO reply.
std::vector<std::pair<std::string, std::string>> parse_info(std::string_view text);

// `INFO raft` of `endpoint` as key -> value; empty when it gave no reply within `timeout`.
std::map<std::string, std::string> info_raft(std::string_view endpoint,
                                             std::chrono::milliseconds timeout,
                                             const AdminAuth& auth = {});

}  // namespace bw::server
