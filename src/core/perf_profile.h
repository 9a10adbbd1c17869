// The replica profile: performance and capacity of one replica of a variant (one accelerator kind
// running the model), and its one parser. The same type and the same keys serve the SLO ConfigMap
// (`profiles.<accelerator>`), a VariantAutoscaling's spec.performanceProfile, analyze snapshots,
// the simulator's fleet file (`variants[].profile`) and the emulator (--variant flag and control
// API). docs/reference.md ("Replica profile") lists the keys and their deprecated aliases.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "base/status.h"

namespace wva::core {

// Step-time model (ms): a step with n decoding sequences takes alpha + beta·n; a step that also
// prefills p prompt tokens adds gamma + delta·p (gamma once per prefill chunk).
struct PerfProfile {
  double alpha_ms = 0;  // ITL = alpha + beta · batch (decode step time with `batch` sequences)
  double beta_ms = 0;
  double gamma_ms = 0;  // prefill = gamma + delta · promptTokens (per prefill chunk: gamma)
  double delta_ms = 0;
  int max_batch = 256;             // max running sequences (vLLM max_num_seqs)
  int64_t kv_capacity_tokens = 0;  // KV cache capacity in tokens; 0 = not limiting
  int max_batched_tokens = 0;      // chunked-prefill budget per step; 0 = whole prompt at once
  int block_size = 16;             // KV block size in tokens (vLLM block_size)
  int max_model_len = 0;           // longest prompt + output a replica accepts; 0 = not limiting

  // KV capacity in whole blocks (what vLLM reports as num_gpu_blocks).
  int64_t num_gpu_blocks() const { return kv_capacity_tokens / block_size; }

  // "alpha: -1 must be > 0" style errors naming the canonical key.
  Status Validate() const;
  // Validate() plus what an engine replica (simulator, emulator) needs to run: a KV cache of at
  // least one block, a per-step token budget and a maximum request length.
  Status ValidateForReplica() const;
  friend bool operator==(const PerfProfile&, const PerfProfile&) = default;
};

// How one caller reads a profile document.
struct PerfProfileParseOptions {
  // Values of keys the document does not give. A default with alpha_ms == 0 makes `alpha`
  // required (the SLO configuration has no default speed; the simulator and emulator do).
  PerfProfile defaults;
  // Resolves a named profile: `base: NAME` in a mapping, or a document that is just NAME. Keys
  // given next to `base` override its fields. Null: named profiles are not accepted.
  std::function<StatusOr<PerfProfile>(std::string_view name)> resolve_base;
  // Keys the caller reads itself from the same mapping (e.g. the fleet's `accelerator`); skipped.
  std::vector<std::string> caller_keys;
  // Also require what an engine replica needs (ValidateForReplica): simulator and emulator.
  bool for_replica = false;
  // Where the node is, for errors ("variants[0].profile", "profiles.H100"); may be empty.
  std::string where;
};

// The one parser of a replica profile. Canonical keys: alpha, beta, gamma, delta (ms), maxBatch,
// kvCapacityTokens, maxBatchedTokens, blockSize, maxModelLen; numGpuBlocks (KV capacity in blocks
// of blockSize tokens) is an alternative to kvCapacityTokens. Deprecated aliases are accepted:
// alphaMs/alpha_ms (and the same for beta, gamma, delta), maxNumSeqs/max_seqs,
// maxNumBatchedTokens, block_size, max_model_len, blocks (= numGpuBlocks). A document giving a key
// twice under two spellings is an error naming both. Errors are InvalidArgument
// "<where>.<key>: <problem>" ("<where>: <problem>" for the node as a whole).
StatusOr<PerfProfile> ParsePerfProfile(const YAML::Node& node,
                                       const PerfProfileParseOptions& options);
// The same over YAML or JSON text (an object); defaults are PerfProfile{} (alpha required).
StatusOr<PerfProfile> ParsePerfProfile(const std::string& text);

}  // namespace wva::core
