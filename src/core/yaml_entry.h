// Shared by the ConfigMap entry parsers (capacity-scaling-config, wva-slo-config): loads one
// entry's YAML and checks it is a non-empty mapping, with the same error wording for both.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

namespace wva::core {

// Returns false with `*problem` set ("invalid YAML at line N: ...", "entry is empty", ...).
bool LoadEntryMapping(const std::string& yaml, YAML::Node* root, std::string* problem);

// A YAML boolean scalar (true/True/TRUE, false/False/FALSE); false when `n` is anything else.
bool ParseYamlBool(const YAML::Node& n, bool* out);

}  // namespace wva::core
