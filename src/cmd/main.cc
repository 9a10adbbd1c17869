// `wva`: one binary, several modes — run (controller), simulate, analyze, emulate, version.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string_view>
#include <vector>

#include "cmd/command.h"
#include "cmd/version.h"

namespace wva::cmd {

std::vector<Command>& Registry() {
  static std::vector<Command>* r = new std::vector<Command>;
  return *r;
}

bool EnvString(const char* name, std::string* out) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    return false;
  }
  *out = v;
  return true;
}

namespace {

// Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

CLI::App* FindSubcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->check_name(name)) {
      return sub;
    }
  }
  return nullptr;
}

bool LooksLikeNumber(const std::string& s) {
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}

// The subcommand named on the command line: the first token that is not a flag and names one.
CLI::App* ChosenSubcommand(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      break;
    }
    if (!a.empty() && a[0] == '-') {
      continue;
    }
    CLI::App* sub = FindSubcommand(app, a);
    if (sub != nullptr) {
      return sub;
    }
  }
  return nullptr;
}

}  // namespace

std::string UnknownFlagMessage(CLI::App& app, int argc, char** argv) {
  CLI::App* scope = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      break;
    }
    if (a.size() < 2 || a[0] != '-' || LooksLikeNumber(a)) {
      if (scope == &app) {
        if (CLI::App* sub = FindSubcommand(app, a)) {
          scope = sub;
        }
      }
      continue;
    }
    const std::string name = a.substr(0, a.find('='));
    if (scope->get_option_no_throw(name) != nullptr ||
        (scope != &app && app.get_option_no_throw(name) != nullptr)) {
      continue;
    }
    std::string best;
    size_t best_d = std::string::npos;
    for (const CLI::Option* o : scope->get_options()) {
      for (const std::string& l : o->get_lnames()) {
        const size_t d = EditDistance(name, "--" + l);
        if (d < best_d) {
          best_d = d;
          best = "--" + l;
        }
      }
    }
    std::string msg = "unknown flag " + name;
    if (!best.empty() && best_d <= std::max<size_t>(2, name.size() / 3)) {
      msg += " (did you mean " + best + "?)";
    }
    return msg;
  }
  return "";
}

std::string HelpHint(CLI::App& app, int argc, char** argv) {
  CLI::App* sub = ChosenSubcommand(app, argc, argv);
  return sub == nullptr ? "Run 'wva --help' for usage."
                        : "Run 'wva " + sub->get_name() + " --help' for usage.";
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
    // Every subcommand's --help shows the defaults of its options.
    sub->option_defaults()->always_capture_default();
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
    // CLI11 reports a missing required flag before an unexpected one, so `--inptu x` would read
    // "--input is required"; name the typo first.
    CLI::App* sub = ChosenSubcommand(app, argc, argv);
    const std::string unknown = UnknownFlagMessage(app, argc, argv);
    std::cerr << "wva" << (sub ? " " + sub->get_name() : "") << ": "
              << (unknown.empty() ? std::string(e.what()) : unknown) << "\n";
    std::cerr << HelpHint(app, argc, argv) << "\n";
    return 2;
  }
  if (!action) {
    std::cout << app.help();
    return 0;
  }
  return action();
}
