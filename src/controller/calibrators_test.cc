// Feeding the calibrators: pods reach the calibrator of their own variant's (namespace, model,
// accelerator), foreign pods feed nothing, and calibrators of vanished variants are forgotten.
#include "controller/calibrators.h"

#include <gtest/gtest.h>

#include "controller/cycle_va_testing.h"

namespace wva::controller {
namespace {

nlohmann::json Va(const std::string& name, const std::string& model, const std::string& accel) {
  return {
      {"metadata", {{"name", name}, {"namespace", "prod"}, {"generation", 1}}},
      {"spec", {{"scaleTargetRef", {{"name", name}}}, {"modelID", model}, {"accelerator", accel}}}};
}

prom::PodCalibrationSample Sample(double batch, double itl_ms, bool prefill) {
  prom::PodCalibrationSample s;
  s.itl = prom::ItlSample{batch, itl_ms, 100, 1000, 200};
  if (prefill) {
    s.prefill = prom::PrefillSample{1000, 95, 2, false};
  }
  return s;
}

struct Fixture {
  CycleInput in;
  prom::CalibrationSnapshot snap;
  Fixture() {
    in.vas = CycleVasOf({Va("llama-l40s", "llama", "L40S"), Va("llama-h100", "llama", "H100"),
                         Va("qwen-l40s", "qwen", "L40S")});
    for (const char* d : {"llama-l40s", "llama-h100", "qwen-l40s"}) {
      in.deployments[std::string("prod/") + d] = ParseDeployment({{"spec", {{"replicas", 1}}}});
    }
    in.pod_owner["prod"] = {
        {"l-0", "llama-l40s"}, {"l-1", "llama-l40s"}, {"h-0", "llama-h100"}, {"q-0", "qwen-l40s"}};
    auto& llama = snap.models[{"prod", "llama"}].pods;
    llama["l-0"] = Sample(8, 24, true);
    llama["l-1"] = Sample(16, 26, false);
    llama["h-0"] = Sample(8, 5, true);
    llama["stray-0"] = Sample(8, 30, true);              // no known owner
    llama["q-0"] = Sample(8, 30, true);                  // a qwen pod claiming to serve llama
    snap.models[{"prod", "llama"}].pods["idle-0"] = {};  // no sample at all: not counted
  }
};

TEST(FeedCalibrators, AttributesPodsToTheirVariant) {
  Fixture f;
  Calibrators cals;
  CalibrationFeed feed = FeedCalibrators(f.in, &f.snap, 100, {}, &cals);
  EXPECT_EQ(feed.itl_samples, 3);
  EXPECT_EQ(feed.prefill_samples, 2);
  EXPECT_EQ(feed.unattributed_pods, 2);
  EXPECT_EQ(feed.forgotten, 0);
  ASSERT_EQ(cals.size(), 2u);
  EXPECT_EQ(cals.at({"prod", "llama", "L40S"}).decode_samples(), 2);
  EXPECT_EQ(cals.at({"prod", "llama", "L40S"}).prefill_samples(), 1);
  EXPECT_EQ(cals.at({"prod", "llama", "H100"}).decode_samples(), 1);
  EXPECT_FALSE(cals.count({"prod", "qwen", "L40S"}));
}

// An ITL sample without usable prompt/output means (CollectCalibration gives none; a direct
// caller might) is refused and counted, not fitted with a guess.
TEST(FeedCalibrators, RefusesItlSamplesWhoseStallsCannotBeModelled) {
  Fixture f;
  f.snap.models[{"prod", "llama"}].pods["l-1"].itl->output_tokens = 1;
  Calibrators cals;
  CalibrationFeed feed = FeedCalibrators(f.in, &f.snap, 100, {}, &cals);
  EXPECT_EQ(feed.itl_samples, 2);
  EXPECT_EQ(feed.itl_ignored, 1);
  EXPECT_EQ(cals.at({"prod", "llama", "L40S"}).decode_samples(), 1);
  EXPECT_EQ(cals.at({"prod", "llama", "L40S"}).decode_ignored(), 1);
}

TEST(FeedCalibrators, ForgetsVanishedVariantsAndAgesTheRest) {
  Fixture f;
  core::FitOptions o;
  o.window_s = 600;
  Calibrators cals;
  FeedCalibrators(f.in, &f.snap, 100, o, &cals);
  // The H100 VA moves to A100 hardware: its old calibration no longer describes it.
  f.in.vas[1] = Edited(f.in.vas[1], [](nlohmann::json& o) { o["spec"]["accelerator"] = "A100"; });
  CalibrationFeed feed = FeedCalibrators(f.in, nullptr, 200, o, &cals);
  EXPECT_EQ(feed.forgotten, 1);
  EXPECT_FALSE(cals.count({"prod", "llama", "H100"}));
  EXPECT_EQ(cals.at({"prod", "llama", "L40S"}).decode_samples(), 2);
  // No samples for longer than the window: the survivor is emptied, not kept stale.
  FeedCalibrators(f.in, nullptr, 100 + 601, o, &cals);
  EXPECT_EQ(cals.at({"prod", "llama", "L40S"}).decode_samples(), 0);
  // A VA whose Deployment is gone takes its calibrator with it.
  f.in.deployments.erase("prod/llama-l40s");
  EXPECT_EQ(FeedCalibrators(f.in, nullptr, 800, o, &cals).forgotten, 1);
  EXPECT_TRUE(cals.empty());
}

TEST(FeedCalibrators, KeysFollowThePlannersAcceleratorResolution) {
  Fixture f;
  f.in.vas[0] = Edited(f.in.vas[0], [](nlohmann::json& o) { o["spec"].erase("accelerator"); });
  nlohmann::json l40s = {{"spec", {{"replicas", 1}}}};
  l40s["spec"]["template"]["spec"]["nodeSelector"][kGpuProductSelector] = "NVIDIA-L40S";
  f.in.deployments["prod/llama-l40s"] = ParseDeployment(l40s);
  auto keys = VariantCalibrationKeys(f.in);
  ASSERT_TRUE(keys.count("prod/llama-l40s"));
  EXPECT_EQ(keys.at("prod/llama-l40s").accelerator,
            ResolveAccelerator(*f.in.vas[0].spec(), f.in.deployments["prod/llama-l40s"].get()));
  EXPECT_EQ(keys.at("prod/llama-h100").accelerator, "H100");
}

}  // namespace
}  // namespace wva::controller
