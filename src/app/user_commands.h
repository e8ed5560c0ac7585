// `vigil user add|list|passwd|remove`: accounts managed offline, on the data directory, whether or
// not `vigil serve` runs (SQLite serializes the writes). Every change is audited with address
// "cli". Passwords come from the terminal (twice, not echoed) or the first line of stdin.
// Exit codes as main.cpp: 0 ok, 1 nothing to do (name taken, no such user), 2 bad usage, 3 failure.
#pragma once

#include <string>

#include "core/config.h"

namespace vigil {

int run_user_add(const Config& config, const std::string& name, const std::string& role,
                 const std::string& cameras);
int run_user_list(const Config& config);
int run_user_passwd(const Config& config, const std::string& name);
int run_user_remove(const Config& config, const std::string& name);

}  // namespace vigil
