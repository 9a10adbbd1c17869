// A VA's target Deployment as the controller reads it: parsed once when the informer delivers
// it (whole or projected, controller/projection.h), so no cycle reads JSON paths. Every field
// takes what the API server defaults it to, or "absent", when the object does not carry a
// usable value: nothing here fails, and garbage never becomes a replica count.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace wva::controller {

// vLLM engine arguments of a Deployment's first container (args and command, including a
// `sh -c "vllm serve ..."` string): --max-num-batched-tokens and --max-num-seqs, as
// `--flag N` or `--flag=N`. Absent or unparsable values (not a finite number > 0) stay unset.
struct VllmArgs {
  std::optional<double> max_num_batched_tokens;
  std::optional<double> max_num_seqs;
};

struct TargetDeployment {
  std::string ns;
  std::string name;
  std::string resource_version;
  int64_t generation = 0;
  // spec.replicas; 1 when absent or not an integer (the API server's default), >= 0.
  int spec_replicas = 1;
  // status counts (0 when absent or not an integer, >= 0) and status.observedGeneration.
  int status_replicas = 0;
  int ready_replicas = 0;
  int available_replicas = 0;
  int updated_replicas = 0;
  int64_t observed_generation = 0;
  // spec.selector.matchLabels and the pod template's labels (string values only).
  std::map<std::string, std::string> selector;
  std::map<std::string, std::string> template_labels;
  // The pod template's nodeSelector nvidia.com/gpu.product ("" = none or not a string).
  std::string gpu_product;
  // GPUs one replica requests: the sum over the pod template's containers of nvidia.com/gpu,
  // amd.com/gpu, gpu.intel.com/i915 and habana.ai/gaudi (requests, else limits), each a whole
  // device count; 0 when none.
  int gpus_per_replica = 0;
  VllmArgs vllm;
};
using DeploymentPtr = std::shared_ptr<const TargetDeployment>;

// Parses a Deployment object (whole or projected). Never throws and never returns null: a
// non-object gives a Deployment with every field at its default.
DeploymentPtr ParseDeployment(const nlohmann::json& object);

// The cache key, as kube::KeyOf keys the object ("namespace/name"), and the resourceVersion: a
// kube::BasicInformer<TargetDeployment> finds both by argument-dependent lookup.
std::string KeyOf(const TargetDeployment& d);
std::string ResourceVersionOf(const TargetDeployment& d);

// A Kubernetes quantity of whole devices (1, "2"); anything else (fractions, suffixes, negative
// numbers, other types) counts 0.
int WholeDevices(const nlohmann::json& quantity);

}  // namespace wva::controller
