#include "core/snapshot.h"

#include "core/saturation.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace wva::core {
namespace {

// A small validating reader over a YAML node that knows its own path.
class Field {
 public:
  Field(const YAML::Node& n, std::string path) : n_(n), path_(std::move(path)) {}

  const YAML::Node& node() const { return n_; }
  const std::string& path() const { return path_; }
  bool present() const { return n_.IsDefined() && !n_.IsNull(); }

  Status Error(std::string_view problem) const {
    return InvalidArgumentError(fmt::format("{}: {}", path_.empty() ? "<root>" : path_, problem));
  }

  Field Child(const std::string& key) const {
    return Field(n_[key], path_.empty() ? key : path_ + "." + key);
  }
  Field At(size_t i) const { return Field(n_[i], fmt::format("{}[{}]", path_, i)); }

  Status ExpectMap(const std::set<std::string>& allowed) const {
    if (!n_.IsMap()) {
      return Error("expected a mapping");
    }
    for (auto it = n_.begin(); it != n_.end(); ++it) {
      std::string k = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) {
          list += (list.empty() ? "" : ", ") + a;
        }
        return Child(k).Error(fmt::format("unknown field (allowed: {})", list));
      }
    }
    return OkStatus();
  }

  StatusOr<std::string> String(bool required, std::string def = "") const {
    if (!present()) {
      if (required) {
        return Err(Error("required field is missing"));
      }
      return def;
    }
    if (!n_.IsScalar()) {
      return Err(Error("expected a string"));
    }
    return n_.Scalar();
  }

  // Numbers: NaN is allowed only when allow_nan (metric samples); null counts as missing.
  StatusOr<double> Number(bool required, double def, bool allow_nan = false) const {
    if (!present()) {
      if (required) {
        return Err(Error("required field is missing"));
      }
      return def;
    }
    if (!n_.IsScalar()) {
      return Err(Error("expected a number"));
    }
    const std::string& s = n_.Scalar();
    if (s == ".nan" || s == ".NaN" || s == ".NAN" || s == "NaN" || s == "nan") {
      if (allow_nan) {
        return std::numeric_limits<double>::quiet_NaN();
      }
      return Err(Error("NaN is not allowed here"));
    }
    if (s == "true" || s == "false") {
      return Err(Error(fmt::format("expected a number, got {}", s)));
    }
    try {
      size_t pos = 0;
      double v = std::stod(s, &pos);
      if (pos != s.size()) {
        throw std::invalid_argument(s);
      }
      if (!std::isfinite(v)) {
        return Err(Error(fmt::format("expected a finite number, got {}", s)));
      }
      return v;
    } catch (...) {
      return Err(Error(fmt::format("expected a number, got \"{}\"", s)));
    }
  }

  StatusOr<int> Int(bool required, int def, int min_value) const {
    WVA_ASSIGN_OR_RETURN(double v, Number(required, def));
    if (v != std::floor(v)) {
      return Err(Error(fmt::format("expected an integer, got {}", v)));
    }
    if (v < min_value) {
      return Err(Error(fmt::format("{} must be >= {}", v, min_value)));
    }
    if (v > 1e6) {
      return Err(Error(fmt::format("{} is unreasonably large (max 1000000)", v)));
    }
    return static_cast<int>(v);
  }

 private:
  YAML::Node n_;
  std::string path_;
};

StatusOr<YAML::Node> LoadYaml(std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(fmt::format("line {}, column {}: invalid YAML/JSON: {}",
                                                e.mark.line + 1, e.mark.column + 1, e.msg)));
  }
}

Status ParseConfigBlock(const Field& f, SaturationEntry* e) {
  WVA_RETURN_IF_ERROR(f.ExpectMap({"kvCacheThreshold", "queueLengthThreshold", "kvSpareTrigger",
                                   "queueSpareTrigger", "analyzers", "analyzerName",
                                   "scaleUpThreshold", "scaleDownBoundary"}));
  // The analyzer choice and the V2 thresholds read exactly as in the ConfigMap's default entry.
  YAML::Node v2;
  for (const char* k : {"analyzers", "analyzerName", "scaleUpThreshold", "scaleDownBoundary"}) {
    if (f.Child(k).present()) {
      v2[k] = f.Child(k).node();
    }
  }
  if (v2.size() > 0) {
    ConfigError err;
    auto parsed = ParseSaturationEntry(kDefaultConfigKey, YAML::Dump(v2), &err);
    if (!parsed) {
      return f.Child(err.field.empty() ? "analyzers" : err.field).Error(err.message);
    }
    e->analyzer = parsed->analyzer;
    e->scale_up_threshold = parsed->scale_up_threshold;
    e->scale_down_boundary = parsed->scale_down_boundary;
  }
  struct Slot {
    const char* name;
    std::optional<double>* out;
    bool fraction;
  } slots[] = {{"kvCacheThreshold", &e->kv_cache_threshold, true},
               {"queueLengthThreshold", &e->queue_length_threshold, false},
               {"kvSpareTrigger", &e->kv_spare_trigger, true},
               {"queueSpareTrigger", &e->queue_spare_trigger, false}};
  for (const Slot& s : slots) {
    Field c = f.Child(s.name);
    if (!c.present()) {
      continue;
    }
    WVA_ASSIGN_OR_RETURN(double v, c.Number(true, 0));
    if (s.fraction && (v < 0 || v > 1)) {
      return c.Error(fmt::format("{} is outside [0, 1]", v));
    }
    if (!s.fraction && v < 0) {
      return c.Error(fmt::format("{} must be >= 0", v));
    }
    *s.out = v;
  }
  return OkStatus();
}

// SLO sizing blocks (issue #8). Field names match wva-slo-config and the VA spec fields.
Status ParseSloBlock(const Field& f, SloTargetsPatch* t) {
  WVA_RETURN_IF_ERROR(
      f.ExpectMap({"ttftMs", "itlMs", "percentile", "itlPercentile", "headroom", "drainSeconds"}));
  struct Slot {
    const char* name;
    std::optional<double>* out;
  } slots[] = {{"ttftMs", &t->ttft_ms},        {"itlMs", &t->itl_ms},
               {"percentile", &t->percentile}, {"itlPercentile", &t->itl_percentile},
               {"headroom", &t->headroom},     {"drainSeconds", &t->drain_seconds}};
  SloTargets probe;
  for (const Slot& s : slots) {
    Field c = f.Child(s.name);
    if (!c.present()) {
      continue;
    }
    WVA_ASSIGN_OR_RETURN(double v, c.Number(true, 0));
    *s.out = v;
  }
  t->ApplyTo(&probe);
  if (Status st = probe.Validate(); !st.ok()) {
    const auto colon = st.message().find(": ");
    return f.Child(st.message().substr(0, colon)).Error(st.message().substr(colon + 2));
  }
  return OkStatus();
}

Status ParseTokens(const Field& f, TokenStats* t) {
  if (f.node().IsScalar()) {
    WVA_ASSIGN_OR_RETURN(t->mean, f.Number(true, 0));
  } else {
    WVA_RETURN_IF_ERROR(f.ExpectMap({"mean", "stddev"}));
    WVA_ASSIGN_OR_RETURN(t->mean, f.Child("mean").Number(true, 0));
    WVA_ASSIGN_OR_RETURN(t->stddev, f.Child("stddev").Number(false, 0));
  }
  if (t->mean < 0) {
    return f.Error(fmt::format("mean {} must be >= 0", t->mean));
  }
  if (t->stddev < 0) {
    return f.Error(fmt::format("stddev {} must be >= 0", t->stddev));
  }
  return OkStatus();
}

Status ParseWorkloadBlock(const Field& f, Workload* w) {
  WVA_RETURN_IF_ERROR(f.ExpectMap({"arrivalRate", "inputTokens", "outputTokens"}));
  WVA_ASSIGN_OR_RETURN(w->arrival_rate, f.Child("arrivalRate").Number(true, 0));
  if (w->arrival_rate < 0) {
    return f.Child("arrivalRate").Error("must be >= 0");
  }
  Field in = f.Child("inputTokens"), out = f.Child("outputTokens");
  if (!in.present()) {
    return in.Error("required field is missing");
  }
  if (!out.present()) {
    return out.Error("required field is missing");
  }
  WVA_RETURN_IF_ERROR(ParseTokens(in, &w->input));
  WVA_RETURN_IF_ERROR(ParseTokens(out, &w->output));
  if (w->output.mean < 1) {
    return out.Error(fmt::format("mean {} must be >= 1", w->output.mean));
  }
  return OkStatus();
}

Status ParseProfileBlock(const Field& f, PerfProfile* p) {
  PerfProfileParseOptions o;
  o.where = f.path();
  WVA_ASSIGN_OR_RETURN(*p, ParsePerfProfile(f.node(), o));
  return OkStatus();
}

StatusOr<Snapshot> ParseSnapshotImpl(std::string_view text) {
  WVA_ASSIGN_OR_RETURN(YAML::Node root, LoadYaml(text));
  Field r(root, "");
  if (!root.IsMap()) {
    return Err(r.Error("expected a mapping with model, variants and replicas"));
  }
  WVA_RETURN_IF_ERROR(
      r.ExpectMap({"model", "config", "variants", "replicas", "slo", "workload", "tokens"}));
  Snapshot snap;
  ModelInput& in = snap.input;

  Field model = r.Child("model");
  if (!model.present()) {
    return Err(model.Error("required field is missing"));
  }
  WVA_RETURN_IF_ERROR(model.ExpectMap({"id", "namespace"}));
  WVA_ASSIGN_OR_RETURN(in.model_id, model.Child("id").String(true));
  if (in.model_id.empty()) {
    return Err(model.Child("id").Error("must not be empty"));
  }
  WVA_ASSIGN_OR_RETURN(in.namespace_, model.Child("namespace").String(false, "default"));

  Field config = r.Child("config");
  if (config.present()) {
    WVA_RETURN_IF_ERROR(ParseConfigBlock(config, &snap.config_entry));
    snap.config_given = true;
  }
  if (Field slo = r.Child("slo"); slo.present()) {
    WVA_RETURN_IF_ERROR(ParseSloBlock(slo, &snap.slo));
    snap.slo_given = true;
  }
  if (Field wl = r.Child("workload"); wl.present()) {
    WVA_RETURN_IF_ERROR(ParseWorkloadBlock(wl, &snap.workload));
    snap.workload_given = true;
    in.mean_prompt_tokens = snap.workload.input.mean;
    in.mean_output_tokens = snap.workload.output.mean;
  }
  // Token statistics of the token-based analyzer (V2): mean prompt and output tokens.
  if (Field tk = r.Child("tokens"); tk.present()) {
    WVA_RETURN_IF_ERROR(tk.ExpectMap({"meanPrompt", "meanOutput"}));
    WVA_ASSIGN_OR_RETURN(in.mean_prompt_tokens, tk.Child("meanPrompt").Number(true, 0));
    WVA_ASSIGN_OR_RETURN(in.mean_output_tokens, tk.Child("meanOutput").Number(true, 0));
    if (in.mean_prompt_tokens < 0) {
      return Err(tk.Child("meanPrompt").Error("must be >= 0"));
    }
    if (in.mean_output_tokens < 0) {
      return Err(tk.Child("meanOutput").Error("must be >= 0"));
    }
  }

  Field variants = r.Child("variants");
  if (!variants.present()) {
    return Err(variants.Error("required field is missing"));
  }
  if (!variants.node().IsSequence()) {
    return Err(variants.Error("expected a list"));
  }
  if (variants.node().size() == 0) {
    return Err(variants.Error("at least one variant is required"));
  }
  std::map<std::string, int> index;
  std::vector<bool> ready_given;
  for (size_t i = 0; i < variants.node().size(); ++i) {
    Field v = variants.At(i);
    WVA_RETURN_IF_ERROR(
        v.ExpectMap({"name", "accelerator", "cost", "currentReplicas", "readyReplicas",
                     "desiredReplicas", "minReplicas", "maxReplicas", "profile",
                     "maxNumBatchedTokens", "maxNumSeqs", "k2History"}));
    VariantState s;
    WVA_ASSIGN_OR_RETURN(s.name, v.Child("name").String(true));
    if (s.name.empty()) {
      return Err(v.Child("name").Error("must not be empty"));
    }
    if (index.count(s.name)) {
      return Err(v.Child("name").Error(fmt::format("duplicate variant name \"{}\"", s.name)));
    }
    WVA_ASSIGN_OR_RETURN(s.accelerator, v.Child("accelerator").String(false, "unknown"));
    WVA_ASSIGN_OR_RETURN(s.cost, v.Child("cost").Number(false, 10.0));
    if (s.cost < 0) {
      return Err(v.Child("cost").Error(fmt::format("{} must be >= 0", s.cost)));
    }
    WVA_ASSIGN_OR_RETURN(s.current_replicas, v.Child("currentReplicas").Int(true, 0, 0));
    ready_given.push_back(v.Child("readyReplicas").present());
    WVA_ASSIGN_OR_RETURN(s.ready_replicas, v.Child("readyReplicas").Int(false, 0, 0));
    WVA_ASSIGN_OR_RETURN(s.desired_replicas, v.Child("desiredReplicas").Int(false, 0, 0));
    WVA_ASSIGN_OR_RETURN(s.min_replicas, v.Child("minReplicas").Int(false, 1, 0));
    if (v.Child("maxReplicas").present()) {
      WVA_ASSIGN_OR_RETURN(int mx, v.Child("maxReplicas").Int(true, 0, 1));
      if (mx < s.min_replicas) {
        return Err(v.Child("maxReplicas")
                       .Error(fmt::format("{} is less than minReplicas {}", mx, s.min_replicas)));
      }
      s.max_replicas = mx;
    }
    // Token-based analyzer (V2): vLLM arguments and the compute-bound history.
    struct Opt {
      const char* name;
      std::optional<double>* out;
    } opts[] = {{"maxNumBatchedTokens", &s.max_num_batched_tokens},
                {"maxNumSeqs", &s.max_num_seqs},
                {"k2History", &s.k2_history}};
    for (const Opt& o : opts) {
      if (Field c = v.Child(o.name); c.present()) {
        WVA_ASSIGN_OR_RETURN(double x, c.Number(true, 0));
        if (x <= 0) {
          return Err(c.Error(fmt::format("{} must be > 0", x)));
        }
        *o.out = x;
      }
    }
    std::optional<PerfProfile> profile;
    if (Field pf = v.Child("profile"); pf.present()) {
      PerfProfile p;
      WVA_RETURN_IF_ERROR(ParseProfileBlock(pf, &p));
      profile = p;
    }
    snap.profiles.push_back(profile);
    index[s.name] = static_cast<int>(i);
    in.variants.push_back(std::move(s));
  }

  Field replicas = r.Child("replicas");
  std::vector<int> usable(in.variants.size(), 0);
  if (replicas.present()) {
    if (!replicas.node().IsSequence()) {
      return Err(replicas.Error("expected a list"));
    }
    for (size_t i = 0; i < replicas.node().size(); ++i) {
      Field p = replicas.At(i);
      WVA_RETURN_IF_ERROR(
          p.ExpectMap({"pod", "variant", "kvCacheUsage", "queueLength", "kvCapacityTokens"}));
      WVA_ASSIGN_OR_RETURN(std::string pod, p.Child("pod").String(false));
      WVA_ASSIGN_OR_RETURN(std::string variant, p.Child("variant").String(true));
      auto it = index.find(variant);
      if (it == index.end()) {
        return Err(p.Child("variant").Error(fmt::format("unknown variant \"{}\"", variant)));
      }
      ReplicaSample s;
      s.variant = it->second;
      s.pod = pod;
      // num_gpu_blocks x block_size (vllm:cache_config_info), for the token-based analyzer.
      WVA_ASSIGN_OR_RETURN(s.kv_capacity_tokens, p.Child("kvCapacityTokens").Number(false, 0));
      if (s.kv_capacity_tokens < 0) {
        return Err(p.Child("kvCapacityTokens").Error("must be >= 0"));
      }
      // NaN (or null) marks a replica whose metric is unusable this cycle: it is dropped.
      Field kv = p.Child("kvCacheUsage");
      Field q = p.Child("queueLength");
      if (!kv.node().IsDefined() && !q.node().IsDefined()) {
        // A Ready pod that reported nothing this cycle (rule 7: it blocks scale-down).
        s.silent = true;
        in.replicas.push_back(s);
        snap.pods.push_back(std::move(pod));
        continue;
      }
      if (!kv.node().IsDefined()) {
        return Err(kv.Error("required field is missing"));
      }
      if (!q.node().IsDefined()) {
        return Err(q.Error("required field is missing"));
      }
      const double nan = std::numeric_limits<double>::quiet_NaN();
      WVA_ASSIGN_OR_RETURN(s.kv_cache_usage, kv.Number(false, nan, true));
      WVA_ASSIGN_OR_RETURN(s.queue_length, q.Number(false, nan, true));
      if (s.kv_cache_usage < 0 || s.kv_cache_usage > 1) {
        return Err(kv.Error(fmt::format("{} is outside [0, 1]", s.kv_cache_usage)));
      }
      if (s.queue_length < 0) {
        return Err(q.Error(fmt::format("{} must be >= 0", s.queue_length)));
      }
      if (UsableSample(s, static_cast<int>(in.variants.size()))) {
        ++usable[s.variant];
      }
      in.replicas.push_back(s);
      snap.pods.push_back(std::move(pod));
    }
  }
  // readyReplicas defaults to the replicas of the variant that report usable metrics.
  for (size_t i = 0; i < in.variants.size(); ++i) {
    if (!ready_given[i]) {
      in.variants[i].ready_replicas = usable[i];
    }
  }
  return snap;
}

}  // namespace

StatusOr<Snapshot> ParseSnapshot(std::string_view text) {
  try {
    return ParseSnapshotImpl(text);
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(fmt::format("invalid document: {}", e.msg)));
  }
}

StatusOr<SaturationConfigSet> ParseConfigFile(std::string_view text) {
  YAML::Node root;
  try {
    WVA_ASSIGN_OR_RETURN(root, LoadYaml(text));
    if (!root.IsMap()) {
      return Err(InvalidArgumentError("expected a ConfigMap, its data, or an entry"));
    }
    std::map<std::string, std::string> data;
    YAML::Node data_node = root;
    if (root["kind"] && root["data"]) {
      data_node = root["data"];
      if (!data_node.IsMap()) {
        return Err(InvalidArgumentError("data: expected a mapping"));
      }
    } else if (root["kvCacheThreshold"] || root["queueLengthThreshold"] || root["kvSpareTrigger"] ||
               root["queueSpareTrigger"] || root["analyzers"] || root["analyzerName"] ||
               root["scaleUpThreshold"] || root["scaleDownBoundary"]) {
      // A single entry: treat it as the default.
      data[kDefaultConfigKey] = std::string(text);
      data_node = YAML::Node();
    }
    if (data_node.IsMap()) {
      for (auto it = data_node.begin(); it != data_node.end(); ++it) {
        const std::string key = it->first.Scalar();
        if (!it->second.IsScalar()) {
          return Err(InvalidArgumentError(fmt::format(
              "key \"{}\": expected a YAML string (use `key: |` with the entry indented below)",
              key)));
        }
        data[key] = it->second.Scalar();
      }
    }
    auto parsed = SaturationConfigSet::Parse(data);
    if (!parsed.errors.empty()) {
      return Err(InvalidArgumentError(parsed.errors.front().ToString()));
    }
    return std::move(parsed.set);
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(fmt::format("invalid document: {}", e.msg)));
  }
}

}  // namespace wva::core
