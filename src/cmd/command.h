// Subcommand registry for the `wva` binary. Each subcommand lives in its own <name>_cmd.cc and
// registers itself with a static WVA_REGISTER_COMMAND, so components land independently without
// editing main.cc. Flag parsing and wiring only: no decision logic here.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace wva::cmd {

struct Command {
  std::string name;
  std::string help;
  int order = 100;  // position in --help
  // Adds flags to `sub` and returns the action run when the subcommand is chosen. The action
  // returns the process exit code (0 ok, 1 runtime failure, 2 bad input/flags).
  std::function<std::function<int()>(CLI::App& sub)> setup;
};

std::vector<Command>& Registry();

struct Registrar {
  explicit Registrar(Command c) { Registry().push_back(std::move(c)); }
};

#define WVA_REGISTER_COMMAND(var, ...) static ::wva::cmd::Registrar var{::wva::cmd::Command{__VA_ARGS__}}

// Reads an env var into `out` when set and non-empty; used so every flag also has an env form.
bool EnvString(const char* name, std::string* out);

}  // namespace wva::cmd
