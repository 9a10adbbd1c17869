// Querier: the one call the controller needs from Prometheus (an instant query). The real
// implementation is prom::Client; tests inject fakes that count and script answers.
#pragma once

#include <string_view>

#include "prom/response.h"

namespace wva::prom {

class Querier {
 public:
  virtual ~Querier() = default;
  // Runs an instant query evaluated "now". Never throws.
  virtual QueryOutcome Query(std::string_view promql) = 0;
};

}  // namespace wva::prom
