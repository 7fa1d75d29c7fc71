// Internal to bw_resp: the raw command table (command_data.cc), sorted by name.
#pragma once

#include <span>

#include "resp/command_table.h"

namespace bw::resp {

std::span<const CommandSpec> command_data();

}  // namespace bw::resp
