// Reading fields of API objects that may be malformed: a path that is absent or crosses a
// non-object reads as null, and a non-string reads as "". The controller's parsers (VA,
// Deployment, pod, placement inputs) all read through these, so garbage is treated alike.
#pragma once

#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

namespace wva::controller {

inline const nlohmann::json& JsonAt(const nlohmann::json& j,
                                    std::initializer_list<const char*> path) {
  static const nlohmann::json kNull;
  const nlohmann::json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object()) {
      return kNull;
    }
    auto it = cur->find(k);
    if (it == cur->end()) {
      return kNull;
    }
    cur = &*it;
  }
  return *cur;
}

inline std::string JsonStr(const nlohmann::json& j) {
  return j.is_string() ? j.get<std::string>() : "";
}

}  // namespace wva::controller
