#include "emulator/emulator.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <prometheus/text_serializer.h>

#include "base/log.h"

namespace wva::emulator {
namespace {

using json = nlohmann::json;
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const log::Logger& Log() {
  static const auto* l = new log::Logger("emulator");
  return *l;
}

ControlResponse JsonReply(int status, const json& j) { return {status, j.dump()}; }
ControlResponse ErrorReply(int status, std::string_view msg) {
  return JsonReply(status, json{{"error", msg}});
}
ControlResponse StatusReply(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      return ErrorReply(404, s.message());
    case StatusCode::kAlreadyExists:
      return ErrorReply(409, s.message());
    default:
      return ErrorReply(400, s.message());
  }
}

// A gauge value from JSON: a number, or "NaN"/"+Inf"/"-Inf".
StatusOr<std::optional<double>> GaugeField(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    return std::optional<double>();
  }
  if (it->is_number()) {
    return std::optional<double>(it->get<double>());
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    if (s == "NaN") {
      return std::optional<double>(std::numeric_limits<double>::quiet_NaN());
    }
    if (s == "+Inf" || s == "Inf") {
      return std::optional<double>(std::numeric_limits<double>::infinity());
    }
    if (s == "-Inf") {
      return std::optional<double>(-std::numeric_limits<double>::infinity());
    }
  }
  return Err(InvalidArgumentError(
      fmt::format("field \"{}\" must be a number, \"NaN\", \"+Inf\" or \"-Inf\"", key)));
}

StatusOr<std::string> StringField(const json& body, const char* key, bool required) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) {
      return Err(InvalidArgumentError(fmt::format("missing field \"{}\"", key)));
    }
    return std::string();
  }
  if (!it->is_string()) {
    return Err(InvalidArgumentError(fmt::format("field \"{}\" must be a string", key)));
  }
  return it->get<std::string>();
}

// The control API's "profile" object, read by the one replica-profile parser over the pod's
// current profile (the emulator's defaults).
Status ParseProfile(const json& j, core::PerfProfile* p) {
  if (!j.is_object()) {
    return InvalidArgumentError("field \"profile\" must be an object");
  }
  core::PerfProfileParseOptions o;
  o.defaults = *p;
  o.for_replica = true;
  o.where = "profile";
  try {
    WVA_ASSIGN_OR_RETURN(*p, core::ParsePerfProfile(YAML::Load(j.dump()), o));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(fmt::format("profile: {}", e.msg));
  }
  return OkStatus();
}

json GaugeJson(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  return v;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) {
      j = path.size();
    }
    if (j > i) {
      parts.push_back(path.substr(i, j - i));
    }
    i = j + 1;
  }
  return parts;
}

}  // namespace

const std::vector<double>& TtftBuckets() {
  static const auto* b = new std::vector<double>{
      0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
      1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
  return *b;
}

const std::vector<double>& ItlBuckets() {
  static const auto* b =
      new std::vector<double>{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                              0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
  return *b;
}

const std::vector<double>& RequestLatencyBuckets() {
  static const auto* b = new std::vector<double>{0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                                 5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                                 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
  return *b;
}

std::vector<double> TokenBuckets(int max_model_len) {
  std::vector<double> out;
  for (double exp = 1;; exp *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      double v = m * exp;
      if (v > max_model_len) {
        return out;
      }
      out.push_back(v);
    }
  }
}

struct Emulator::PodMetrics {
  prometheus::Gauge* kv = nullptr;
  prometheus::Gauge* waiting = nullptr;
  prometheus::Gauge* running = nullptr;
  prometheus::Gauge* cache_config = nullptr;
  prometheus::Counter* success_length = nullptr;
  prometheus::Counter* success_stop = nullptr;
  prometheus::Counter* preemptions = nullptr;
  prometheus::Counter* prompt_total = nullptr;
  prometheus::Counter* generation_total = nullptr;
  prometheus::Histogram* prompt = nullptr;
  prometheus::Histogram* generation = nullptr;
  prometheus::Histogram* ttft = nullptr;
  prometheus::Histogram* itl = nullptr;
  prometheus::Histogram* queue_time = nullptr;
};

Emulator::Emulator(const Clock& clock, std::unique_ptr<LoadModel> model)
    : clock_(clock),
      model_(std::move(model)),
      registry_(std::make_shared<prometheus::Registry>()),
      kv_(BuildGauge()
              .Name("vllm:kv_cache_usage_perc")
              .Help("KV-cache usage. 1 means 100 percent usage.")
              .Register(*registry_)),
      waiting_(BuildGauge()
                   .Name("vllm:num_requests_waiting")
                   .Help("Number of requests waiting to be processed.")
                   .Register(*registry_)),
      running_(BuildGauge()
                   .Name("vllm:num_requests_running")
                   .Help("Number of requests in model execution batches.")
                   .Register(*registry_)),
      cache_config_(BuildGauge()
                        .Name("vllm:cache_config_info")
                        .Help("Information of the LLMEngine CacheConfig")
                        .Register(*registry_)),
      success_(BuildCounter()
                   .Name("vllm:request_success_total")
                   .Help("Count of successfully processed requests.")
                   .Register(*registry_)),
      preemptions_(BuildCounter()
                       .Name("vllm:num_preemptions_total")
                       .Help("Cumulative number of preemption from the engine.")
                       .Register(*registry_)),
      prompt_tokens_total_(BuildCounter()
                               .Name("vllm:prompt_tokens_total")
                               .Help("Number of prefill tokens processed.")
                               .Register(*registry_)),
      generation_tokens_total_(BuildCounter()
                                   .Name("vllm:generation_tokens_total")
                                   .Help("Number of generation tokens processed.")
                                   .Register(*registry_)),
      prompt_tokens_(BuildHistogram()
                         .Name("vllm:request_prompt_tokens")
                         .Help("Number of prefill tokens processed.")
                         .Register(*registry_)),
      generation_tokens_(BuildHistogram()
                             .Name("vllm:request_generation_tokens")
                             .Help("Number of generation tokens processed.")
                             .Register(*registry_)),
      ttft_(BuildHistogram()
                .Name("vllm:time_to_first_token_seconds")
                .Help("Histogram of time to first token in seconds.")
                .Register(*registry_)),
      itl_(BuildHistogram()
               .Name("vllm:inter_token_latency_seconds")
               .Help("Histogram of inter-token latency in seconds.")
               .Register(*registry_)),
      queue_time_(BuildHistogram()
                      .Name("vllm:request_queue_time_seconds")
                      .Help("Histogram of time spent in WAITING phase for request.")
                      .Register(*registry_)) {}

Emulator::~Emulator() = default;

std::string Emulator::ModelId(std::string_view ns, std::string_view pod) {
  return fmt::format("{}/{}", ns, pod);
}
std::string Emulator::GroupId(std::string_view ns, std::string_view model) {
  return fmt::format("{}/{}", ns, model);
}

Status Emulator::AddPod(const PodSpec& spec) {
  MutexLock lock(&mu_);
  return AddPodLocked(spec);
}

Status Emulator::AddPodLocked(const PodSpec& spec) {
  if (spec.ns.empty() || spec.model.empty() || spec.pod.empty()) {
    return InvalidArgumentError("a pod needs namespace, model and pod names");
  }
  Key key{spec.ns, spec.pod};
  if (pods_.count(key)) {
    return AlreadyExistsError(fmt::format("pod {}/{} already exists", spec.ns, spec.pod));
  }
  if (spec.mode == PodMode::kLoad) {
    if (!model_) {
      return FailedPreconditionError("load mode needs a load model (emulator runs fixed-only)");
    }
    WVA_RETURN_IF_ERROR(
        model_->AddReplica(GroupId(spec.ns, spec.model), ModelId(spec.ns, spec.pod), spec.profile));
  }
  Pod p;
  p.spec = spec;
  p.metrics = std::make_unique<PodMetrics>();
  PodMetrics& m = *p.metrics;
  prometheus::Labels l{{"model_name", spec.model}, {"namespace", spec.ns}, {"pod", spec.pod}};
  m.kv = &kv_.Add(l);
  m.waiting = &waiting_.Add(l);
  m.running = &running_.Add(l);
  auto cl = l;
  cl["block_size"] = std::to_string(spec.profile.block_size);
  cl["num_gpu_blocks"] = std::to_string(spec.profile.num_gpu_blocks());
  cl["cache_dtype"] = "auto";
  cl["enable_prefix_caching"] = "False";
  m.cache_config = &cache_config_.Add(cl);
  m.cache_config->Set(1);
  auto sl = l;
  sl["finished_reason"] = "length";
  m.success_length = &success_.Add(sl);
  sl["finished_reason"] = "stop";
  m.success_stop = &success_.Add(sl);
  m.preemptions = &preemptions_.Add(l);
  m.prompt_total = &prompt_tokens_total_.Add(l);
  m.generation_total = &generation_tokens_total_.Add(l);
  auto tb = TokenBuckets(spec.profile.max_model_len);
  m.prompt = &prompt_tokens_.Add(l, tb);
  m.generation = &generation_tokens_.Add(l, tb);
  m.ttft = &ttft_.Add(l, TtftBuckets());
  m.itl = &itl_.Add(l, ItlBuckets());
  m.queue_time = &queue_time_.Add(l, RequestLatencyBuckets());
  if (spec.mode == PodMode::kFixed) {
    m.kv->Set(spec.fixed.kv);
    m.waiting->Set(spec.fixed.waiting);
    m.running->Set(spec.fixed.running);
  }
  by_model_id_[ModelId(spec.ns, spec.pod)] = key;
  pods_[key] = std::move(p);
  Log().Info("pod added", {{"namespace", spec.ns},
                           {"pod", spec.pod},
                           {"model", spec.model},
                           {"mode", spec.mode == PodMode::kFixed ? "fixed" : "load"}});
  return OkStatus();
}

void Emulator::RemoveMetricsLocked(Pod& p) {
  PodMetrics& m = *p.metrics;
  kv_.Remove(m.kv);
  waiting_.Remove(m.waiting);
  running_.Remove(m.running);
  cache_config_.Remove(m.cache_config);
  success_.Remove(m.success_length);
  success_.Remove(m.success_stop);
  preemptions_.Remove(m.preemptions);
  prompt_tokens_total_.Remove(m.prompt_total);
  generation_tokens_total_.Remove(m.generation_total);
  prompt_tokens_.Remove(m.prompt);
  generation_tokens_.Remove(m.generation);
  ttft_.Remove(m.ttft);
  itl_.Remove(m.itl);
  queue_time_.Remove(m.queue_time);
}

Status Emulator::RemovePod(std::string_view ns, std::string_view pod) {
  MutexLock lock(&mu_);
  auto it = pods_.find({std::string(ns), std::string(pod)});
  if (it == pods_.end()) {
    return NotFoundError(fmt::format("pod {}/{} not found", ns, pod));
  }
  if (it->second.spec.mode == PodMode::kLoad && model_) {
    (void)model_->RemoveReplica(ModelId(ns, pod));
  }
  RemoveMetricsLocked(it->second);
  by_model_id_.erase(ModelId(ns, pod));
  pods_.erase(it);
  Log().Info("pod removed", {{"namespace", ns}, {"pod", pod}});
  return OkStatus();
}

Status Emulator::SetFixed(std::string_view ns, std::string_view pod, std::optional<double> kv,
                          std::optional<double> waiting, std::optional<double> running) {
  MutexLock lock(&mu_);
  auto it = pods_.find({std::string(ns), std::string(pod)});
  if (it == pods_.end()) {
    return NotFoundError(fmt::format("pod {}/{} not found", ns, pod));
  }
  Pod& p = it->second;
  if (p.spec.mode == PodMode::kLoad) {
    // Freeze at the model's current values, then apply the overrides.
    if (model_) {
      p.spec.fixed = model_->Gauges(ModelId(ns, pod));
      (void)model_->RemoveReplica(ModelId(ns, pod));
    }
    p.spec.mode = PodMode::kFixed;
  }
  if (kv) {
    p.spec.fixed.kv = *kv;
  }
  if (waiting) {
    p.spec.fixed.waiting = *waiting;
  }
  if (running) {
    p.spec.fixed.running = *running;
  }
  p.metrics->kv->Set(p.spec.fixed.kv);
  p.metrics->waiting->Set(p.spec.fixed.waiting);
  p.metrics->running->Set(p.spec.fixed.running);
  return OkStatus();
}

Status Emulator::SetLoadMode(std::string_view ns, std::string_view pod) {
  MutexLock lock(&mu_);
  auto it = pods_.find({std::string(ns), std::string(pod)});
  if (it == pods_.end()) {
    return NotFoundError(fmt::format("pod {}/{} not found", ns, pod));
  }
  Pod& p = it->second;
  if (p.spec.mode == PodMode::kLoad) {
    return OkStatus();
  }
  if (!model_) {
    return FailedPreconditionError("load mode needs a load model (emulator runs fixed-only)");
  }
  WVA_RETURN_IF_ERROR(
      model_->AddReplica(GroupId(ns, p.spec.model), ModelId(ns, pod), p.spec.profile));
  p.spec.mode = PodMode::kLoad;
  return OkStatus();
}

Status Emulator::SetArrivalRate(std::string_view ns, std::string_view model, double rps) {
  MutexLock lock(&mu_);
  if (!model_) {
    return FailedPreconditionError("load mode needs a load model (emulator runs fixed-only)");
  }
  if (!(rps >= 0) || std::isinf(rps)) {
    return InvalidArgumentError("rate must be a finite number >= 0");
  }
  TickLocked();  // arrivals before now use the old rate
  model_->SetArrivalRate(GroupId(ns, model), rps);
  return OkStatus();
}

void Emulator::Tick() {
  MutexLock lock(&mu_);
  TickLocked();
}

void Emulator::TickLocked() {
  if (!model_) {
    return;
  }
  std::vector<RequestRecord> done;
  model_->Advance(clock_.Now(), &done);
  for (const RequestRecord& r : done) {
    auto k = by_model_id_.find(r.pod);
    if (k == by_model_id_.end()) {
      continue;
    }
    PodMetrics& m = *pods_.at(k->second).metrics;
    (r.finished_reason == "stop" ? m.success_stop : m.success_length)->Increment();
    m.prompt->Observe(r.prompt_tokens);
    m.generation->Observe(r.generation_tokens);
    m.prompt_total->Increment(r.prompt_tokens);
    m.generation_total->Increment(r.generation_tokens);
    m.ttft->Observe(r.ttft_seconds);
    for (double itl : r.itl_seconds) {
      m.itl->Observe(itl);
    }
    if (r.queue_seconds >= 0) {
      m.queue_time->Observe(r.queue_seconds);
    }
  }
  for (auto& [key, p] : pods_) {
    if (p.spec.mode != PodMode::kLoad) {
      continue;
    }
    std::string id = ModelId(key.first, key.second);
    PodGauges g = model_->Gauges(id);
    p.metrics->kv->Set(g.kv);
    p.metrics->waiting->Set(g.waiting);
    p.metrics->running->Set(g.running);
    long long pre = model_->preemptions(id);
    if (pre > p.preemptions_seen) {
      p.metrics->preemptions->Increment(static_cast<double>(pre - p.preemptions_seen));
      p.preemptions_seen = pre;
    }
  }
}

std::string Emulator::RenderMetrics() {
  MutexLock lock(&mu_);
  TickLocked();
  std::ostringstream out;
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  if (!served_families_.empty()) {
    // The lambda runs here, under the lock, but the analysis does not follow lambdas: it gets
    // its own copy of the (small) set.
    const std::set<std::string> served = served_families_;
    std::erase_if(families, [&served](const prometheus::MetricFamily& f) {
      return served.count(f.name) == 0;
    });
  }
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

void Emulator::set_served_families(std::set<std::string> names) {
  MutexLock lock(&mu_);
  served_families_ = std::move(names);
}

size_t Emulator::pod_count() const {
  MutexLock lock(&mu_);
  return pods_.size();
}

json Emulator::ListPods() const {
  MutexLock lock(&mu_);
  json pods = json::array();
  for (const auto& [key, p] : pods_) {
    double kv = p.metrics->kv->Value();
    double waiting = p.metrics->waiting->Value();
    double running = p.metrics->running->Value();
    pods.push_back({{"namespace", p.spec.ns},
                    {"model", p.spec.model},
                    {"variant", p.spec.variant},
                    {"pod", p.spec.pod},
                    {"mode", p.spec.mode == PodMode::kFixed ? "fixed" : "load"},
                    {"kv", GaugeJson(kv)},
                    {"waiting", GaugeJson(waiting)},
                    {"running", GaugeJson(running)}});
  }
  return json{{"pods", pods}};
}

ControlResponse Emulator::HandleControl(std::string_view method, std::string_view path,
                                        std::string_view body) {
  try {
    return DispatchControl(method, path, body);
  } catch (const std::exception& e) {
    return ErrorReply(400, fmt::format("bad request: {}", e.what()));
  }
}

ControlResponse Emulator::DispatchControl(std::string_view method, std::string_view path,
                                          std::string_view body) {
  auto parts = SplitPath(path);
  if (parts.size() < 2 || parts[0] != "control") {
    return ErrorReply(404, "unknown path");
  }
  json j;
  if (method == "POST" || method == "PUT" || method == "PATCH") {
    j = json::parse(body.begin(), body.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return ErrorReply(400, "body must be a JSON object");
    }
  }
  if (parts[1] == "pods" && parts.size() == 2) {
    if (method == "GET") {
      return JsonReply(200, ListPods());
    }
    if (method != "POST") {
      return ErrorReply(405, "use GET or POST on /control/pods");
    }
    PodSpec spec;
    auto ns = StringField(j, "namespace", true);
    auto model = StringField(j, "model", true);
    auto pod = StringField(j, "pod", true);
    auto variant = StringField(j, "variant", false);
    auto mode = StringField(j, "mode", false);
    for (auto* f : {&ns, &model, &pod, &variant, &mode}) {
      if (!*f) {
        return StatusReply(f->error());
      }
    }
    spec.ns = *ns;
    spec.model = *model;
    spec.pod = *pod;
    spec.variant = *variant;
    MutexLock lock(&mu_);
    if (mode->empty()) {
      bool has_values = j.contains("kv") || j.contains("waiting") || j.contains("running");
      spec.mode = (model_ && !has_values) ? PodMode::kLoad : PodMode::kFixed;
    } else if (*mode == "fixed") {
      spec.mode = PodMode::kFixed;
    } else if (*mode == "load") {
      spec.mode = PodMode::kLoad;
    } else {
      return ErrorReply(400, "field \"mode\" must be \"fixed\" or \"load\"");
    }
    for (const char* k : {"kv", "waiting", "running"}) {
      auto v = GaugeField(j, k);
      if (!v) {
        return StatusReply(v.error());
      }
      if (!*v) {
        continue;
      }
      double* slot = std::string_view(k) == "kv"        ? &spec.fixed.kv
                     : std::string_view(k) == "waiting" ? &spec.fixed.waiting
                                                        : &spec.fixed.running;
      *slot = **v;
    }
    if (auto pr = j.find("profile"); pr != j.end()) {
      Status s = ParseProfile(*pr, &spec.profile);
      if (!s.ok()) {
        return StatusReply(s);
      }
    }
    Status s = AddPodLocked(spec);
    if (!s.ok()) {
      return StatusReply(s);
    }
    return JsonReply(201, json{{"added", spec.ns + "/" + spec.pod}});
  }
  if (parts[1] == "pods" && parts.size() == 4) {
    std::string ns(parts[2]), pod(parts[3]);
    if (method == "DELETE") {
      Status s = RemovePod(ns, pod);
      if (!s.ok()) {
        return StatusReply(s);
      }
      return JsonReply(200, json{{"removed", ns + "/" + pod}});
    }
    if (method != "PUT" && method != "PATCH") {
      return ErrorReply(405, "use PUT or DELETE on a pod");
    }
    auto mode = StringField(j, "mode", false);
    if (!mode) {
      return StatusReply(mode.error());
    }
    if (*mode == "load") {
      Status s = SetLoadMode(ns, pod);
      if (!s.ok()) {
        return StatusReply(s);
      }
      return JsonReply(200, json{{"updated", ns + "/" + pod}});
    }
    if (!mode->empty() && *mode != "fixed") {
      return ErrorReply(400, "field \"mode\" must be \"fixed\" or \"load\"");
    }
    auto kv = GaugeField(j, "kv");
    auto waiting = GaugeField(j, "waiting");
    auto running = GaugeField(j, "running");
    for (auto* f : {&kv, &waiting, &running}) {
      if (!*f) {
        return StatusReply(f->error());
      }
    }
    Status s = SetFixed(ns, pod, *kv, *waiting, *running);
    if (!s.ok()) {
      return StatusReply(s);
    }
    return JsonReply(200, json{{"updated", ns + "/" + pod}});
  }
  if (parts[1] == "load" && parts.size() == 2) {
    if (method != "PUT" && method != "POST") {
      return ErrorReply(405, "use PUT on /control/load");
    }
    auto ns = StringField(j, "namespace", true);
    auto model = StringField(j, "model", true);
    if (!ns) {
      return StatusReply(ns.error());
    }
    if (!model) {
      return StatusReply(model.error());
    }
    auto rate = j.find("rate");
    if (rate == j.end() || !rate->is_number()) {
      return ErrorReply(400, "field \"rate\" must be a number");
    }
    Status s = SetArrivalRate(*ns, *model, rate->get<double>());
    if (!s.ok()) {
      return StatusReply(s);
    }
    return JsonReply(200, json{{"rate", rate->get<double>()}});
  }
  return ErrorReply(404, "unknown path");
}

}  // namespace wva::emulator
