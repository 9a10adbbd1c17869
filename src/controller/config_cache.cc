#include "controller/config_cache.h"

#include <fmt/format.h>

namespace wva::controller {

ConfigCache::UpdateResult ConfigCache::Update(const std::map<std::string, std::string>& data) {
  UpdateResult r;
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<core::SaturationConfigSet>(
      core::SaturationConfigSet::MergeLastGood(*current_, data, &r.errors));
  r.changed = !(*next == *current_);
  r.log_line = fmt::format("Saturation scaling config cache updated entries={} has_default={}",
                           next->size(), next->has_default() ? "true" : "false");
  current_ = std::move(next);
  return r;
}

std::shared_ptr<const core::SaturationConfigSet> ConfigCache::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

}  // namespace wva::controller
