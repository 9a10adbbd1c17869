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
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                             -2.759285104469687e+02, 1.383577518672690e+02,
                             -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                             -1.556989798598866e+02, 6.680131188771972e+01,
                             -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                             -2.400758277161838e+00, -2.549732539343734e+00,
                             4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                             2.445134137142996e+00, 3.754408661907416e+00};
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
    if (x <= 0) return 1;
    if (constant()) return mean_ > x ? 1 : 0;
    return 0.5 * std::erfc((std::log(x) - mu_) / (sigma_ * std::sqrt(2.0)));
  }
  double Quantile(double u) const {
    if (constant()) return mean_;
    return std::exp(mu_ + sigma_ * NormInv(u));
  }

 private:
  double mean_ = 0;
  double mu_ = 0, sigma_ = 0;
};

// The per-replica engine model of slo.h, precomputed for one (profile, workload).
class EngineModel {
 public:
  EngineModel(const PerfProfile& p, const Workload& w)
      : p_(p), prompt_(w.input) {
    {
      // Per-request prefill work Wp = c0 + c1·P: its second moment, for the ITL variance.
      const double c1 = p.delta_ms + (p.max_batched_tokens > 0 ? p.gamma_ms / p.max_batched_tokens : 0);
      const double c0 = p.gamma_ms;
      const double m = std::max(0.0, w.input.mean), sd = std::max(0.0, w.input.stddev);
      prefill_m2_ = c0 * c0 + 2 * c0 * c1 * m + c1 * c1 * (m * m + sd * sd);
      out_grid_.resize(kItlGrid);
      TokenDist out(w.output);
      for (int i = 0; i < kItlGrid; ++i) out_grid_[i] = out.Quantile((i + 0.5) / kItlGrid) - 1;
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
      if (k < 1) continue;  // a single-token output has no ITL
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
    if (t < a) return 1;
    if (b <= 0) return 0;
    return prompt_.Survival((t - a) / b);
  }
  // P(E + S(n) > t), E ~ Exp(theta per ms), independent.
  double WaitPlusServiceSurvival(int n, double theta, double t) const {
    double a, b;
    Service(n, &a, &b);
    if (t <= a) return 1;
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
      if (s > t) break;
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

double PrefillMs(const PerfProfile& p, double prompt_tokens) {
  const double in = std::max(0.0, prompt_tokens);
  const double chunks = p.max_batched_tokens > 0 ? in / p.max_batched_tokens + 1 : 1;
  return p.gamma_ms * chunks + p.delta_ms * in;
}

double PrefillStallPerTokenMs(const PerfProfile& p, double prompt_tokens, double output_tokens) {
  if (!(output_tokens > 1)) return std::numeric_limits<double>::quiet_NaN();
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
  if (!(lambda < mu_n)) return c;
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
  for (int k = 1; k <= n; ++k) lp[k] = lp[k - 1] + std::log(lambda) - std::log(m.Mu(k));
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
  for (double& x : c.pi) x /= z;
  c.p_busy /= z;
  return c;
}

double TtftTail(const EngineModel& m, const Chain& c, double t) {
  if (!c.stable) return 1;
  double tail = 0;
  for (int k = 0; k < static_cast<int>(c.pi.size()); ++k) {
    if (c.pi[k] < 1e-15) continue;
    tail += c.pi[k] * m.ServiceSurvival(k + 1, t);
  }
  if (c.p_busy > 1e-15) tail += c.p_busy * m.WaitPlusServiceSurvival(m.N(), c.theta_ms, t);
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
    if (m.Itl(k) > 0) den += c.pi[k] * k / m.Itl(k);
  }
  batch += c.p_busy * m.N();
  num += c.p_busy * m.N();
  if (m.Itl(m.N()) > 0) den += c.p_busy * m.N() / m.Itl(m.N());
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
    while (TtftTail(m, c, hi) > q && hi < 1e9) hi *= 2;
    for (int i = 0; i < 60; ++i) {
      const double mid = (lo + hi) / 2;
      (TtftTail(m, c, mid) > q ? lo : hi) = mid;
    }
    out.ttft_ms_at_percentile = hi;
  }
  return out;
}

// Which target `pred` violates, or "" when it meets all of them.
const char* Violation(const LoadPrediction& pred, const SloTargets& t) {
  if (!pred.stable) return "throughput";
  if (t.ttft_ms > 0 && pred.ttft_tail > 1 - t.percentile) return "ttft";
  if (t.itl_ms > 0 && pred.mean_itl_ms > t.itl_ms * (1 + 1e-12)) return "itl-mean";
  if (t.itl_ms > 0 && t.itl_percentile > 0 && pred.itl_tail > 1 - t.itl_percentile) return "itl";
  return "";
}

Status Positive(const char* field, double v, bool allow_zero) {
  if (!std::isfinite(v) || v < 0 || (!allow_zero && v == 0)) {
    return InvalidArgumentError(
        fmt::format("{}: {} must be {}", field, v, allow_zero ? ">= 0" : "> 0"));
  }
  return OkStatus();
}

}  // namespace

Status PerfProfile::Validate() const {
  WVA_RETURN_IF_ERROR(Positive("alpha", alpha_ms, false));
  WVA_RETURN_IF_ERROR(Positive("beta", beta_ms, true));
  WVA_RETURN_IF_ERROR(Positive("gamma", gamma_ms, true));
  WVA_RETURN_IF_ERROR(Positive("delta", delta_ms, true));
  if (max_batch < 1) return InvalidArgumentError(fmt::format("maxBatch: {} must be >= 1", max_batch));
  if (kv_capacity_tokens < 0) {
    return InvalidArgumentError(
        fmt::format("kvCapacityTokens: {} must be >= 0", kv_capacity_tokens));
  }
  if (max_batched_tokens < 0) {
    return InvalidArgumentError(
        fmt::format("maxBatchedTokens: {} must be >= 0", max_batched_tokens));
  }
  return OkStatus();
}

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
    cap.itl_batch = p.beta_ms > 0 ? static_cast<int>(std::floor((t.itl_ms - p.alpha_ms) / p.beta_ms))
                                  : (t.itl_ms >= p.alpha_ms ? p.max_batch : 0);
    cap.itl_batch = std::clamp(cap.itl_batch, 0, p.max_batch);
  }
  if (!std::isfinite(cap.saturation_rate) || cap.saturation_rate <= 0) {
    cap.limit = "infeasible";
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
    const std::string v = Violation(idle, eff);
    SloTargets next = eff;
    if (v == "ttft" && eff.percentile == t.percentile) {
      next.percentile = 1 - ((1 - t.percentile) + idle.ttft_tail);
    } else if (v == "itl" && eff.itl_percentile == t.itl_percentile) {
      next.itl_percentile = 1 - ((1 - t.itl_percentile) + idle.itl_tail);
    } else {
      break;
    }
    // Relax by at most half of all requests; beyond that the targets are simply out of reach.
    if (!(next.percentile > 0.5 && (next.itl_percentile == 0 || next.itl_percentile > 0.5))) break;
    eff = next;
    idle = Predict(m, eff, tiny, eff.ttft_ms > 0);
    cap.relaxed = true;
    cap.percentile = eff.percentile;
    cap.itl_percentile = eff.itl_percentile;
  }
  if (const char* v = Violation(idle, eff); *v) {
    cap.limit = "infeasible";
    cap.ttft_ms = idle.ttft_ms_at_percentile;
    cap.itl_ms = idle.mean_itl_ms;
    const std::string vs = v;
    cap.why = vs == "ttft" ? fmt::format("TTFT p{:g} is {:.0f} ms even without load (target {:g} ms)",
                                         eff.percentile * 100, idle.ttft_ms_at_percentile, t.ttft_ms)
              : vs == "itl" ? fmt::format("{:.2f}% of requests see a mean ITL above {:g} ms even "
                                          "without load (allowed {:.2f}%)",
                                          100 * idle.itl_tail, t.itl_ms,
                                          100 * (1 - eff.itl_percentile))
                            : fmt::format("ITL is {:.1f} ms even without load (target {:g} ms)",
                                          idle.mean_itl_ms, t.itl_ms);
    return cap;
  }
  cap.feasible = true;
  double lo = tiny, hi = cap.saturation_rate * kMaxUtilisation;
  const char* limit = Violation(Predict(m, eff, hi, false), eff);
  if (!*limit) {
    lo = hi;
    limit = "throughput";
  } else {
    for (int i = 0; i < 60 && hi - lo > 1e-5 * hi; ++i) {
      const double mid = (lo + hi) / 2;
      const char* v = Violation(Predict(m, eff, mid, false), eff);
      if (*v) {
        hi = mid;
        limit = v;
      } else {
        lo = mid;
      }
    }
  }
  cap.limit = std::string(limit) == "itl-mean" ? "itl" : limit;
  cap.raw_max_rate = lo;
  cap.max_rate = lo * (1 - t.headroom);
  const LoadPrediction at = Predict(m, eff, lo, eff.ttft_ms > 0);
  cap.ttft_ms = at.ttft_ms_at_percentile;
  cap.itl_ms = at.mean_itl_ms;
  if (cap.relaxed) {
    cap.why = fmt::format("best effort: the request sizes alone put {:.2f}% of requests over the "
                          "targets on this variant; sized so that queueing adds at most {:.2f}%",
                          100 * ((1 - eff.percentile) - (1 - t.percentile) +
                                 (eff.itl_percentile > 0 ? (1 - eff.itl_percentile) -
                                                               (1 - t.itl_percentile)
                                                         : 0)),
                          100 * (1 - t.percentile));
  }
  return cap;
}

double ForecastRate(const std::vector<std::pair<double, double>>& history, double lead_s) {
  if (history.empty()) return 0;
  const double last = history.back().second;
  if (history.size() < 5 || lead_s <= 0) return last;
  double st = 0, sr = 0;
  for (const auto& [t, r] : history) {
    st += t;
    sr += r;
  }
  const double n = static_cast<double>(history.size());
  const double mt = st / n, mr = sr / n;
  double stt = 0, str = 0;
  for (const auto& [t, r] : history) {
    stt += (t - mt) * (t - mt);
    str += (t - mt) * (r - mr);
  }
  if (stt <= 0) return last;
  const double slope = str / stt;
  if (slope <= 0) return last;
  // Extrapolate only a trend that stands out of the noise (slope > 2 standard errors): minute
  // rates of steady traffic wobble, and a noisy "trend" times a start-up delay buys replicas.
  double sse = 0;
  for (const auto& [t, r] : history) {
    const double e = r - (mr + slope * (t - mt));
    sse += e * e;
  }
  const double se = std::sqrt(sse / std::max(1.0, n - 2) / stt);
  if (slope < 2 * se) return last;
  const double at = mr + slope * (history.back().first + lead_s - mt);
  return std::clamp(at, last, 2 * last);
}

double PeakHoldRate(const std::vector<std::pair<double, double>>& history, double hold_s) {
  if (history.empty()) return 0;
  const double newest = history.back().first;
  double peak = 0;
  for (const auto& [t, r] : history) {
    if (t >= newest - hold_s - 1e-9) peak = std::max(peak, r);
  }
  return peak;
}

double LoadCorrection::Update(double t_s, int64_t finished, int64_t good, double goal,
                              bool pending) {
  const double dt = last_t_ < 0 ? 0 : std::max(0.0, t_s - last_t_);
  last_t_ = t_s;
  if (finished < o_.min_requests || !(goal > 0 && goal < 1)) return factor_;
  const double share = static_cast<double>(std::clamp<int64_t>(good, 0, finished)) /
                       static_cast<double>(finished);
  const double miss = 1 - share, budget = 1 - goal;
  if (miss > budget) {
    if (!pending) {
      const double step = std::min(o_.max_step, 1 + o_.gain * (miss - budget));
      factor_ = std::min(o_.max_factor, factor_ * step);
    }
  } else if (miss <= budget / 2 && o_.release_s > 0) {
    factor_ = 1 + (factor_ - 1) * std::exp(-dt / o_.release_s);
    if (factor_ < 1.001) factor_ = 1;
  }
  explain_ = factor_ > 1 ? fmt::format("load x{:.2f} (observed {:.1f}% within SLO over {} "
                                       "requests, goal {:g}%)",
                                       factor_, 100 * share, finished, 100 * goal)
                         : "";
  return factor_;
}

namespace {

struct Cand {
  int idx;
  double cap;
  double cost;
  int lo, hi, cur;
};

struct Best {
  bool found = false;
  double cost = kInf;
  int distance = 0;
  double capacity = 0;
  std::vector<int> x;
};

// Branch and bound over replica counts of the candidates (sorted by cost per capacity).
class MixSearch {
 public:
  MixSearch(std::vector<Cand> c, double need) : c_(std::move(c)), need_(need), x_(c_.size()) {
    // Suffix lower-bound helpers.
    const size_t n = c_.size();
    suffix_min_cost_.assign(n + 1, 0);
    suffix_min_cap_.assign(n + 1, 0);
    suffix_best_ratio_.assign(n + 1, kInf);
    for (size_t i = n; i-- > 0;) {
      suffix_min_cost_[i] = suffix_min_cost_[i + 1] + c_[i].lo * c_[i].cost;
      suffix_min_cap_[i] = suffix_min_cap_[i + 1] + c_[i].lo * c_[i].cap;
      suffix_best_ratio_[i] = std::min(suffix_best_ratio_[i + 1], c_[i].cost / c_[i].cap);
    }
  }
  bool Run(int64_t node_limit) {
    limit_ = node_limit;
    Dfs(0, 0, 0, 0);
    return nodes_ <= limit_;
  }
  const Best& best() const { return best_; }

 private:
  void Dfs(size_t i, double cost, double cap, int dist) {
    if (++nodes_ > limit_) return;
    if (i == c_.size()) {
      if (cap + 1e-9 < need_) return;
      const bool better = !best_.found || cost < best_.cost - 1e-9 ||
                          (cost <= best_.cost + 1e-9 &&
                           (dist < best_.distance ||
                            (dist == best_.distance && cap > best_.capacity + 1e-9)));
      if (better) best_ = {true, cost, dist, cap, x_};
      return;
    }
    // Lower bound: minimums of the rest, plus the rest of the need at the best ratio.
    const double rest_need = std::max(0.0, need_ - cap - suffix_min_cap_[i]);
    const double lb = cost + suffix_min_cost_[i] + rest_need * suffix_best_ratio_[i];
    if (best_.found && lb > best_.cost + 1e-9) return;
    const Cand& c = c_[i];
    for (int x = c.lo; x <= c.hi; ++x) {
      x_[i] = x;
      Dfs(i + 1, cost + x * c.cost, cap + x * c.cap, dist + std::abs(x - c.cur));
      if (cap + x * c.cap >= need_ + c.cap) break;  // more of this one only adds cost
    }
  }

  std::vector<Cand> c_;
  double need_;
  std::vector<int> x_;
  std::vector<double> suffix_min_cost_, suffix_min_cap_, suffix_best_ratio_;
  Best best_;
  int64_t nodes_ = 0, limit_ = 0;
};

std::string Money(double x) { return fmt::format("${:.2f}/h", x); }

}  // namespace

SloSizing SizeForSlo(const ModelInput& in, const SloInput& slo, const std::vector<bool>& fixed,
                     MixBounds bounds) {
  SloSizing out;
  const int nv = static_cast<int>(in.variants.size());
  out.variants.resize(nv);
  for (int i = 0; i < nv; ++i) out.variants[i].target_replicas = in.variants[i].current_replicas;
  if (static_cast<int>(slo.profiles.size()) != nv) {
    out.problem = fmt::format("{} profile slot(s) for {} variant(s)", slo.profiles.size(), nv);
    return out;
  }
  if (!slo.targets.any()) {
    out.problem = "no SLO targets (ttftMs / itlMs) configured";
    return out;
  }
  if (Status s = slo.targets.Validate(); !s.ok()) {
    out.problem = "slo." + s.message();
    return out;
  }
  if (Status s = slo.workload.Validate(); !s.ok()) {
    out.problem = "workload." + s.message();
    return out;
  }
  // Load: arrivals plus the backlog, which must drain within drain_seconds.
  double queued = 0;
  for (const ReplicaSample& s : in.replicas) {
    if (UsableSample(s, nv)) queued += s.queue_length;
  }
  out.load = slo.workload.arrival_rate + queued / slo.targets.drain_seconds;

  std::vector<Cand> cands;
  double fixed_cap = 0;
  int usable = 0;
  // Strict targets first; when no variant can meet them even without load (the request sizes
  // alone miss the tail), best effort (MaxRatePerReplica) rather than no sizing at all.
  for (int pass = 0; pass < 2 && usable == 0; ++pass) {
  cands.clear();
  fixed_cap = out.current_capacity = out.current_cost = 0;
  out.best_effort = false;
  for (int i = 0; i < nv; ++i) {
    const VariantState& v = in.variants[i];
    VariantSizing& vs = out.variants[i];
    vs.fixed = i < static_cast<int>(fixed.size()) && fixed[i];
    if (!slo.profiles[i]) {
      vs.note = "no performance profile: not sized by the SLO model";
      continue;
    }
    if (Status s = slo.profiles[i]->Validate(); !s.ok()) {
      vs.note = "invalid profile: " + s.message();
      continue;
    }
    vs = VariantSizing{};
    vs.target_replicas = v.current_replicas;
    vs.fixed = i < static_cast<int>(fixed.size()) && fixed[i];
    vs.capacity = MaxRatePerReplica(*slo.profiles[i], slo.workload, slo.targets, pass == 1);
    if (!vs.capacity.feasible || vs.capacity.max_rate <= 0) {
      vs.note = "SLO not reachable on this variant: " + vs.capacity.why;
      continue;
    }
    vs.usable = true;
    if (vs.capacity.relaxed) vs.note = vs.capacity.why;
    out.best_effort = out.best_effort || vs.capacity.relaxed;
    ++usable;
    out.current_capacity += v.current_replicas * vs.capacity.max_rate;
    out.current_cost += v.current_replicas * v.cost;
    if (vs.fixed) {
      vs.note = "held by the saturation decision";
      fixed_cap += v.current_replicas * vs.capacity.max_rate;
      continue;
    }
    Cand c;
    c.idx = i;
    c.cap = vs.capacity.max_rate;
    c.cost = v.cost;
    c.cur = v.current_replicas;
    c.lo = std::max(0, v.min_replicas);
    const int enough = static_cast<int>(std::ceil(out.load / c.cap - 1e-9));
    c.hi = v.max_replicas ? *v.max_replicas : std::max(c.lo, enough);
    c.hi = std::max(c.hi, c.lo);
    if (bounds == MixBounds::kGrowOnly) {
      c.lo = std::max(c.lo, v.current_replicas);
      c.hi = std::max({c.hi, c.lo, v.current_replicas});
    } else if (bounds == MixBounds::kShrinkOnly) {
      c.hi = std::max(c.lo, std::min(c.hi, v.current_replicas));
    }
    cands.push_back(c);
  }
  }
  if (usable == 0) {
    out.problem = "no variant has a usable performance profile for these targets";
    for (int i = 0; i < nv; ++i) {
      if (!out.variants[i].note.empty()) out.problem += fmt::format("; {}: {}", in.variants[i].name,
                                                                    out.variants[i].note);
    }
    return out;
  }
  std::stable_sort(cands.begin(), cands.end(), [&](const Cand& a, const Cand& b) {
    const double ra = a.cost / a.cap, rb = b.cost / b.cap;
    if (ra != rb) return ra < rb;
    return in.variants[a.idx].name < in.variants[b.idx].name;
  });
  const double need = std::max(0.0, out.load - fixed_cap);
  MixSearch search(cands, need);
  out.exact = search.Run(200000);
  std::vector<int> plan(cands.size());
  if (search.best().found && out.exact) {
    plan = search.best().x;
    out.covers_load = true;
  } else {
    // Greedy fallback (or nothing covers the load): minimums, then the best cost per capacity
    // up to its max, and so on.
    double cap = 0;
    for (size_t k = 0; k < cands.size(); ++k) {
      plan[k] = cands[k].lo;
      cap += plan[k] * cands[k].cap;
    }
    for (size_t k = 0; k < cands.size() && cap + 1e-9 < need; ++k) {
      while (plan[k] < cands[k].hi && cap + 1e-9 < need) {
        ++plan[k];
        cap += cands[k].cap;
      }
    }
    out.covers_load = cap + 1e-9 >= need;
  }
  out.planned_capacity = fixed_cap;
  for (int i = 0; i < nv; ++i) {
    if (out.variants[i].usable && out.variants[i].fixed) {
      out.planned_cost += in.variants[i].current_replicas * in.variants[i].cost;
      out.planned_replicas += in.variants[i].current_replicas;
    }
  }
  std::string mix;
  for (size_t k = 0; k < cands.size(); ++k) {
    const Cand& c = cands[k];
    out.variants[c.idx].target_replicas = plan[k];
    out.planned_capacity += plan[k] * c.cap;
    out.planned_cost += plan[k] * c.cost;
    out.planned_replicas += plan[k];
  }
  for (int i = 0; i < nv; ++i) {
    if (!out.variants[i].usable) continue;
    const int x = out.variants[i].target_replicas;
    if (x == 0) continue;
    mix += fmt::format("{}{} x {}", mix.empty() ? "" : " + ", x, in.variants[i].name);
  }
  if (mix.empty()) mix = "0 replicas";
  out.ok = true;
  out.summary = fmt::format("{} = {:.2f} req/s for load {:.2f} req/s, {}{}{}", mix,
                            out.planned_capacity, out.load, Money(out.planned_cost),
                            out.covers_load ? "" : " (max replicas cannot carry the load)",
                            out.best_effort ? " (best effort: the request sizes alone miss the "
                                              "tail target)"
                                            : "");
  return out;
}

ModelDecision CombineWithSlo(const ModelInput& in, const ModelDecision& sat,
                             const SloSizing& sizing) {
  ModelDecision out = sat;
  const int nv = static_cast<int>(in.variants.size());
  if (!sizing.ok || static_cast<int>(sizing.variants.size()) != nv) {
    for (VariantDecision& d : out.decisions) {
      d.reason += fmt::format("; SLO sizing unavailable ({}), saturation rule alone",
                              sizing.problem.empty() ? "no sizing" : sizing.problem);
    }
    return out;
  }
  // No usable metrics at all: hold, whatever the model says (never act on missing data).
  if (!sat.analysis.metrics_available) return out;

  auto is_fixed = [&](int i) {
    const VariantDecision& d = sat.decisions[i];
    return d.action == Action::kHold || d.driver == Driver::kPreserved;
  };
  auto usable = [&](int i) { return sizing.variants[i].usable && !is_fixed(i); };
  auto cap_of = [&](int i) { return sizing.variants[i].capacity.max_rate; };
  const std::string load_txt =
      fmt::format("load {:.2f} req/s vs capacity {:.2f} req/s", sizing.load, sizing.current_capacity);

  bool slo_up = false;
  for (int i = 0; i < nv; ++i) {
    if (usable(i) && sizing.variants[i].target_replicas > in.variants[i].current_replicas) {
      slo_up = true;
    }
  }
  const bool sat_up = sat.analysis.should_scale_up;

  if (slo_up) {
    // The SLO plan moves every raised variant at once (pending replicas already counted as
    // capacity). Scale-downs of the plan wait until both rules agree in a later cycle.
    for (int i = 0; i < nv; ++i) {
      if (is_fixed(i)) continue;
      const VariantState& v = in.variants[i];
      VariantDecision& d = out.decisions[i];
      const VariantSizing& vs = sizing.variants[i];
      if (usable(i) && vs.target_replicas > v.current_replicas) {
        d.target_replicas = vs.target_replicas;
        d.driver = Driver::kSlo;
        d.reason = fmt::format(
            "SLO: {}; {:.2f} req/s per replica ({}-limited, batch <= {}); cheapest mix {}: {} -> "
            "{}{}",
            load_txt, vs.capacity.max_rate, vs.capacity.limit, vs.capacity.max_batch,
            sizing.summary, v.current_replicas, d.target_replicas,
            sat_up ? " (saturation also asks for scale-up)" : "");
      } else {
        d.target_replicas = v.current_replicas;
        d.driver = Driver::kSteady;
        d.reason = fmt::format("SLO scale-up goes elsewhere in the cheapest mix {}", sizing.summary);
      }
    }
  } else if (sat_up) {
    for (int i = 0; i < nv; ++i) {
      VariantDecision& d = out.decisions[i];
      if (is_fixed(i)) continue;
      d.reason += fmt::format("; SLO model: {} (saturation alone drives the scale-up)", load_txt);
    }
  } else if (sat.analysis.can_scale_down && sat.transitions.empty() &&
             sat.analysis.complete_data()) {
    // Scale down only when both rules agree, so never while the model is in transition (rule 5)
    // or some Ready pod is silent (rule 7): the saturation decision then holds as it is.
    // Undo the saturation rule's own pick: the SLO model chooses (or vetoes) the replica to drop.
    int sat_pick = -1;
    for (int i = 0; i < nv; ++i) {
      VariantDecision& d = out.decisions[i];
      if (is_fixed(i)) continue;
      if (d.driver == Driver::kSaturation && d.target_replicas < in.variants[i].current_replicas) {
        sat_pick = i;
      }
      d.target_replicas = in.variants[i].current_replicas;
      d.driver = Driver::kSteady;
    }
    // Unlike the saturation rule's floor of one replica per variant, the SLO plan may empty a
    // variant down to its minReplicas (an expensive variant added for a peak must be able to
    // go again) as long as the model keeps at least one replica.
    int total = 0;
    for (const VariantState& v : in.variants) total += v.current_replicas;
    int chosen = -1;
    for (int i = 0; i < nv; ++i) {
      const VariantState& v = in.variants[i];
      if (!usable(i) || v.pending_replicas() > 0 || total - 1 < 1) continue;
      if (sizing.variants[i].target_replicas >= v.current_replicas) continue;
      if (v.current_replicas - 1 < v.min_replicas) continue;
      if (sizing.current_capacity - cap_of(i) + 1e-9 < sizing.load) continue;
      // The replica that buys the least SLO capacity per dollar goes first (not simply the
      // dearest one: a dear variant that carries this workload far better is the one to keep).
      const double ratio = v.cost / cap_of(i);
      const double best = chosen < 0 ? 0 : in.variants[chosen].cost / cap_of(chosen);
      if (chosen < 0 || ratio > best + 1e-12 ||
          (std::abs(ratio - best) <= 1e-12 && v.name > in.variants[chosen].name)) {
        chosen = i;
      }
    }
    for (int i = 0; i < nv; ++i) {
      if (is_fixed(i)) continue;
      const VariantState& v = in.variants[i];
      VariantDecision& d = out.decisions[i];
      if (i == chosen) {
        d.target_replicas = v.current_replicas - 1;
        d.driver = Driver::kSlo;
        d.reason = fmt::format(
            "saturation and SLO agree on scale-down: {}, {:.2f} req/s left after removing one "
            "{} replica; cheapest mix {}: {} -> {}",
            load_txt, sizing.current_capacity - cap_of(i), v.name, sizing.summary,
            v.current_replicas, d.target_replicas);
      } else if (chosen >= 0) {
        d.reason = fmt::format("scale-down goes to {} (SLO cheapest mix {})",
                               in.variants[chosen].name, sizing.summary);
      } else {
        d.reason = fmt::format(
            "saturation finds scale-down safe{} but the SLO model needs the capacity: {}; "
            "cheapest mix {}",
            sat_pick >= 0 ? fmt::format(" ({})", in.variants[sat_pick].name) : "", load_txt,
            sizing.summary);
      }
    }
  } else {
    bool slo_down = false;
    for (int i = 0; i < nv; ++i) {
      if (usable(i) && sizing.variants[i].target_replicas < in.variants[i].current_replicas) {
        slo_down = true;
      }
    }
    for (int i = 0; i < nv; ++i) {
      if (is_fixed(i)) continue;
      VariantDecision& d = out.decisions[i];
      d.reason += slo_down ? fmt::format("; SLO model would shrink to {} but saturation does not "
                                         "agree", sizing.summary)
                           : fmt::format("; SLO model: {}", load_txt);
    }
  }

  for (int i = 0; i < nv; ++i) {
    const VariantState& v = in.variants[i];
    VariantDecision& d = out.decisions[i];
    if (d.action == Action::kHold) continue;
    int t = std::max(d.target_replicas, v.min_replicas);
    if (v.max_replicas) t = std::min(t, *v.max_replicas);
    d.target_replicas = std::max(t, 0);
    d.action = d.target_replicas > v.current_replicas   ? Action::kScaleUp
               : d.target_replicas < v.current_replicas ? Action::kScaleDown
                                                        : Action::kNone;
  }
  return out;
}

SloDecision DecideWithSlo(const ModelInput& in, const SloInput& slo) {
  SloDecision out;
  out.saturation = Decide(in);
  std::vector<bool> fixed(in.variants.size());
  for (size_t i = 0; i < fixed.size(); ++i) {
    const VariantDecision& d = out.saturation.decisions[i];
    fixed[i] = d.action == Action::kHold || d.driver == Driver::kPreserved;
  }
  out.sizing = SizeForSlo(in, slo, fixed);
  out.decision = CombineWithSlo(in, out.saturation, out.sizing);
  return out;
}

}  // namespace wva::core
