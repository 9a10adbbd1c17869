// Go-style duration strings ("30s", "2m", "1h30m", "500ms", "1.5s"), as used by every WVA
// setting that takes a duration (GLOBAL_OPT_INTERVAL, lease timings, simulator intervals).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/status.h"

namespace wva {

// Parses a Go time.ParseDuration string. A bare "0" is accepted; any other number needs a unit
// (ns, us, µs, ms, s, m, h). Negative durations are rejected (no WVA setting takes one).
StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// Formats like Go's Duration.String for the values we print: "1m30s", "500ms", "0s".
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace wva
