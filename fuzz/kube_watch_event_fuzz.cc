// libFuzzer target: the watch-event decoder and the Status mapper take bytes straight from the
// network; they must never crash or throw, whatever arrives.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kube/client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto ev = wva::kube::DecodeWatchEvent(in);
  if (ev.has_value()) {
    if (ev->object == nullptr) {
      __builtin_trap();
    }
    (void)wva::kube::KeyOf(*ev->object);
    (void)wva::kube::ResourceVersionOf(*ev->object);
  }
  (void)wva::kube::StatusFromHttp(size % 600, in);
  return 0;
}
