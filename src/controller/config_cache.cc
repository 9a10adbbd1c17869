#include "controller/config_cache.h"

#include <fmt/format.h>

namespace wva::controller {

ConfigCache::UpdateResult ConfigCache::Update(const std::map<std::string, std::string>& data) {
  UpdateResult r;
  std::vector<core::ConfigError> ignored;
  MutexLock lock(&mu_);
  auto next = std::make_shared<core::SaturationConfigSet>(
      core::SaturationConfigSet::MergeLastGood(*current_, data, &r.errors, &ignored));
  for (core::ConfigError& e : ignored) {
    if (reported_.insert({e.key, e.field}).second) {
      r.ignored.push_back(std::move(e));
    }
  }
  r.changed = !(*next == *current_);
  r.log_line = fmt::format("Saturation scaling config cache updated entries={} has_default={}",
                           next->size(), next->has_default() ? "true" : "false");
  current_ = std::move(next);
  return r;
}

std::shared_ptr<const core::SaturationConfigSet> ConfigCache::Get() const {
  MutexLock lock(&mu_);
  return current_;
}

SloConfigCache::UpdateResult SloConfigCache::Update(
    const std::map<std::string, std::string>& data) {
  UpdateResult r;
  core::SloConfigSet::ParseResult parsed = core::SloConfigSet::Parse(data);
  MutexLock lock(&mu_);
  for (const core::ConfigError& e : parsed.errors) {
    auto prev = current_->entries().find(e.key);
    if (prev != current_->entries().end()) {
      parsed.set.Put(prev->second);
    }
  }
  r.errors = std::move(parsed.errors);
  r.changed = parsed.set.entries() != current_->entries();
  r.log_line = fmt::format("SLO config cache updated entries={}", parsed.set.entries().size());
  current_ = std::make_shared<core::SloConfigSet>(std::move(parsed.set));
  return r;
}

std::shared_ptr<const core::SloConfigSet> SloConfigCache::Get() const {
  MutexLock lock(&mu_);
  return current_;
}

}  // namespace wva::controller
