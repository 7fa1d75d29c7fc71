// The RESP protocol layer in one include: parser, reply writer, command table.
#pragma once

#include "resp/command_table.h"
#include "resp/parser.h"
#include "resp/writer.h"
