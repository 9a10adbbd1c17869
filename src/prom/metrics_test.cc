#include "prom/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace wva::prom {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(WvaMetrics, VariantGaugesAndRatio) {
  WvaMetrics m;
  m.SetVariant({"llama-l40s", "prod", "L40S"}, 3, 2);
  m.SetVariant({"llama-a100", "prod", "A100"}, 2, 0);
  std::string text = m.Serialize();
  EXPECT_THAT(text, HasSubstr("# TYPE wva_desired_replicas gauge"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wva_desired_replicas{accelerator_type="L40S",exported_namespace="prod",namespace="prod",variant_name="llama-l40s"} 3)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wva_current_replicas{accelerator_type="L40S",exported_namespace="prod",namespace="prod",variant_name="llama-l40s"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wva_desired_ratio{accelerator_type="L40S",exported_namespace="prod",namespace="prod",variant_name="llama-l40s"} 1.5)"));
  // current 0: ratio = desired
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wva_desired_ratio{accelerator_type="A100",exported_namespace="prod",namespace="prod",variant_name="llama-a100"} 2)"));
}

TEST(WvaMetrics, AcceleratorChangeReplacesSeries) {
  WvaMetrics m;
  m.SetVariantCost({"v", "ns", "unknown"}, "5.0");
  m.SetVariant({"v", "ns", "unknown"}, 1, 1);
  m.SetVariant({"v", "ns", "H100"}, 2, 1);
  std::string text = m.Serialize();
  EXPECT_THAT(text, Not(HasSubstr(R"(accelerator_type="unknown")")));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wva_desired_replicas{accelerator_type="H100",exported_namespace="ns",namespace="ns",variant_name="v"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wva_variant_cost_info{accelerator_type="H100",cost="5.0",exported_namespace="ns",namespace="ns",variant_name="v"} 1)"));
  m.SetVariantCost({"v", "ns", "H100"}, "7.5");
  text = m.Serialize();
  EXPECT_THAT(text, Not(HasSubstr(R"(cost="5.0")")));
  EXPECT_THAT(text, HasSubstr(R"(cost="7.5")"));
  m.RemoveVariant("ns", "v");
  text = m.Serialize();
  EXPECT_THAT(text, Not(HasSubstr(R"(variant_name="v")")));
}

TEST(WvaMetrics, CycleAndHealth) {
  WvaMetrics m;
  FakeClock clock;
  m.RecordOptimization(true, 0.02, clock.WallNow());
  m.RecordOptimization(false, 0.5, clock.WallNow());
  m.RecordScaling("v", "ns", "up", "saturated");
  m.RecordScaling("v", "ns", "up", "saturated");
  m.SetWorkQueueDepth(4);
  m.IncWatchRestarts("variantautoscalings");
  m.RecordPromQuery("kv_cache", 0.003, std::nullopt);
  m.RecordPromQuery("kv_cache", 0.2, ErrorKind::kTimeout);
  m.SetLeader(true);
  std::string text = m.Serialize();
  EXPECT_THAT(text, HasSubstr("wva_optimization_timestamp 1735689600"));
  EXPECT_THAT(text, HasSubstr("wva_optimization_success_total 1"));
  EXPECT_THAT(text, HasSubstr("wva_optimization_failure_total 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE wva_optimization_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr(R"(wva_optimization_duration_seconds_count{status="success"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wva_replica_scaling_total{direction="up",exported_namespace="ns",namespace="ns",reason="saturated",variant_name="v"} 2)"));
  EXPECT_THAT(text, HasSubstr("wva_workqueue_depth 4"));
  EXPECT_THAT(text, HasSubstr(R"(wva_watch_restarts_total{resource="variantautoscalings"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(wva_prometheus_query_errors_total{query_type="kv_cache",reason="timeout"} 1)"));
  EXPECT_THAT(text,
              HasSubstr(R"(wva_prometheus_query_duration_seconds_count{query_type="kv_cache"} 2)"));
  EXPECT_THAT(text, HasSubstr("wva_leader_status 1"));
}

// Before the first successful cycle there is no "last successful cycle": the gauge is absent
// (a 0 would read as "56 years ago" on a dashboard and hide the ControllerDown alert's absent()).
TEST(WvaMetrics, OptimizationTimestampAbsentUntilTheFirstSuccessfulCycle) {
  WvaMetrics m;
  FakeClock clock;
  EXPECT_THAT(m.Serialize(), Not(HasSubstr("wva_optimization_timestamp ")));
  m.RecordOptimization(false, 0.1, clock.WallNow());
  EXPECT_THAT(m.Serialize(), Not(HasSubstr("wva_optimization_timestamp ")));
  m.RecordOptimization(true, 0.1, clock.WallNow());
  EXPECT_THAT(m.Serialize(), HasSubstr("wva_optimization_timestamp 1735689600"));
}

// Counters whose label sets are known up front are exported at 0 from the start, so rate() and
// ratios work on a healthy install ("No data" otherwise) and alerts see a 0, not nothing.
TEST(WvaMetrics, CountersWithKnownLabelSetsStartAtZero) {
  WvaMetrics m;
  const std::string text = m.Serialize();
  EXPECT_THAT(text, HasSubstr("wva_optimization_success_total 0"));
  EXPECT_THAT(text, HasSubstr("wva_optimization_failure_total 0"));
  for (const char* status : {"success", "error"}) {
    EXPECT_THAT(text, HasSubstr(std::string(R"(wva_optimization_duration_seconds_count{status=")") +
                                status + "\"} 0"));
  }
  for (std::string_view type : kQueryTypes) {
    EXPECT_THAT(text, HasSubstr("wva_prometheus_query_duration_seconds_count{query_type=\"" +
                                std::string(type) + "\"} 0"));
    for (ErrorKind kind :
         {ErrorKind::kApiError, ErrorKind::kBadResponse, ErrorKind::kUnavailable,
          ErrorKind::kTimeout, ErrorKind::kUnauthorized, ErrorKind::kTls, ErrorKind::kConfig}) {
      EXPECT_THAT(text,
                  HasSubstr("wva_prometheus_query_errors_total{query_type=\"" + std::string(type) +
                            "\",reason=\"" + std::string(ErrorKindName(kind)) + "\"} 0"));
    }
  }
  EXPECT_THAT(std::vector<std::string_view>(std::begin(kQueryTypes), std::end(kQueryTypes)),
              ::testing::UnorderedElementsAre("kv_cache", "queue_length", "workload", "calibration",
                                              "cache_config"));
  // Counting still starts from the zero series.
  m.RecordPromQuery("kv_cache", 0.2, ErrorKind::kTimeout);
  EXPECT_THAT(
      m.Serialize(),
      HasSubstr(R"(wva_prometheus_query_errors_total{query_type="kv_cache",reason="timeout"} 1)"));
}

// Upstream WVA labels its per-variant series controller_instance when CONTROLLER_INSTANCE is
// set; without it, no such label at all (not an empty one).
TEST(WvaMetrics, ControllerInstanceLabelOnlyWhenSet) {
  WvaMetrics plain;
  plain.SetVariant({"v", "ns", "H100"}, 2, 1);
  EXPECT_THAT(plain.Serialize(), Not(HasSubstr("controller_instance")));

  WvaMetrics m;
  m.SetControllerInstance("blue");
  m.SetVariant({"v", "ns", "H100"}, 2, 1);
  m.SetVariantCost({"v", "ns", "H100"}, "5.0");
  m.RecordScaling("v", "ns", "up", "saturated");
  const std::string text = m.Serialize();
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wva_desired_replicas{accelerator_type="H100",controller_instance="blue",exported_namespace="ns",namespace="ns",variant_name="v"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wva_current_replicas{accelerator_type="H100",controller_instance="blue",exported_namespace="ns",namespace="ns",variant_name="v"} 1)"));
  EXPECT_THAT(
      text, HasSubstr(R"(wva_desired_ratio{accelerator_type="H100",controller_instance="blue",)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wva_variant_cost_info{accelerator_type="H100",controller_instance="blue",cost="5.0",)"));
  EXPECT_THAT(text,
              HasSubstr(R"(wva_replica_scaling_total{controller_instance="blue",direction="up",)"));
  // Controller-wide series stay unlabelled.
  EXPECT_THAT(text, HasSubstr("wva_leader_status 0"));
  m.RemoveVariant("ns", "v");
  EXPECT_THAT(m.Serialize(), Not(HasSubstr("wva_desired_replicas{")));
}

TEST(WvaMetrics, LabelValuesAreEscapedInExposition) {
  WvaMetrics m;
  m.SetVariant({"v\"q", "n\\s", "a\nb"}, 1, 1);
  std::string text = m.Serialize();
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(accelerator_type="a\nb",exported_namespace="n\\s",namespace="n\\s",variant_name="v\"q")"));
}

}  // namespace
}  // namespace wva::prom
