// Trace readers and synthetic workload generators (see workload.h).
#include "sim/workload.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace wva::sim {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  return s;
}

bool ParseInt(std::string_view s, int64_t* out) {
  s = Trim(s);
  if (s.empty()) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* out) {
  s = Trim(s);
  if (s.empty()) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(*out);
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "YYYY-MM-DD HH:MM:SS[.fffffff]" -> seconds since the epoch (UTC; the zone does not matter since
// only differences are used).
bool ParseWallClock(std::string_view s, double* out) {
  s = Trim(s);
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
      s[13] != ':' || s[16] != ':') {
    return false;
  }
  int64_t y, mo, d, h, mi, sec;
  if (!ParseInt(s.substr(0, 4), &y) || !ParseInt(s.substr(5, 2), &mo) ||
      !ParseInt(s.substr(8, 2), &d) || !ParseInt(s.substr(11, 2), &h) ||
      !ParseInt(s.substr(14, 2), &mi) || !ParseInt(s.substr(17, 2), &sec)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 0 || h < 0 ||
      mi < 0 || sec < 0) {
    return false;
  }
  double frac = 0;
  std::string_view rest = s.substr(19);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2) {
      return false;
    }
    double scale = 0.1;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') {
        return false;
      }
      frac += (c - '0') * scale;
      scale /= 10;
    }
  }
  *out = static_cast<double>(DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) *
                                 86400 +
                             h * 3600 + mi * 60 + sec) +
         frac;
  return true;
}

int ClampTokens(int64_t v) {
  if (v < 1) {
    return 1;
  }
  if (v > 10'000'000) {
    return 10'000'000;
  }
  return static_cast<int>(v);
}

class TraceWorkload final : public Workload {
 public:
  TraceWorkload(std::string path, double scale, TraceFormat format)
      : path_(std::move(path)), scale_(scale), format_(format) {}

  Status Open() {
    in_.open(path_, std::ios::in | std::ios::binary);
    if (!in_) {
      return NotFoundError(fmt::format("{}: cannot open trace file", path_));
    }
    std::error_code ec;
    size_ = static_cast<double>(std::filesystem::file_size(path_, ec));
    if (ec) {
      size_ = 0;
    }
    if (format_ == TraceFormat::kAuto) {
      // Peek at the first non-blank character: '{' is Mooncake JSONL, anything else is CSV.
      int c;
      while ((c = in_.peek()) != EOF && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
        in_.get();
        if (c == '\n') {
          ++line_;
        }
      }
      if (c == EOF) {
        return InvalidArgumentError(fmt::format("{}:1: empty trace", path_));
      }
      format_ = c == '{' ? TraceFormat::kMooncakeJsonl : TraceFormat::kAzureCsv;
    }
    return OkStatus();
  }

  std::string Describe() const override {
    return fmt::format("trace {} ({}{})", path_,
                       format_ == TraceFormat::kMooncakeJsonl ? "Mooncake JSONL" : "Azure CSV",
                       scale_ != 1.0 ? fmt::format(", time-scale {}", scale_) : "");
  }

  double Progress() const override {
    if (size_ <= 0) {
      return 0;
    }
    const auto pos = const_cast<std::ifstream&>(in_).tellg();
    return pos < 0 ? 1.0 : std::min(1.0, static_cast<double>(pos) / size_);
  }

  StatusOr<bool> Next(Arrival* out) override {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_;
      std::string_view v = Trim(line);
      if (v.empty()) {
        continue;
      }
      if (format_ == TraceFormat::kAzureCsv && !header_seen_) {
        header_seen_ = true;
        if (v.substr(0, 9) == "TIMESTAMP") {
          if (v != "TIMESTAMP,ContextTokens,GeneratedTokens") {
            return Err(Bad("header must be TIMESTAMP,ContextTokens,GeneratedTokens"));
          }
          continue;
        }
      }
      double t = 0;
      int64_t prompt = 0, output = 0;
      if (format_ == TraceFormat::kAzureCsv) {
        const size_t c1 = v.find(',');
        const size_t c2 = c1 == std::string_view::npos ? c1 : v.find(',', c1 + 1);
        if (c2 == std::string_view::npos || v.find(',', c2 + 1) != std::string_view::npos) {
          return Err(Bad("expected 3 fields TIMESTAMP,ContextTokens,GeneratedTokens"));
        }
        double wall = 0;
        if (!ParseWallClock(v.substr(0, c1), &wall)) {
          return Err(Bad(fmt::format("bad TIMESTAMP \"{}\" (want YYYY-MM-DD HH:MM:SS.fffffff)",
                                     v.substr(0, c1))));
        }
        if (!ParseInt(v.substr(c1 + 1, c2 - c1 - 1), &prompt) || prompt < 0) {
          return Err(Bad(fmt::format("bad ContextTokens \"{}\"", v.substr(c1 + 1, c2 - c1 - 1))));
        }
        if (!ParseInt(v.substr(c2 + 1), &output) || output < 0) {
          return Err(Bad(fmt::format("bad GeneratedTokens \"{}\"", v.substr(c2 + 1))));
        }
        if (!origin_set_) {
          origin_ = wall;
          origin_set_ = true;
        }
        t = wall - origin_;
      } else {
        nlohmann::json j = nlohmann::json::parse(v, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object()) {
          return Err(Bad("not a JSON object"));
        }
        auto num = [&](const char* key, double* d) -> Status {
          auto it = j.find(key);
          if (it == j.end()) {
            return Bad(fmt::format("missing \"{}\"", key));
          }
          if (!it->is_number()) {
            return Bad(fmt::format("\"{}\" is not a number", key));
          }
          *d = it->get<double>();
          if (!std::isfinite(*d) || *d < 0) {
            return Bad(fmt::format("\"{}\" is negative", key));
          }
          return OkStatus();
        };
        double ts, in, outl;
        WVA_RETURN_IF_ERROR(num("timestamp", &ts));
        WVA_RETURN_IF_ERROR(num("input_length", &in));
        WVA_RETURN_IF_ERROR(num("output_length", &outl));
        t = ts / 1000.0;
        prompt = static_cast<int64_t>(in);
        output = static_cast<int64_t>(outl);
      }
      t *= scale_;
      if (t < last_t_) {
        t = last_t_;
      }
      last_t_ = t;
      out->time_s = t;
      out->prompt_tokens = ClampTokens(prompt);
      out->output_tokens = ClampTokens(output);
      ++arrivals_;
      return true;
    }
    if (in_.bad()) {
      return Err(DataLossError(fmt::format("{}:{}: read error", path_, line_)));
    }
    // A trace without a single request (only blank lines, or a CSV header alone) is a mistake,
    // not a workload: simulating it would report a perfect score for nothing.
    if (arrivals_ == 0) {
      return Err(InvalidArgumentError(
          fmt::format("{}: the trace has no requests (empty, or only a header)", path_)));
    }
    return false;
  }

 private:
  Status Bad(std::string_view problem) const {
    return InvalidArgumentError(fmt::format("{}:{}: {}", path_, line_, problem));
  }

  std::string path_;
  double scale_;
  TraceFormat format_;
  std::ifstream in_;
  int64_t line_ = 0;
  int64_t arrivals_ = 0;  // requests returned by Next so far
  bool header_seen_ = false;
  bool origin_set_ = false;
  double origin_ = 0;
  double last_t_ = 0;
  double size_ = 0;
};

enum class Kind { kPoisson, kOnOff, kDiurnal };

class SyntheticWorkload final : public Workload {
 public:
  SyntheticWorkload(Kind kind, std::map<std::string, double> p, std::string spec, uint64_t seed)
      : kind_(kind), p_(std::move(p)), spec_(std::move(spec)), rng_(seed) {
    duration_ = p_["duration"];
    prompt_ =
        std::lognormal_distribution<double>(std::log(p_["prompt_median"]), p_["prompt_sigma"]);
    output_ =
        std::lognormal_distribution<double>(std::log(p_["output_median"]), p_["output_sigma"]);
    max_tokens_ = p_["max_tokens"];
    switch (kind_) {
      case Kind::kPoisson:
        peak_ = p_["rate"];
        break;
      case Kind::kOnOff:
        peak_ = std::max(p_["rate_on"], p_["rate_off"]);
        break;
      case Kind::kDiurnal:
        peak_ = std::max(p_["min_rate"], p_["max_rate"]);
        break;
    }
  }

  std::string Describe() const override { return "synthetic " + spec_; }
  double Progress() const override { return duration_ > 0 ? std::min(1.0, t_ / duration_) : 1.0; }

  double Rate(double t) const {
    switch (kind_) {
      case Kind::kPoisson:
        return p_.at("rate");
      case Kind::kOnOff: {
        const double on = p_.at("on"), off = p_.at("off");
        const double phase = std::fmod(t, on + off);
        return phase < off ? p_.at("rate_off") : p_.at("rate_on");
      }
      case Kind::kDiurnal: {
        const double lo = p_.at("min_rate"), hi = p_.at("max_rate"), period = p_.at("period");
        return lo + (hi - lo) * (1 - std::cos(2 * std::numbers::pi * t / period)) / 2;
      }
    }
    return 0;
  }

  StatusOr<bool> Next(Arrival* out) override {
    if (peak_ <= 0) {
      return false;
    }
    std::exponential_distribution<double> gap(peak_);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    while (true) {
      t_ += gap(rng_);
      if (t_ >= duration_) {
        return false;
      }
      if (u(rng_) * peak_ <= Rate(t_)) {
        break;  // thinning
      }
    }
    out->time_s = t_;
    out->prompt_tokens = static_cast<int>(std::clamp(std::round(prompt_(rng_)), 1.0, max_tokens_));
    out->output_tokens = static_cast<int>(std::clamp(std::round(output_(rng_)), 1.0, max_tokens_));
    return true;
  }

 private:
  Kind kind_;
  std::map<std::string, double> p_;
  std::string spec_;
  std::mt19937_64 rng_;
  std::lognormal_distribution<double> prompt_, output_;
  double duration_ = 0, max_tokens_ = 0, peak_ = 0, t_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<Workload>> OpenTrace(const std::string& path, double time_scale,
                                              TraceFormat format) {
  if (!(time_scale > 0) || !std::isfinite(time_scale)) {
    return Err(InvalidArgumentError("--time-scale must be > 0"));
  }
  auto w = std::make_unique<TraceWorkload>(path, time_scale, format);
  WVA_RETURN_IF_ERROR(w->Open());
  return std::unique_ptr<Workload>(std::move(w));
}

StatusOr<std::unique_ptr<Workload>> MakeSynthetic(std::string_view spec, uint64_t seed) {
  const size_t colon = spec.find(':');
  const std::string kind_name(spec.substr(0, colon));
  Kind kind;
  std::map<std::string, double> p = {{"duration", 1800},    {"prompt_median", 512},
                                     {"prompt_sigma", 0.8}, {"output_median", 128},
                                     {"output_sigma", 0.8}, {"max_tokens", 16384}};
  if (kind_name == "poisson") {
    kind = Kind::kPoisson;
    p["rate"] = 5;
  } else if (kind_name == "onoff") {
    kind = Kind::kOnOff;
    p["rate_on"] = 20;
    p["rate_off"] = 2;
    p["on"] = 120;
    p["off"] = 300;
  } else if (kind_name == "diurnal") {
    kind = Kind::kDiurnal;
    p["min_rate"] = 1;
    p["max_rate"] = 30;
    p["period"] = -1;  // = duration
  } else {
    return Err(InvalidArgumentError(
        fmt::format("--workload: unknown kind \"{}\" (poisson, onoff, diurnal)", kind_name)));
  }
  std::string_view rest = colon == std::string_view::npos ? "" : spec.substr(colon + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view kv = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) {
      return Err(InvalidArgumentError(fmt::format("--workload: \"{}\" is not key=value", kv)));
    }
    const std::string key(Trim(kv.substr(0, eq)));
    double value;
    if (!p.count(key)) {
      return Err(InvalidArgumentError(
          fmt::format("--workload: unknown key \"{}\" for {}", key, kind_name)));
    }
    if (!ParseDouble(kv.substr(eq + 1), &value) || value < 0) {
      return Err(
          InvalidArgumentError(fmt::format("--workload: {} must be a non-negative number", key)));
    }
    p[key] = value;
  }
  if (p["period"] < 0) {
    p["period"] = p["duration"];
  }
  for (const char* k : {"prompt_median", "output_median", "max_tokens"}) {
    if (p[k] < 1) {
      return Err(InvalidArgumentError(fmt::format("--workload: {} must be >= 1", k)));
    }
  }
  if (kind == Kind::kOnOff && p["on"] + p["off"] <= 0) {
    return Err(InvalidArgumentError("--workload: on + off must be > 0"));
  }
  if (kind == Kind::kDiurnal && p["period"] <= 0) {
    return Err(InvalidArgumentError("--workload: period must be > 0"));
  }
  return std::unique_ptr<Workload>(
      std::make_unique<SyntheticWorkload>(kind, std::move(p), std::string(spec), seed));
}

}  // namespace wva::sim
