// Subcommand registry for the `wva` binary. Each subcommand lives in its own <name>_cmd.cc and
// registers itself with a static WVA_REGISTER_COMMAND, so components land independently without
// editing main.cc. Flag parsing and wiring only: no decision logic here.
#pragma once

#include <cmath>
#include <cstdlib>
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

#define WVA_REGISTER_COMMAND(var, ...)  \
  static ::wva::cmd::Registrar var {    \
    ::wva::cmd::Command { __VA_ARGS__ } \
  }

// Reads an env var into `out` when set and non-empty; used so every flag also has an env form.
bool EnvString(const char* name, std::string* out);

// Accepts only a non-negative integer (e.g. --seed): "-3" or "1.5" is refused, not wrapped.
inline CLI::Validator NonNegativeInteger() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) {
          return "";
        }
        return "must be an integer >= 0, got \"" + v + "\"";
      },
      "");
}

// Accepts only a finite number > 0.
inline CLI::Validator PositiveFinite() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        if (!v.empty() && end == v.c_str() + v.size() && std::isfinite(d) && d > 0) {
          return "";
        }
        return "must be a number > 0, got \"" + v + "\"";
      },
      "");
}

// "unknown flag --sed (did you mean --seed?)" for the first flag on the command line that
// neither the chosen subcommand nor the top level knows; "" when every flag is known.
std::string UnknownFlagMessage(CLI::App& app, int argc, char** argv);
// "Run 'wva <subcommand> --help' for usage." (or the top-level help without a subcommand).
std::string HelpHint(CLI::App& app, int argc, char** argv);

}  // namespace wva::cmd
