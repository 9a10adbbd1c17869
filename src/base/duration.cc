#include "base/duration.h"

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

namespace wva {

StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  const std::string original(text);
  if (text.empty()) {
    return Err(InvalidArgumentError("empty duration"));
  }
  if (text == "0") {
    return std::chrono::nanoseconds(0);
  }
  if (text[0] == '-') {
    return Err(InvalidArgumentError(fmt::format("duration \"{}\" must not be negative", original)));
  }
  if (text[0] == '+') {
    text.remove_prefix(1);
  }
  long double total_ns = 0;
  bool any = false;
  while (!text.empty()) {
    size_t i = 0;
    bool digits = false;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      digits = digits || std::isdigit(static_cast<unsigned char>(text[i]));
      ++i;
    }
    if (!digits) {
      return Err(InvalidArgumentError(fmt::format(
          "invalid duration \"{}\": expected a number like 30s, 2m or 1h30m", original)));
    }
    std::string number(text.substr(0, i));
    if (number.find('.') != number.rfind('.')) {
      return Err(InvalidArgumentError(fmt::format("invalid duration \"{}\"", original)));
    }
    text.remove_prefix(i);
    size_t j = 0;
    while (j < text.size() && !std::isdigit(static_cast<unsigned char>(text[j])) &&
           text[j] != '.') {
      ++j;
    }
    std::string_view unit = text.substr(0, j);
    text.remove_prefix(j);
    long double scale;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "s") {
      scale = 1e9;
    } else if (unit == "m") {
      scale = 60e9;
    } else if (unit == "h") {
      scale = 3600e9;
    } else if (unit.empty()) {
      return Err(InvalidArgumentError(fmt::format(
          "invalid duration \"{}\": missing unit (use ns, us, ms, s, m or h)", original)));
    } else {
      return Err(InvalidArgumentError(fmt::format("invalid duration \"{}\": unknown unit \"{}\"",
                                                  original, std::string(unit))));
    }
    total_ns += std::stold(number) * scale;
    any = true;
  }
  if (!any || total_ns > static_cast<long double>(INT64_MAX)) {
    return Err(InvalidArgumentError(fmt::format("invalid duration \"{}\"", original)));
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total_ns)));
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0) {
    return "0s";
  }
  std::string sign = ns < 0 ? "-" : "";
  if (ns < 0) {
    ns = -ns;
  }
  if (ns < 1000000000) {
    if (ns % 1000000 == 0) {
      return fmt::format("{}{}ms", sign, ns / 1000000);
    }
    if (ns % 1000 == 0) {
      return fmt::format("{}{}us", sign, ns / 1000);
    }
    return fmt::format("{}{}ns", sign, ns);
  }
  int64_t h = ns / 3600000000000LL;
  ns %= 3600000000000LL;
  int64_t m = ns / 60000000000LL;
  ns %= 60000000000LL;
  std::string out = sign;
  if (h) {
    out += fmt::format("{}h", h);
  }
  if (h || m) {
    out += fmt::format("{}m", m);
  }
  if (ns % 1000000000 == 0) {
    out += fmt::format("{}s", ns / 1000000000);
  } else {
    std::string frac = fmt::format("{:.9f}", static_cast<double>(ns) / 1e9);
    while (!frac.empty() && frac.back() == '0') {
      frac.pop_back();
    }
    out += frac + "s";
  }
  return out;
}

}  // namespace wva
