// `wva version`: prints the version and build facts.
#include <iostream>

#include "cmd/command.h"
#include "cmd/version.h"

namespace wva::cmd {
namespace {

WVA_REGISTER_COMMAND(kVersionCmd, "version", "Print the version and exit", 900,
                     [](CLI::App& sub) -> std::function<int()> {
                       return [] {
                         std::cout << "wva " << kVersion << " (C++" << __cplusplus / 100 % 100
                                   << ", " << __VERSION__ << ")\n";
                         return 0;
                       };
                     });

}  // namespace
}  // namespace wva::cmd
