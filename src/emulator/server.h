// EmulatorServer: the HTTP face of the emulator. GET /metrics (vLLM's exposition for every
// emulated pod), GET /healthz, and the JSON control API under /control/ (see emulator.h).
// Also the `--variant` spec parser used by `wva emulate`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "emulator/emulator.h"
#include "http/server.h"

namespace wva::emulator {

class EmulatorServer {
 public:
  explicit EmulatorServer(Emulator& emulator);  // `emulator` must outlive the server
  ~EmulatorServer();
  // Binds host:port (0 = ephemeral) and serves on a background thread; returns the port.
  [[nodiscard]] StatusOr<int> Start(const std::string& host, int port);
  void Stop();

 private:
  Emulator& emulator_;
  http::HttpServer server_;
};

// One `--variant` flag: "namespace=NS,model=MODEL,name=VARIANT,replicas=N" plus optional
// "kv=0.5,queue=2,running=1" (fixed start values), "profile=<name>" (a named replica profile from
// `resolve_profile`, e.g. the simulator's "h100-80gb") and replica-profile keys (maxBatch=64,
// numGpuBlocks=2048, alpha=20, ... or their deprecated aliases max_seqs=, blocks=, alpha_ms=, ...;
// see core/perf_profile.h), which override the named profile's fields or else the emulator's
// defaults (DefaultReplicaProfile). Pods are named <name>-0 .. <name>-<N-1>.
struct VariantSpec {
  std::string ns;
  std::string model;
  std::string name;
  int replicas = 1;
  PodGauges fixed;
  core::PerfProfile profile = DefaultReplicaProfile();
};
using ProfileResolver = std::function<StatusOr<core::PerfProfile>(std::string_view name)>;
StatusOr<VariantSpec> ParseVariantSpec(std::string_view text,
                                       const ProfileResolver& resolve_profile = nullptr);

}  // namespace wva::emulator
