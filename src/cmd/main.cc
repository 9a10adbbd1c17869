// `wva`: one binary, several modes — run (controller), simulate, analyze, emulate, version.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "cmd/command.h"
#include "cmd/version.h"

namespace wva::cmd {

std::vector<Command>& Registry() {
  static std::vector<Command>* r = new std::vector<Command>;
  return *r;
}

bool EnvString(const char* name, std::string* out) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return false;
  *out = v;
  return true;
}

}  // namespace wva::cmd

int main(int argc, char** argv) {
  using namespace wva::cmd;
  CLI::App app{
      "wva — Workload Variant Autoscaler: scales LLM inference servers (vLLM) by saturation and "
      "picks the variant to grow or shrink by cost.\n\nWith no subcommand, prints this help."};
  app.set_version_flag("--version", std::string("wva ") + kVersion);
  app.require_subcommand(0, 1);
  app.fallthrough(false);

  auto& registry = Registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const Command& a, const Command& b) { return a.order < b.order; });
  std::function<int()> action;
  for (auto& c : registry) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    auto act = std::make_shared<std::function<int()>>(c.setup(*sub));
    sub->callback([act, &action] { action = *act; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "wva: " << e.what() << "\n";
    std::cerr << "Run 'wva --help' for usage.\n";
    return 2;
  }
  if (!action) {
    std::cout << app.help();
    return 0;
  }
  return action();
}
