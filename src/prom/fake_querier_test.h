// Test-only helpers shared by the prom unit tests: a scripted Prometheus (answers each query
// through `answer` and records the query text) and builders for instant-vector answers.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prom/querier.h"

namespace wva::prom::testing {

class FakeQuerier : public Querier {
 public:
  std::function<QueryOutcome(std::string_view)> answer;
  std::vector<std::string> queries;
  QueryOutcome Query(std::string_view q) override {
    queries.emplace_back(q);
    return answer(q);
  }
};

// One sample labelled {namespace, model_name, pod}.
inline Sample S(std::string ns, std::string model, std::string pod, double v,
                ValueClass c = ValueClass::kFinite) {
  Sample s;
  s.labels = {
      {"namespace", std::move(ns)}, {"model_name", std::move(model)}, {"pod", std::move(pod)}};
  s.point.value = v;
  s.point.value_class = c;
  return s;
}

inline QueryResult Vector(std::vector<Sample> samples) {
  QueryResult r;
  r.type = ResultType::kVector;
  r.samples = std::move(samples);
  return r;
}

}  // namespace wva::prom::testing
