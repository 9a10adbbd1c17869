// libFuzzer target: the NDJSON line framer must never crash, never lose bytes and never exceed
// its line limit, however the input is chunked. The first byte picks the chunk size.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/line_framer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  size_t chunk = (data[0] % 16) + 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  wva::http::LineFramer framer(64);
  size_t seen = 0;
  for (size_t i = 0; i < in.size(); i += chunk) {
    auto st = framer.Feed(in.substr(i, chunk), [&](std::string_view line) {
      if (line.empty() || line.size() > 64 || line.find('\n') != std::string_view::npos) {
        __builtin_trap();
      }
      seen += line.size();
      return true;
    });
    (void)st;
  }
  if (seen > in.size()) {
    __builtin_trap();
  }
  return 0;
}
