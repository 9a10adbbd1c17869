#include "controller/config_cache.h"

#include <gtest/gtest.h>

namespace wva::controller {
namespace {

TEST(ConfigCache, HotReloadKeepsLastGoodAndLogsExactLine) {
  ConfigCache cache;
  EXPECT_DOUBLE_EQ(cache.Get()->Resolve("m", "ns").kv_cache_threshold, 0.8);
  auto r1 = cache.Update({{"default", "kvCacheThreshold: 0.7\n"}});
  EXPECT_TRUE(r1.errors.empty());
  EXPECT_TRUE(r1.changed);
  EXPECT_EQ(r1.log_line, "Saturation scaling config cache updated entries=1 has_default=true");
  auto snapshot = cache.Get();
  auto r2 = cache.Update(
      {{"default", "kvCacheThreshold: nope\n"}, {"m#ns", "queueLengthThreshold: 2\n"}});
  ASSERT_EQ(r2.errors.size(), 1u);
  EXPECT_EQ(r2.errors[0].key, "default");
  EXPECT_EQ(r2.errors[0].field, "kvCacheThreshold");
  EXPECT_EQ(r2.log_line, "Saturation scaling config cache updated entries=2 has_default=true");
  EXPECT_DOUBLE_EQ(cache.Get()->Resolve("m", "ns").kv_cache_threshold, 0.7);
  EXPECT_DOUBLE_EQ(cache.Get()->Resolve("m", "ns").queue_length_threshold, 2);
  // A snapshot taken earlier is unaffected (cycles see one consistent config).
  EXPECT_DOUBLE_EQ(snapshot->Resolve("m", "ns").queue_length_threshold, 5);
  auto r3 = cache.Update({});
  EXPECT_EQ(r3.log_line, "Saturation scaling config cache updated entries=0 has_default=false");
  auto r4 = cache.Update({});
  EXPECT_FALSE(r4.changed);
}

TEST(ConfigCache, IgnoredUpstreamKeysReportedOnceEntryApplied) {
  ConfigCache cache;
  const std::map<std::string, std::string> data = {
      {"default", "kvCacheThreshold: 0.7\nenableLimiter: true\n"}};
  auto r1 = cache.Update(data);
  EXPECT_TRUE(r1.errors.empty());
  ASSERT_EQ(r1.ignored.size(), 1u);
  EXPECT_EQ(r1.ignored[0].key, "default");
  EXPECT_EQ(r1.ignored[0].field, "enableLimiter");
  EXPECT_DOUBLE_EQ(cache.Get()->Resolve("m", "ns").kv_cache_threshold, 0.7);
  // Re-delivered (resync, unrelated edit): not reported again.
  EXPECT_TRUE(cache.Update(data).ignored.empty());
}

}  // namespace
}  // namespace wva::controller
