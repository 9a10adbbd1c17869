// Fixed-memory latency statistics for the simulator: a log-bucketed histogram (0.5% relative
// resolution from 1 µs to ~12 days) so percentiles over millions of requests cost no memory per
// request. Deterministic: the same values give the same percentiles on every run.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace wva::sim {

class LogHistogram {
 public:
  static constexpr double kMinMs = 0.001;
  static constexpr double kGrowth = 1.005;

  LogHistogram() : counts_(kBuckets, 0) {}

  void Add(double ms) {
    ++total_;
    size_t i = 0;
    if (ms > kMinMs) {
      const double k = std::log(ms / kMinMs) / std::log(kGrowth);
      i = static_cast<size_t>(std::min<double>(k, kBuckets - 1));
    }
    ++counts_[i];
  }
  int64_t count() const { return total_; }

  // The value below which a fraction q of the samples falls (bucket midpoint, ±0.25%); 0 when
  // empty. Nearest-rank: the ceil(q * n)-th smallest sample.
  double Quantile(double q) const {
    if (total_ == 0) {
      return 0;
    }
    int64_t rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(total_)));
    if (rank < 1) {
      rank = 1;
    }
    int64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        return i == 0 ? kMinMs : kMinMs * std::pow(kGrowth, static_cast<double>(i) + 0.5);
      }
    }
    return kMinMs * std::pow(kGrowth, static_cast<double>(kBuckets));
  }

 private:
  static constexpr size_t kBuckets = 5000;  // 1.005^5000 * 1 µs ≈ 7e10 µs
  std::vector<int64_t> counts_;
  int64_t total_ = 0;
};

}  // namespace wva::sim
