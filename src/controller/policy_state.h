// What the SLO policy remembers per model (core::PolicyState: recent arrival rates, token means,
// the load correction, the last scale-up and deficit, learned start-up times) survives a restart
// or a leader change: the leader saves it after each cycle into the ConfigMap
// `wva-policy-state` in the controller's namespace (data key `state.json`), and a new leader
// restores it before its first cycle. Times are wall-clock seconds, so they carry over between
// processes. A missing, unreadable or malformed document restores nothing (the policy starts
// fresh: cautious, no scale-down before a look-back of traffic) and says why once.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "core/slo_policy.h"
#include "prom/collect.h"

namespace wva::controller {

inline constexpr const char* kPolicyStateConfigMap = "wva-policy-state";
inline constexpr const char* kPolicyStateKey = "state.json";
// A ConfigMap holds at most 1 MiB; the document stays under this, dropping the models decided
// longest ago first (they start fresh after a failover) and saying how many.
inline constexpr size_t kPolicyStateMaxBytes = 900 * 1024;

using PolicyStates = std::map<prom::ModelKey, core::PolicyState>;

// {"version": 1, "models": [{"namespace", "model", "rates": [[t, r], ...], "lastPrompt", ...}]}.
// Numbers keep full precision (a restored state decides exactly as before). `dropped` (optional)
// receives how many models did not fit under `max_bytes`.
std::string EncodePolicyStates(const PolicyStates& states, size_t max_bytes = kPolicyStateMaxBytes,
                               int* dropped = nullptr);

// The inverse; an error names the model entry and field. Entries with non-finite or negative
// values are errors (a corrupted document restores nothing).
StatusOr<PolicyStates> DecodePolicyStates(const std::string& text);

// Where the document lives. The real one is a ConfigMap (Manager); tests use a map.
class PolicyStateStore {
 public:
  virtual ~PolicyStateStore() = default;
  // The stored document; nullopt when there is none yet.
  virtual StatusOr<std::optional<std::string>> Load() = 0;
  virtual Status Save(const std::string& document) = 0;
};

}  // namespace wva::controller
