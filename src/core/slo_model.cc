// The queueing model of one replica (docs/slo-sizing.md §1): prediction and capacity.
#include "core/slo.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/saturation.h"

namespace wva::core {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// The full-batch throughput is never planned above this utilisation: past it the unbounded queue
// grows without bound on any burst, whatever the targets say.
constexpr double kMaxUtilisation = 0.95;
// Quadrature points for the wait + prefill convolution.
constexpr int kQuadrature = 128;
// Output-length quantiles for the per-request ITL tail.
constexpr int kItlGrid = 32;

// Inverse of the standard normal CDF (Acklam's rational approximation, |rel err| < 1.2e-9).
double NormInv(double u) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  u = std::clamp(u, 1e-15, 1 - 1e-15);
  if (u < 0.02425) {
    const double q = std::sqrt(-2 * std::log(u));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (u > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log(1 - u));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double q = u - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

// A positive token count: lognormal with the given mean and stddev, or a constant.
class TokenDist {
 public:
  explicit TokenDist(const TokenStats& s) : mean_(s.mean) {
    if (s.stddev > 0 && s.mean > 0) {
      const double cv = s.stddev / s.mean;
      sigma_ = std::sqrt(std::log1p(cv * cv));
      mu_ = std::log(s.mean) - sigma_ * sigma_ / 2;
    }
  }
  bool constant() const { return sigma_ == 0; }
  // P(X > x)
  double Survival(double x) const {
    if (x <= 0) {
      return 1;
    }
    if (constant()) {
      return mean_ > x ? 1 : 0;
    }
    return 0.5 * std::erfc((std::log(x) - mu_) / (sigma_ * std::sqrt(2.0)));
  }
  double Quantile(double u) const {
    if (constant()) {
      return mean_;
    }
    return std::exp(mu_ + sigma_ * NormInv(u));
  }

 private:
  double mean_ = 0;
  double mu_ = 0, sigma_ = 0;
};

// The per-replica engine model of slo.h, precomputed for one (profile, workload).
class EngineModel {
 public:
  EngineModel(const PerfProfile& p, const Workload& w) : p_(p), prompt_(w.input) {
    {
      // Per-request prefill work Wp = c0 + c1·P: its second moment, for the ITL variance.
      const double c1 =
          p.delta_ms + (p.max_batched_tokens > 0 ? p.gamma_ms / p.max_batched_tokens : 0);
      const double c0 = p.gamma_ms;
      const double m = std::max(0.0, w.input.mean), sd = std::max(0.0, w.input.stddev);
      prefill_m2_ = c0 * c0 + 2 * c0 * c1 * m + c1 * c1 * (m * m + sd * sd);
      out_grid_.resize(kItlGrid);
      TokenDist out(w.output);
      for (int i = 0; i < kItlGrid; ++i) {
        out_grid_[i] = out.Quantile((i + 0.5) / kItlGrid) - 1;
      }
    }
    if (!prompt_.constant()) {
      prompt_grid_.resize(kQuadrature);
      for (int i = 0; i < kQuadrature; ++i) {
        prompt_grid_[i] = prompt_.Quantile((i + 0.5) / kQuadrature);
      }
    }
    const double in = std::max(0.0, w.input.mean);
    out_minus_1_ = std::max(0.0, w.output.mean - 1);
    prefill_ms_ = PrefillMs(p, in);
    int n = std::max(1, p.max_batch);
    if (p.kv_capacity_tokens > 0) {
      const double per_seq = std::max(1.0, in + std::max(1.0, w.output.mean));
      n = std::min<double>(n, std::floor(static_cast<double>(p.kv_capacity_tokens) / per_seq));
    }
    n_ = std::max(1, n);
  }

  int N() const { return n_; }
  // Share of requests whose own mean ITL exceeds `target` when the token-weighted mean ITL is
  // `mean` at arrival rate lambda (req/s). A request decoding k tokens sees the prefills that
  // land during its k·mean ms: a compound Poisson stall with variance lambda·k·mean·E[Wp²], so
  // its mean ITL has sd sqrt(lambda·mean·E[Wp²]/k) (normal approximation).
  double ItlTail(double lambda, double mean, double target) const {
    const double lam_ms = lambda / 1000.0;
    double tail = 0;
    for (double k : out_grid_) {
      if (k < 1) {
        continue;  // a single-token output has no ITL
      }
      const double sd = std::sqrt(lam_ms * mean * prefill_m2_ / k);
      if (sd <= 0) {
        tail += mean > target ? 1 : 0;
      } else {
        tail += 0.5 * std::erfc((target - mean) / (sd * std::sqrt(2.0)));
      }
    }
    return tail / static_cast<double>(out_grid_.size());
  }
  double prefill_ms() const { return prefill_ms_; }
  double Step(int n) const { return p_.alpha_ms + p_.beta_ms * n; }
  // Completions per second with n sequences in the batch.
  double Mu(int n) const {
    const double denom_ms = n * prefill_ms_ + out_minus_1_ * Step(n);
    return denom_ms > 0 ? 1000.0 * n / denom_ms : kInf;
  }
  // ITL seen by a decoding sequence with n in the batch: its step plus its share of prefill
  // stalls (PrefillStallPerTokenMs).
  double Itl(int n) const {
    return out_minus_1_ > 0 ? Step(n) + n * prefill_ms_ / out_minus_1_ : 0;
  }
  // TTFT service part after admission with n in the batch: S = a(n) + b(n)·promptTokens (ms).
  // a includes waiting for the step in progress (one effective ITL) and the first chunk's fixed
  // cost; chunking is bounded by P/B + 1 chunks (conservative for ceil).
  void Service(int n, double* a, double* b) const {
    const double residual = out_minus_1_ > 0 ? Itl(n) : Step(n);
    const double chunk_fixed = Step(n) + p_.gamma_ms;
    *a = residual + chunk_fixed;
    *b = p_.delta_ms + (p_.max_batched_tokens > 0 ? chunk_fixed / p_.max_batched_tokens : 0);
  }
  // P(S(n) > t)
  double ServiceSurvival(int n, double t) const {
    double a, b;
    Service(n, &a, &b);
    if (t < a) {
      return 1;
    }
    if (b <= 0) {
      return 0;
    }
    return prompt_.Survival((t - a) / b);
  }
  // P(E + S(n) > t), E ~ Exp(theta per ms), independent.
  double WaitPlusServiceSurvival(int n, double theta, double t) const {
    double a, b;
    Service(n, &a, &b);
    if (t <= a) {
      return 1;
    }
    if (b <= 0 || prompt_.constant()) {
      const double s = a + b * (prompt_.constant() ? prompt_.Quantile(0.5) : 0);
      return t <= s ? 1 : std::exp(-theta * (t - s));
    }
    // Exact part: S > t. Integral part over S <= t, on the precomputed quantile grid of the
    // prompt length (renormalised to the exact mass of S <= t).
    const double surv = ServiceSurvival(n, t);
    double acc = 0;
    int count = 0;
    for (double pq : prompt_grid_) {
      const double s = a + b * pq;
      if (s > t) {
        break;
      }
      acc += std::exp(-theta * (t - s));
      ++count;
    }
    return count > 0 ? surv + (1 - surv) * acc / count : 1.0;
  }

 private:
  PerfProfile p_;
  TokenDist prompt_;
  std::vector<double> out_grid_;     // output-length quantiles − 1 (decode tokens)
  double prefill_m2_ = 0;            // E[Wp²], ms²
  std::vector<double> prompt_grid_;  // quantiles at (i + 0.5) / kQuadrature, ascending
  double out_minus_1_ = 0;
  double prefill_ms_ = 0;
  int n_ = 1;
};

}  // namespace

const char* CapacityLimitName(CapacityLimit l) {
  switch (l) {
    case CapacityLimit::kNone:
      return "";
    case CapacityLimit::kTtft:
      return "ttft";
    case CapacityLimit::kItl:
      return "itl";
    case CapacityLimit::kThroughput:
      return "throughput";
    case CapacityLimit::kInfeasible:
      return "infeasible";
  }
  return "";
}

double PrefillMs(const PerfProfile& p, double prompt_tokens) {
  const double in = std::max(0.0, prompt_tokens);
  const double chunks = p.max_batched_tokens > 0 ? in / p.max_batched_tokens + 1 : 1;
  return p.gamma_ms * chunks + p.delta_ms * in;
}

double PrefillStallPerTokenMs(const PerfProfile& p, double prompt_tokens, double output_tokens) {
  if (!(output_tokens > 1)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return PrefillMs(p, prompt_tokens) / (output_tokens - 1);
}

namespace {

// Stationary distribution of the birth–death chain: pi[k] for k = 0..N−1 and the probability
// of k >= N (all slots busy), for Poisson arrivals at lambda.
struct Chain {
  bool stable = false;
  std::vector<double> pi;  // k = 0..N−1
  double p_busy = 0;       // P(k >= N)
  double theta_ms = 0;     // (mu(N) − lambda) per ms: rate of the conditional wait
};

Chain Solve(const EngineModel& m, double lambda) {
  Chain c;
  const int n = m.N();
  const double mu_n = m.Mu(n);
  if (!(lambda < mu_n)) {
    return c;
  }
  c.stable = true;
  c.theta_ms = (mu_n - lambda) / 1000.0;
  if (lambda <= 0) {
    c.pi.assign(n, 0.0);
    c.pi[0] = 1;
    return c;
  }
  // log pi_k (unnormalised), k = 0..N; the tail above N is geometric with ratio rho.
  std::vector<double> lp(n + 1);
  lp[0] = 0;
  for (int k = 1; k <= n; ++k) {
    lp[k] = lp[k - 1] + std::log(lambda) - std::log(m.Mu(k));
  }
  const double rho = lambda / mu_n;
  const double top = *std::max_element(lp.begin(), lp.end());
  double z = 0;
  c.pi.resize(n);
  for (int k = 0; k < n; ++k) {
    c.pi[k] = std::exp(lp[k] - top);
    z += c.pi[k];
  }
  c.p_busy = std::exp(lp[n] - top) / (1 - rho);
  z += c.p_busy;
  for (double& x : c.pi) {
    x /= z;
  }
  c.p_busy /= z;
  return c;
}

double TtftTail(const EngineModel& m, const Chain& c, double t) {
  if (!c.stable) {
    return 1;
  }
  double tail = 0;
  for (int k = 0; k < static_cast<int>(c.pi.size()); ++k) {
    if (c.pi[k] < 1e-15) {
      continue;
    }
    tail += c.pi[k] * m.ServiceSurvival(k + 1, t);
  }
  if (c.p_busy > 1e-15) {
    tail += c.p_busy * m.WaitPlusServiceSurvival(m.N(), c.theta_ms, t);
  }
  return std::min(1.0, tail);
}

LoadPrediction Predict(const EngineModel& m, const SloTargets& t, double lambda,
                       bool with_quantile) {
  LoadPrediction out;
  const Chain c = Solve(m, lambda);
  out.stable = c.stable;
  if (!c.stable) {
    out.mean_batch = m.N();
    out.mean_itl_ms = m.Itl(m.N());
    out.p_queue = 1;
    out.ttft_tail = 1;
    out.ttft_ms_at_percentile = kInf;
    return out;
  }
  // Token-weighted mean ITL: sum(pi_n · n) / sum(pi_n · n / ITL(n)).
  double num = 0, den = 0, batch = 0;
  for (int k = 1; k < static_cast<int>(c.pi.size()); ++k) {
    batch += c.pi[k] * k;
    num += c.pi[k] * k;
    if (m.Itl(k) > 0) {
      den += c.pi[k] * k / m.Itl(k);
    }
  }
  batch += c.p_busy * m.N();
  num += c.p_busy * m.N();
  if (m.Itl(m.N()) > 0) {
    den += c.p_busy * m.N() / m.Itl(m.N());
  }
  out.mean_batch = batch;
  // With (almost) no load a lone request sees ITL(1).
  out.mean_itl_ms = den > 0 ? num / den : m.Itl(1);
  out.p_queue = c.p_busy;
  out.ttft_tail = t.ttft_ms > 0 ? TtftTail(m, c, t.ttft_ms) : 0;
  if (t.itl_ms > 0 && t.itl_percentile > 0) {
    out.itl_tail = m.ItlTail(lambda, out.mean_itl_ms, t.itl_ms);
  }
  if (with_quantile) {
    const double q = 1 - t.percentile;
    double lo = 0, hi = 1;
    while (TtftTail(m, c, hi) > q && hi < 1e9) {
      hi *= 2;
    }
    for (int i = 0; i < 60; ++i) {
      const double mid = (lo + hi) / 2;
      (TtftTail(m, c, mid) > q ? lo : hi) = mid;
    }
    out.ttft_ms_at_percentile = hi;
  }
  return out;
}

// Which target a prediction misses. The mean ITL (hardware too slow: no relaxing helps) and the
// ITL tail (request sizes: relaxable) are told apart; both bound capacity as kItl.
enum class Miss { kNone, kThroughput, kTtft, kItlMean, kItlTail };

Miss Violation(const LoadPrediction& pred, const SloTargets& t) {
  if (!pred.stable) {
    return Miss::kThroughput;
  }
  if (t.ttft_ms > 0 && pred.ttft_tail > 1 - t.percentile) {
    return Miss::kTtft;
  }
  if (t.itl_ms > 0 && pred.mean_itl_ms > t.itl_ms * (1 + 1e-12)) {
    return Miss::kItlMean;
  }
  if (t.itl_ms > 0 && t.itl_percentile > 0 && pred.itl_tail > 1 - t.itl_percentile) {
    return Miss::kItlTail;
  }
  return Miss::kNone;
}

CapacityLimit LimitOf(Miss m) {
  switch (m) {
    case Miss::kNone:
      return CapacityLimit::kNone;
    case Miss::kThroughput:
      return CapacityLimit::kThroughput;
    case Miss::kTtft:
      return CapacityLimit::kTtft;
    case Miss::kItlMean:
    case Miss::kItlTail:
      return CapacityLimit::kItl;
  }
  return CapacityLimit::kNone;
}

Status Positive(const char* field, double v, bool allow_zero) {
  if (!std::isfinite(v) || v < 0 || (!allow_zero && v == 0)) {
    return InvalidArgumentError(
        fmt::format("{}: {} must be {}", field, v, allow_zero ? ">= 0" : "> 0"));
  }
  return OkStatus();
}

}  // namespace

Status Workload::Validate() const {
  WVA_RETURN_IF_ERROR(Positive("arrivalRate", arrival_rate, true));
  WVA_RETURN_IF_ERROR(Positive("inputTokens.mean", input.mean, true));
  WVA_RETURN_IF_ERROR(Positive("inputTokens.stddev", input.stddev, true));
  WVA_RETURN_IF_ERROR(Positive("outputTokens.mean", output.mean, true));
  WVA_RETURN_IF_ERROR(Positive("outputTokens.stddev", output.stddev, true));
  if (output.mean < 1) {
    return InvalidArgumentError(fmt::format("outputTokens.mean: {} must be >= 1", output.mean));
  }
  return OkStatus();
}

Status SloTargets::Validate() const {
  WVA_RETURN_IF_ERROR(Positive("ttftMs", ttft_ms, true));
  WVA_RETURN_IF_ERROR(Positive("itlMs", itl_ms, true));
  if (!(percentile > 0.5 && percentile < 1)) {
    return InvalidArgumentError(fmt::format("percentile: {} must be in (0.5, 1)", percentile));
  }
  if (!(itl_percentile == 0 || (itl_percentile > 0.5 && itl_percentile < 1))) {
    return InvalidArgumentError(
        fmt::format("itlPercentile: {} must be 0 (mean only) or in (0.5, 1)", itl_percentile));
  }
  if (!(headroom >= 0 && headroom <= 0.9)) {
    return InvalidArgumentError(fmt::format("headroom: {} must be in [0, 0.9]", headroom));
  }
  WVA_RETURN_IF_ERROR(Positive("drainSeconds", drain_seconds, false));
  return OkStatus();
}

LoadPrediction PredictLoad(const PerfProfile& p, const Workload& w, const SloTargets& t,
                           double lambda, bool with_quantile) {
  return Predict(EngineModel(p, w), t, lambda, with_quantile);
}

ReplicaCapacity MaxRatePerReplica(const PerfProfile& p, const Workload& w, const SloTargets& t,
                                  bool best_effort) {
  ReplicaCapacity cap;
  const EngineModel m(p, w);
  cap.max_batch = m.N();
  cap.prefill_ms = m.prefill_ms();
  cap.saturation_rate = m.Mu(m.N());
  cap.percentile = t.percentile;
  cap.itl_percentile = t.itl_percentile;
  if (t.itl_ms > 0) {
    cap.itl_batch = p.beta_ms > 0
                        ? static_cast<int>(std::floor((t.itl_ms - p.alpha_ms) / p.beta_ms))
                        : (t.itl_ms >= p.alpha_ms ? p.max_batch : 0);
    cap.itl_batch = std::clamp(cap.itl_batch, 0, p.max_batch);
  }
  if (!std::isfinite(cap.saturation_rate) || cap.saturation_rate <= 0) {
    cap.limit = CapacityLimit::kInfeasible;
    cap.why = "degenerate profile: no service time";
    return cap;
  }
  // Feasible at all? Check a vanishing load.
  const double tiny = cap.saturation_rate * 1e-6;
  SloTargets eff = t;
  LoadPrediction idle = Predict(m, eff, tiny, eff.ttft_ms > 0);
  // The request sizes alone may miss a tail target (e.g. prompts so long that their prefill
  // exceeds the TTFT target): no replica count fixes that. Best effort: queueing may add at most
  // the configured miss budget on top of what the request sizes cause at zero load.
  for (int round = 0; best_effort && round < 2; ++round) {
    const Miss v = Violation(idle, eff);
    SloTargets next = eff;
    if (v == Miss::kTtft && eff.percentile == t.percentile) {
      next.percentile = 1 - ((1 - t.percentile) + idle.ttft_tail);
    } else if (v == Miss::kItlTail && eff.itl_percentile == t.itl_percentile) {
      next.itl_percentile = 1 - ((1 - t.itl_percentile) + idle.itl_tail);
    } else {
      break;
    }
    // Relax by at most half of all requests; beyond that the targets are simply out of reach.
    if (!(next.percentile > 0.5 && (next.itl_percentile == 0 || next.itl_percentile > 0.5))) {
      break;
    }
    eff = next;
    idle = Predict(m, eff, tiny, eff.ttft_ms > 0);
    cap.relaxed = true;
    cap.percentile = eff.percentile;
    cap.itl_percentile = eff.itl_percentile;
  }
  if (const Miss v = Violation(idle, eff); v != Miss::kNone) {
    cap.limit = CapacityLimit::kInfeasible;
    cap.ttft_ms = idle.ttft_ms_at_percentile;
    cap.itl_ms = idle.mean_itl_ms;
    cap.why =
        v == Miss::kTtft ? fmt::format("TTFT p{:g} is {:.0f} ms even without load (target {:g} ms)",
                                       eff.percentile * 100, idle.ttft_ms_at_percentile, t.ttft_ms)
        : v == Miss::kItlTail ? fmt::format(
                                    "{:.2f}% of requests see a mean ITL above {:g} ms even "
                                    "without load (allowed {:.2f}%)",
                                    100 * idle.itl_tail, t.itl_ms, 100 * (1 - eff.itl_percentile))
                              : fmt::format("ITL is {:.1f} ms even without load (target {:g} ms)",
                                            idle.mean_itl_ms, t.itl_ms);
    return cap;
  }
  cap.feasible = true;
  double lo = tiny, hi = cap.saturation_rate * kMaxUtilisation;
  CapacityLimit limit = LimitOf(Violation(Predict(m, eff, hi, false), eff));
  if (limit == CapacityLimit::kNone) {
    lo = hi;
    limit = CapacityLimit::kThroughput;
  } else {
    for (int i = 0; i < 60 && hi - lo > 1e-5 * hi; ++i) {
      const double mid = (lo + hi) / 2;
      const CapacityLimit v = LimitOf(Violation(Predict(m, eff, mid, false), eff));
      if (v != CapacityLimit::kNone) {
        hi = mid;
        limit = v;
      } else {
        lo = mid;
      }
    }
  }
  cap.limit = limit;
  cap.raw_max_rate = lo;
  cap.max_rate = lo * (1 - t.headroom);
  const LoadPrediction at = Predict(m, eff, lo, eff.ttft_ms > 0);
  cap.ttft_ms = at.ttft_ms_at_percentile;
  cap.itl_ms = at.mean_itl_ms;
  if (cap.relaxed) {
    cap.why = fmt::format(
        "best effort: the request sizes alone put {:.2f}% of requests over the "
        "targets on this variant; sized so that queueing adds at most {:.2f}%",
        100 * ((1 - eff.percentile) - (1 - t.percentile) +
               (eff.itl_percentile > 0 ? (1 - eff.itl_percentile) - (1 - t.itl_percentile) : 0)),
        100 * (1 - t.percentile));
  }
  return cap;
}

}  // namespace wva::core
