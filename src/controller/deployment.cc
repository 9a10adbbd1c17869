#include "controller/deployment.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <sstream>
#include <utility>
#include <vector>

#include "controller/json_path.h"
#include "controller/va.h"
#include "kube/client.h"

namespace wva::controller {
namespace {

using nlohmann::json;

constexpr const char* kGpuResources[] = {"nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915",
                                         "habana.ai/gaudi"};

// A replica count: an integer clamped at 0, else `absent`.
int Count(const json& j, int absent) {
  return j.is_number_integer() ? std::max(0, j.get<int>()) : absent;
}

int64_t Int64(const json& j) { return j.is_number_integer() ? j.get<int64_t>() : 0; }

std::map<std::string, std::string> Labels(const json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) {
    return out;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_string()) {
      out.emplace(it.key(), it->get<std::string>());
    }
  }
  return out;
}

int GpusPerReplica(const json& containers) {
  if (!containers.is_array()) {
    return 0;
  }
  int total = 0;
  for (const json& c : containers) {
    for (const char* r : kGpuResources) {
      const json& req = JsonAt(c, {"resources", "requests", r});
      total += WholeDevices(req.is_null() ? JsonAt(c, {"resources", "limits", r}) : req);
    }
  }
  return total;
}

// A flag's value: a finite number > 0, else unset.
std::optional<double> FlagNumber(const std::string& text) {
  try {
    size_t pos = 0;
    const double v = std::stod(text, &pos);
    if (pos == text.size() && std::isfinite(v) && v > 0) {
      return v;
    }
  } catch (...) {
  }
  return std::nullopt;
}

VllmArgs ParseVllmArgs(const json& containers) {
  VllmArgs out;
  if (!containers.is_array() || containers.empty()) {
    return out;
  }
  const json& c = containers.front();
  // Every word of command and args: `sh -c "vllm serve m --max-num-seqs 64"` splits too.
  std::vector<std::string> words;
  for (const char* field : {"command", "args"}) {
    const json& list = JsonAt(c, {field});
    if (!list.is_array()) {
      continue;
    }
    for (const json& a : list) {
      if (!a.is_string()) {
        continue;
      }
      std::istringstream ss(a.get<std::string>());
      for (std::string w; ss >> w;) {
        if (w.size() >= 2 && (w.front() == '"' || w.front() == '\'')) {
          w = w.substr(1);
        }
        if (!w.empty() && (w.back() == '"' || w.back() == '\'')) {
          w.pop_back();
        }
        words.push_back(w);
      }
    }
  }
  for (size_t i = 0; i < words.size(); ++i) {
    for (auto [flag, slot] : {std::pair{"--max-num-batched-tokens", &out.max_num_batched_tokens},
                              std::pair{"--max-num-seqs", &out.max_num_seqs}}) {
      const std::string f = flag;
      if (words[i] == f && i + 1 < words.size()) {
        *slot = FlagNumber(words[i + 1]);
      } else if (words[i].rfind(f + "=", 0) == 0) {
        *slot = FlagNumber(words[i].substr(f.size() + 1));
      }
    }
  }
  return out;
}

}  // namespace

int WholeDevices(const json& quantity) {
  if (quantity.is_number_integer()) {
    return std::max(0, quantity.get<int>());
  }
  if (!quantity.is_string()) {
    return 0;
  }
  const std::string& s = quantity.get_ref<const std::string&>();
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  return ec == std::errc() && end == s.data() + s.size() ? std::max(0, n) : 0;
}

DeploymentPtr ParseDeployment(const json& object) {
  auto d = std::make_shared<TargetDeployment>();
  const json& meta = JsonAt(object, {"metadata"});
  d->ns = JsonStr(JsonAt(meta, {"namespace"}));
  d->name = JsonStr(JsonAt(meta, {"name"}));
  d->resource_version = JsonStr(JsonAt(meta, {"resourceVersion"}));
  d->generation = Int64(JsonAt(meta, {"generation"}));
  const json& spec = JsonAt(object, {"spec"});
  d->spec_replicas = Count(JsonAt(spec, {"replicas"}), 1);
  d->selector = Labels(JsonAt(spec, {"selector", "matchLabels"}));
  d->template_labels = Labels(JsonAt(spec, {"template", "metadata", "labels"}));
  const json& pod_spec = JsonAt(spec, {"template", "spec"});
  d->gpu_product = JsonStr(JsonAt(pod_spec, {"nodeSelector", kGpuProductSelector}));
  const json& containers = JsonAt(pod_spec, {"containers"});
  d->gpus_per_replica = GpusPerReplica(containers);
  d->vllm = ParseVllmArgs(containers);
  const json& status = JsonAt(object, {"status"});
  d->status_replicas = Count(JsonAt(status, {"replicas"}), 0);
  d->ready_replicas = Count(JsonAt(status, {"readyReplicas"}), 0);
  d->available_replicas = Count(JsonAt(status, {"availableReplicas"}), 0);
  d->updated_replicas = Count(JsonAt(status, {"updatedReplicas"}), 0);
  d->observed_generation = Int64(JsonAt(status, {"observedGeneration"}));
  return d;
}

std::string KeyOf(const TargetDeployment& d) { return kube::ObjectKey(d.ns, d.name); }

std::string ResourceVersionOf(const TargetDeployment& d) { return d.resource_version; }

}  // namespace wva::controller
