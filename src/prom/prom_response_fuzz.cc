// libFuzzer target: arbitrary bytes as a Prometheus /api/v1/query body (with a few HTTP
// statuses), then the batched splitter over whatever parsed. Must never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "prom/collect.h"
#include "prom/response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr int kStatuses[] = {200, 400, 422, 503, 401};
  int status = size ? kStatuses[data[0] % 5] : 200;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto out = wva::prom::ParseQueryResponse(body, status);
  if (out) {
    wva::prom::SaturationSnapshot snap;
    snap.models[{"ns", "m"}];
    snap.models[{"", ""}];
    wva::prom::SplitByModel(*out, "kv", &snap);
    (void)out->empty();
  } else {
    (void)out.error().ToStatus();
  }
  return 0;
}
