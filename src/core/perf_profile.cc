// The replica profile's validation and its one parser (canonical keys, deprecated aliases).
#include "core/perf_profile.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

namespace wva::core {
namespace {

Status NonNegative(const char* key, double v, bool allow_zero) {
  if (!std::isfinite(v) || v < 0 || (!allow_zero && v == 0)) {
    return InvalidArgumentError(
        fmt::format("{}: {} must be {}", key, v, allow_zero ? ">= 0" : "> 0"));
  }
  return OkStatus();
}

Status AtLeast(const char* key, int64_t v, int64_t min) {
  if (v < min) {
    return InvalidArgumentError(fmt::format("{}: {} must be >= {}", key, v, min));
  }
  return OkStatus();
}

// One canonical key and the spellings it was known by before (deprecated, still accepted).
struct KeySpec {
  const char* canonical;
  std::vector<const char*> aliases;
  bool integer;
};

const std::vector<KeySpec>& Keys() {
  static const std::vector<KeySpec> keys = {
      {"alpha", {"alphaMs", "alpha_ms"}, false},
      {"beta", {"betaMs", "beta_ms"}, false},
      {"gamma", {"gammaMs", "gamma_ms"}, false},
      {"delta", {"deltaMs", "delta_ms"}, false},
      {"maxBatch", {"maxNumSeqs", "max_seqs"}, true},
      {"kvCapacityTokens", {}, true},
      {"numGpuBlocks", {"blocks"}, true},
      {"maxBatchedTokens", {"maxNumBatchedTokens"}, true},
      {"blockSize", {"block_size"}, true},
      {"maxModelLen", {"max_model_len"}, true},
  };
  return keys;
}

// The canonical key of `key`, or nullptr when it is not a profile key.
const KeySpec* Lookup(const std::string& key) {
  for (const KeySpec& k : Keys()) {
    if (key == k.canonical) {
      return &k;
    }
    for (const char* a : k.aliases) {
      if (key == a) {
        return &k;
      }
    }
  }
  return nullptr;
}

std::string AllowedList(const PerfProfileParseOptions& o) {
  std::string s;
  for (const KeySpec& k : Keys()) {
    s += (s.empty() ? "" : ", ") + std::string(k.canonical);
  }
  if (o.resolve_base) {
    s += ", base";
  }
  for (const std::string& k : o.caller_keys) {
    s += ", " + k;
  }
  return s;
}

// A finite number written as a YAML/JSON scalar (strings such as "nan" or "1e999" are refused).
StatusOr<double> Number(const YAML::Node& n) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s != "true" && s != "false" && !s.empty()) {
      try {
        size_t pos = 0;
        const double v = std::stod(s, &pos);
        if (pos == s.size() && std::isfinite(v)) {
          return v;
        }
      } catch (...) {
      }
    }
  }
  return Err(InvalidArgumentError(fmt::format("expected a finite number, got \"{}\"",
                                              n.IsScalar() ? n.Scalar() : "<non-scalar>")));
}

StatusOr<int64_t> Integer(const YAML::Node& n) {
  WVA_ASSIGN_OR_RETURN(double d, Number(n));
  if (d != std::floor(d) || d < 0 || d > 1e12) {
    return Err(
        InvalidArgumentError(fmt::format("{} is not a non-negative integer (at most 1e12)", d)));
  }
  return static_cast<int64_t>(d);
}

// "<where>.<key>: <problem>", leaving out the parts that are empty.
Status Fail(const PerfProfileParseOptions& o, const std::string& key, const std::string& problem) {
  const std::string field = o.where.empty() ? key : key.empty() ? o.where : o.where + "." + key;
  return InvalidArgumentError(field.empty() ? problem : field + ": " + problem);
}

int ClampInt(int64_t v) { return static_cast<int>(std::min<int64_t>(v, 1'000'000'000)); }

}  // namespace

Status PerfProfile::Validate() const {
  WVA_RETURN_IF_ERROR(NonNegative("alpha", alpha_ms, false));
  WVA_RETURN_IF_ERROR(NonNegative("beta", beta_ms, true));
  WVA_RETURN_IF_ERROR(NonNegative("gamma", gamma_ms, true));
  WVA_RETURN_IF_ERROR(NonNegative("delta", delta_ms, true));
  WVA_RETURN_IF_ERROR(AtLeast("maxBatch", max_batch, 1));
  WVA_RETURN_IF_ERROR(AtLeast("kvCapacityTokens", kv_capacity_tokens, 0));
  WVA_RETURN_IF_ERROR(AtLeast("maxBatchedTokens", max_batched_tokens, 0));
  WVA_RETURN_IF_ERROR(AtLeast("blockSize", block_size, 1));
  WVA_RETURN_IF_ERROR(AtLeast("maxModelLen", max_model_len, 0));
  return OkStatus();
}

Status PerfProfile::ValidateForReplica() const {
  WVA_RETURN_IF_ERROR(Validate());
  if (kv_capacity_tokens < block_size) {
    return InvalidArgumentError(
        fmt::format("kvCapacityTokens: {} must be at least one block ({} tokens)",
                    kv_capacity_tokens, block_size));
  }
  WVA_RETURN_IF_ERROR(AtLeast("maxBatchedTokens", max_batched_tokens, 1));
  WVA_RETURN_IF_ERROR(AtLeast("maxModelLen", max_model_len, 2));
  return OkStatus();
}

StatusOr<PerfProfile> ParsePerfProfile(const YAML::Node& node,
                                       const PerfProfileParseOptions& options) {
  if (node.IsScalar() && options.resolve_base) {
    auto p = options.resolve_base(node.Scalar());
    if (!p) {
      return Err(Fail(options, "", p.error().message()));
    }
    return p;
  }
  if (!node.IsMap()) {
    return Err(Fail(options, "",
                    fmt::format("expected a mapping of key to value{}",
                                options.resolve_base ? " or the name of a built-in profile" : "")));
  }
  // Pass 1: which canonical key each entry sets, refusing unknown keys and double spellings.
  std::map<std::string, std::pair<std::string, YAML::Node>> given;  // canonical -> (as written, v)
  std::optional<PerfProfile> base;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
    const YAML::Node value = it->second;  // a copy: the iterator yields a temporary proxy
    if (std::find(options.caller_keys.begin(), options.caller_keys.end(), key) !=
        options.caller_keys.end()) {
      continue;
    }
    if (key == "base" && options.resolve_base) {
      if (!value.IsScalar()) {
        return Err(Fail(options, "base", "expected the name of a built-in profile"));
      }
      auto p = options.resolve_base(value.Scalar());
      if (!p) {
        return Err(Fail(options, "base", p.error().message()));
      }
      base = *p;
      continue;
    }
    const KeySpec* spec = Lookup(key);
    if (spec == nullptr) {
      return Err(
          Fail(options, key, fmt::format("unknown key (allowed: {})", AllowedList(options))));
    }
    auto [at, fresh] = given.try_emplace(spec->canonical, key, value);
    if (!fresh) {
      return Err(Fail(options, key,
                      fmt::format("given together with {} (the same key under two spellings; "
                                  "keep {})",
                                  at->second.first, spec->canonical)));
    }
  }
  if (given.count("kvCapacityTokens") && given.count("numGpuBlocks")) {
    return Err(Fail(options, given["numGpuBlocks"].first,
                    fmt::format("given together with {} (both set the KV capacity; keep "
                                "kvCapacityTokens)",
                                given["kvCapacityTokens"].first)));
  }
  // Pass 2: the values, over the named base or the caller's defaults.
  PerfProfile p = base ? *base : options.defaults;
  int64_t blocks = -1;
  for (const auto& [canonical, entry] : given) {
    const auto& [written, value] = entry;
    if (canonical == "alpha" || canonical == "beta" || canonical == "gamma" ||
        canonical == "delta") {
      auto d = Number(value);
      if (!d) {
        return Err(Fail(options, written, d.error().message()));
      }
      double* slot = canonical == "alpha"   ? &p.alpha_ms
                     : canonical == "beta"  ? &p.beta_ms
                     : canonical == "gamma" ? &p.gamma_ms
                                            : &p.delta_ms;
      *slot = *d;
      continue;
    }
    auto integer = Integer(value);
    if (!integer) {
      return Err(Fail(options, written, integer.error().message()));
    }
    const int64_t n = *integer;
    if (canonical == "maxBatch") {
      p.max_batch = ClampInt(n);
    } else if (canonical == "kvCapacityTokens") {
      p.kv_capacity_tokens = n;
    } else if (canonical == "numGpuBlocks") {
      blocks = n;
    } else if (canonical == "maxBatchedTokens") {
      p.max_batched_tokens = ClampInt(n);
    } else if (canonical == "blockSize") {
      p.block_size = ClampInt(n);
    } else if (canonical == "maxModelLen") {
      p.max_model_len = ClampInt(n);
    }
  }
  if (blocks >= 0) {  // after blockSize: the capacity is blocks of the final block size
    p.kv_capacity_tokens = blocks * p.block_size;
  }
  if (!(p.alpha_ms > 0) && !given.count("alpha")) {
    return Err(Fail(options, "alpha", "required (decode step time in ms)"));
  }
  if (Status s = options.for_replica ? p.ValidateForReplica() : p.Validate(); !s.ok()) {
    // Validate names the canonical key; name it as the document wrote it.
    const std::string& m = s.message();
    const std::string key = m.substr(0, m.find(": "));
    auto g = given.find(key);
    const std::string written = g == given.end() ? key : g->second.first;
    return Err(Fail(options, written, m.substr(key.size() + 2)));
  }
  return p;
}

StatusOr<PerfProfile> ParsePerfProfile(const std::string& text) {
  try {
    return ParsePerfProfile(YAML::Load(text), PerfProfileParseOptions{});
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(fmt::format("invalid document: {}", e.msg)));
  }
}

}  // namespace wva::core
