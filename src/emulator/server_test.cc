#include "emulator/server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/curl_client.h"

namespace wva::emulator {
namespace {

using ::testing::HasSubstr;

TEST(ParseVariantSpec, Forms) {
  auto v = ParseVariantSpec(
      "namespace=prod,model=meta/llama-70b,name=llama-l40s,replicas=2,kv=0.5,queue=3,blocks=100");
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->ns, "prod");
  EXPECT_EQ(v->model, "meta/llama-70b");
  EXPECT_EQ(v->name, "llama-l40s");
  EXPECT_EQ(v->replicas, 2);
  EXPECT_EQ(v->fixed.kv, 0.5);
  EXPECT_EQ(v->fixed.waiting, 3);
  EXPECT_EQ(v->profile.num_gpu_blocks(), 100);
  EXPECT_EQ(v->profile.max_batch, DefaultReplicaProfile().max_batch);  // emulator default
  EXPECT_FALSE(ParseVariantSpec("namespace=a,model=b"));
  EXPECT_FALSE(ParseVariantSpec("namespace=a,model=b,name=c,replicas=x"));
  EXPECT_FALSE(ParseVariantSpec("namespace=a,model=b,name=c,color=red"));
  EXPECT_FALSE(ParseVariantSpec("namespace=a,model=b,name=c,blocks=0"));
  EXPECT_FALSE(ParseVariantSpec("garbage"));
  EXPECT_FALSE(ParseVariantSpec("namespace=a,model=b,name=c,profile=x"));  // no resolver
  auto resolve = [](std::string_view n) -> StatusOr<core::PerfProfile> {
    if (n != "big") {
      return Err(NotFoundError("unknown profile"));
    }
    core::PerfProfile p = DefaultReplicaProfile();
    p.kv_capacity_tokens = 9999 * 16;
    p.max_batch = 7;
    return p;
  };
  auto big = ParseVariantSpec("namespace=a,model=b,name=c,max_seqs=3,profile=big", resolve);
  ASSERT_TRUE(big) << big.error().ToString();
  EXPECT_EQ(big->profile.num_gpu_blocks(), 9999);
  EXPECT_EQ(big->profile.max_batch, 3);  // explicit keys override the named profile
  // Canonical keys and deprecated aliases set the same fields; both at once is an error.
  auto canonical = ParseVariantSpec(
      "namespace=a,model=b,name=c,maxBatch=3,numGpuBlocks=50,alpha=7,maxModelLen=99");
  ASSERT_TRUE(canonical) << canonical.error().ToString();
  auto aliases = ParseVariantSpec(
      "namespace=a,model=b,name=c,max_seqs=3,blocks=50,alpha_ms=7,max_model_len=99");
  ASSERT_TRUE(aliases) << aliases.error().ToString();
  EXPECT_EQ(canonical->profile, aliases->profile);
  EXPECT_EQ(canonical->profile.kv_capacity_tokens, 50 * 16);
  EXPECT_FALSE(ParseVariantSpec("namespace=a,model=b,name=c,maxBatch=3,max_seqs=3"));
  EXPECT_FALSE(ParseVariantSpec("namespace=a,model=b,name=c,alpha=-1"));
  EXPECT_FALSE(ParseVariantSpec("namespace=a,model=b,name=c,alpha=nan"));
  EXPECT_FALSE(ParseVariantSpec("namespace=a,model=b,name=c,profile=small", resolve));
}

TEST(EmulatorServer, ServesMetricsAndControl) {
  FakeClock clock;
  Emulator e(clock, nullptr);
  EmulatorServer server(e);
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port) << port.error().ToString();
  auto hc = http::CurlHttpClient::Create({});
  ASSERT_TRUE(hc);
  std::string base = "http://127.0.0.1:" + std::to_string(*port);
  http::Request add;
  add.method = "POST";
  add.url = base + "/control/pods";
  add.body = R"({"namespace":"ns","model":"m","pod":"p0","kv":0.4,"waiting":1})";
  auto r = (*hc)->Do(add);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
  http::Request set;
  set.method = "PUT";
  set.url = base + "/control/pods/ns/p0";
  set.body = R"({"kv":0.95})";
  r = (*hc)->Do(set);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  http::Request metrics;
  metrics.url = base + "/metrics";
  r = (*hc)->Do(metrics);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(
      r->body,
      HasSubstr(R"(vllm:kv_cache_usage_perc{model_name="m",namespace="ns",pod="p0"} 0.95)"));
  EXPECT_THAT(r->body,
              HasSubstr(R"(vllm:num_requests_waiting{model_name="m",namespace="ns",pod="p0"} 1)"));
  http::Request del;
  del.method = "DELETE";
  del.url = base + "/control/pods/ns/p0";
  r = (*hc)->Do(del);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(e.pod_count(), 0u);
  server.Stop();
}

}  // namespace
}  // namespace wva::emulator
