// The `wva analyze` snapshot (docs/reference.md "wva analyze"): one model group's state in YAML
// or JSON, parsed and validated into a ModelInput. Errors name the field path
// ("variants[1].cost: ...").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/config.h"
#include "core/slo.h"
#include "core/slo_config.h"
#include "core/types.h"

namespace wva::core {

struct Snapshot {
  ModelInput input;
  std::vector<std::string> pods;  // pod name per replica sample ("" when not given)
  bool config_given = false;      // the snapshot carried a `config` block
  SaturationEntry config_entry;   // its fields (only those present)
  // SLO sizing (issue #8, all optional): `slo` targets, `workload`, per-variant `profile`.
  bool slo_given = false;
  SloTargetsPatch slo;
  bool workload_given = false;
  Workload workload;
  std::vector<std::optional<PerfProfile>> profiles;  // parallel to input.variants
  bool uses_slo() const {
    if (slo_given || workload_given) {
      return true;
    }
    for (const auto& p : profiles) {
      if (p) {
        return true;
      }
    }
    return false;
  }
};

// Parses a snapshot. On error the Status message is "<field path>: <problem>".
StatusOr<Snapshot> ParseSnapshot(std::string_view text);

// Parses what `wva analyze --config` accepts: a whole ConfigMap (kind: ConfigMap, data: ...),
// its data map (key -> YAML string), or a single entry (kvCacheThreshold: ... at top level).
// Errors name the key and field.
StatusOr<SaturationConfigSet> ParseConfigFile(std::string_view text);

}  // namespace wva::core
