// Test helper: a cycle's VA edited as an object and parsed again (a cycle's VAs are immutable,
// parsed once, as the cache delivers them).
#pragma once

#include <utility>

#include <nlohmann/json.hpp>

#include "controller/planner.h"

namespace wva::controller {

template <typename Edit>
CycleVa Edited(const CycleVa& va, Edit edit) {
  nlohmann::json object = va.object();
  edit(object);
  return CycleVaOf(std::move(object));
}

}  // namespace wva::controller
