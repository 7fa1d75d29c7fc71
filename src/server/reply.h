// Encoding of kv replies and the error texts the node writes itself.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "kv/reply.h"
#include "resp/writer.h"

namespace bw::server {

// Writes a kv::Reply as RESP2 or RESP3 (per the writer's protocol).
void write_reply(resp::Writer& w, const kv::Reply& r);

// Redis's text for an unknown command:
// "ERR unknown command 'foo', with args beginning with: 'a' 'b' ".
std::string unknown_command_message(std::span<const std::string_view> argv);
// "ERR unknown subcommand 'foo'. Try CLIENT HELP."
std::string unknown_subcommand_message(std::string_view container, std::string_view sub);
// A container's HELP reply as Redis writes it: the header naming `container`, `lines`, then
// "HELP" and "    Prints this help.".
void write_help(resp::Writer& w, std::string_view container,
                std::initializer_list<std::string_view> lines);

}  // namespace bw::server
