#include "kube/workqueue.h"

#include <algorithm>
#include <cmath>

namespace wva::kube {

WorkQueue::WorkQueue(const Clock* clock, RateLimiterOptions rl)
    : clock_(clock), rl_(rl), tokens_(rl.burst), last_refill_(clock->Now()) {}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_) {
    return;
  }
  if (dirty_.count(key)) {
    return;
  }
  dirty_.insert(key);
  if (processing_.count(key)) {
    return;  // re-queued by Done()
  }
  queue_.push_back(key);
  cv_.NotifyOne();
}

void WorkQueue::Add(const std::string& key) {
  MutexLock lock(&mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::nanoseconds delay) {
  MutexLock lock(&mu_);
  if (shutting_down_) {
    return;
  }
  if (delay <= std::chrono::nanoseconds::zero()) {
    AddLocked(key);
    return;
  }
  auto at = clock_->Now() + std::chrono::duration_cast<Clock::SteadyTime::duration>(delay);
  auto it = delayed_at_.find(key);
  if (it != delayed_at_.end()) {
    if (it->second <= at) {
      return;  // an earlier wake-up is already pending
    }
    for (auto d = delayed_.begin(); d != delayed_.end(); ++d) {
      if (d->second == key) {
        delayed_.erase(d);
        break;
      }
    }
  }
  delayed_.emplace(at, key);
  delayed_at_[key] = at;
  cv_.NotifyAll();
}

std::chrono::nanoseconds WorkQueue::NextDelay(const std::string& key) {
  MutexLock lock(&mu_);
  // Per-item exponential.
  int f = failures_[key]++;
  double exp_ms = static_cast<double>(rl_.base_delay.count()) * std::pow(2.0, std::min(f, 62));
  exp_ms = std::min(exp_ms, static_cast<double>(rl_.max_delay.count()));
  // Token bucket (overall): refill, then take one token; a deficit is a wait.
  auto now = clock_->Now();
  double elapsed = std::chrono::duration<double>(now - last_refill_).count();
  last_refill_ = now;
  tokens_ = std::min<double>(rl_.burst, tokens_ + elapsed * rl_.qps);
  tokens_ -= 1.0;
  double bucket_ms = tokens_ >= 0 ? 0.0 : (-tokens_ / rl_.qps) * 1000.0;
  double ms = std::max(exp_ms, bucket_ms);
  return std::chrono::nanoseconds(static_cast<int64_t>(ms * 1e6));
}

void WorkQueue::AddRateLimited(const std::string& key) { AddAfter(key, NextDelay(key)); }

void WorkQueue::Forget(const std::string& key) {
  MutexLock lock(&mu_);
  failures_.erase(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  MutexLock lock(&mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::TickLocked() {
  auto now = clock_->Now();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    delayed_at_.erase(key);
    AddLocked(key);
  }
}

void WorkQueue::Tick() {
  MutexLock lock(&mu_);
  TickLocked();
}

bool WorkQueue::TryGet(std::string* key) {
  MutexLock lock(&mu_);
  TickLocked();
  if (queue_.empty() || (shutting_down_ && !drain_)) {
    return false;
  }
  *key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(*key);
  dirty_.erase(*key);
  return true;
}

bool WorkQueue::Get(std::string* key) {
  MutexLock lock(&mu_);
  while (true) {
    TickLocked();
    if (shutting_down_ && (!drain_ || queue_.empty())) {
      return false;
    }
    if (!queue_.empty()) {
      break;
    }
    auto wait = std::chrono::milliseconds(20);
    if (!delayed_.empty()) {
      auto until = delayed_.begin()->first - clock_->Now();
      wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(until),
                        std::chrono::milliseconds(1), std::chrono::milliseconds(20));
    }
    cv_.WaitFor(&mu_, wait);
  }
  *key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(*key);
  dirty_.erase(*key);
  return true;
}

void WorkQueue::Done(const std::string& key) {
  MutexLock lock(&mu_);
  processing_.erase(key);
  if (dirty_.count(key) && !(shutting_down_ && !drain_)) {
    queue_.push_back(key);
    cv_.NotifyOne();
  }
  cv_.NotifyAll();
}

void WorkQueue::ShutDown() {
  MutexLock lock(&mu_);
  shutting_down_ = true;
  drain_ = false;
  cv_.NotifyAll();
}

void WorkQueue::ShutDownWithDrain() {
  MutexLock lock(&mu_);
  shutting_down_ = true;
  drain_ = true;
  delayed_.clear();
  delayed_at_.clear();
  cv_.NotifyAll();
  // Wait until every handed-out item is Done (queued items are still handed out).
  while (!processing_.empty() || !queue_.empty()) {
    cv_.Wait(&mu_);
  }
}

bool WorkQueue::shutting_down() const {
  MutexLock lock(&mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  MutexLock lock(&mu_);
  return queue_.size();
}

size_t WorkQueue::DelayedLen() const {
  MutexLock lock(&mu_);
  return delayed_.size();
}

}  // namespace wva::kube
