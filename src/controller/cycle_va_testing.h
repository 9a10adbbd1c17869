// Test helper: a cycle's VA edited as an object and parsed again (a cycle's VAs are immutable,
// parsed once, as the cache delivers them).
#pragma once

#include <utility>

#include <nlohmann/json.hpp>

#include "controller/planner.h"

namespace wva::controller {

inline ObjectPtr SharedObject(nlohmann::json object) {
  return std::make_shared<const nlohmann::json>(std::move(object));
}

// A cached object (a Deployment) edited and shared again.
template <typename Edit>
ObjectPtr EditedObject(const ObjectPtr& object, Edit edit) {
  nlohmann::json copy = *object;
  edit(copy);
  return SharedObject(std::move(copy));
}

template <typename Edit>
CycleVa Edited(const CycleVa& va, Edit edit) {
  nlohmann::json object = va.object();
  edit(object);
  return CycleVaOf(std::move(object));
}

}  // namespace wva::controller
