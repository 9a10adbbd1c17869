// libFuzzer target: the analyze snapshot parser and the saturation ConfigMap parser must never
// crash, hang or throw on any bytes; whatever parses must be decidable.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/saturation.h"
#include "core/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto snap = wva::core::ParseSnapshot(text);
  if (snap) {
    (void)wva::core::Decide(snap->input);
  }
  auto cfg = wva::core::ParseConfigFile(text);
  if (cfg) {
    (void)cfg->Resolve("m", "ns");
  }
  wva::core::ConfigError err;
  (void)wva::core::ParseSaturationEntry("k", text, &err);
  return 0;
}
