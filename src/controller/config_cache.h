// The saturation-config cache: the last good `capacity-scaling-config`, updated on every change
// of the ConfigMap (hot reload). Invalid entries are skipped with an error that names the key and
// field; an entry that was good before keeps its previous version, so a typo never drops a model
// back to defaults. Thread-safe: the ConfigMap watch writes, reconcile workers read.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "core/config.h"
#include "core/slo_config.h"

namespace wva::controller {

class ConfigCache {
 public:
  struct UpdateResult {
    std::vector<core::ConfigError> errors;
    // Known upstream fields that are not implemented, reported the first time each (key, field)
    // is seen by this cache; the entries themselves are applied.
    std::vector<core::ConfigError> ignored;
    std::string log_line;  // "Saturation scaling config cache updated entries=<n> has_default=<b>"
    bool changed = false;  // the effective configuration differs from before
  };

  // Applies the ConfigMap's data (key -> YAML). An absent ConfigMap is an empty map: built-in
  // defaults apply.
  UpdateResult Update(const std::map<std::string, std::string>& data);

  // A consistent snapshot for one cycle.
  std::shared_ptr<const core::SaturationConfigSet> Get() const;

 private:
  mutable Mutex mu_;
  std::shared_ptr<const core::SaturationConfigSet> current_ GUARDED_BY(mu_) =
      std::make_shared<core::SaturationConfigSet>();
  std::set<std::pair<std::string, std::string>> reported_ GUARDED_BY(mu_);
};

// The same for the SLO configuration (`wva-slo-config`, issue #8): invalid entries are skipped
// with an error naming the key and field, and a key that was good keeps its previous version.
class SloConfigCache {
 public:
  struct UpdateResult {
    std::vector<core::ConfigError> errors;
    std::string log_line;  // "SLO config cache updated entries=<n>"
    bool changed = false;
  };
  UpdateResult Update(const std::map<std::string, std::string>& data);
  std::shared_ptr<const core::SloConfigSet> Get() const;

 private:
  mutable Mutex mu_;
  std::shared_ptr<const core::SloConfigSet> current_ GUARDED_BY(mu_) =
      std::make_shared<core::SloConfigSet>();
};

}  // namespace wva::controller
