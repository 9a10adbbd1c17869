#include "prom/promql.h"

#include <algorithm>

#include <fmt/format.h>

namespace wva::prom {

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string QuoteRegex(std::string_view value) {
  std::string out;
  out.reserve(value.size() * 2);
  for (char c : value) {
    // RE2 QuoteMeta: everything that is not [A-Za-z0-9_] or a UTF-8 continuation byte.
    unsigned char u = static_cast<unsigned char>(c);
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || u >= 0x80;
    if (!plain) {
      if (c == '\0') {
        out += "\\x00";
        continue;
      }
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::string RegexAlternation(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  std::string re;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) {
      re += '|';
    }
    re += QuoteRegex(values[i]);
  }
  return EscapeLabelValue(re);
}

std::string ModelPeakQuery(std::string_view metric, std::string_view ns, std::string_view model,
                           std::string_view window) {
  return fmt::format("max by (pod) (max_over_time({}{{namespace=\"{}\",model_name=\"{}\"}}[{}]))",
                     metric, EscapeLabelValue(ns), EscapeLabelValue(model), window);
}

std::string BatchedPeakQuery(std::string_view metric, const std::vector<std::string>& namespaces,
                             const std::vector<std::string>& models, std::string_view window) {
  return fmt::format(
      "max by (namespace, model_name, pod) "
      "(max_over_time({}{{namespace=~\"{}\",model_name=~\"{}\"}}"
      "[{}]))",
      metric, RegexAlternation(namespaces), RegexAlternation(models), window);
}

}  // namespace wva::prom
