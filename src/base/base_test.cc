#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/duration.h"
#include "base/log.h"
#include "base/status.h"

namespace wva {
namespace {

using namespace std::chrono_literals;

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(OkStatus().ok());
  Status s = InvalidArgumentError("bad");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: bad");
  EXPECT_EQ(s.WithPrefix("file.yaml").message(), "file.yaml: bad");
}

StatusOr<int> Half(int x) {
  if (x % 2) {
    return Err(InvalidArgumentError("odd"));
  }
  return x / 2;
}
StatusOr<int> Quarter(int x) {
  WVA_ASSIGN_OR_RETURN(int h, Half(x));
  WVA_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusOr, AssignOrReturnPropagates) {
  EXPECT_EQ(Quarter(8).value(), 2);
  EXPECT_EQ(Quarter(6).error().message(), "odd");
}

TEST(Duration, ParsesGoSyntax) {
  EXPECT_EQ(ParseDuration("30s").value(), 30s);
  EXPECT_EQ(ParseDuration("2m").value(), 120s);
  EXPECT_EQ(ParseDuration("1h30m").value(), 5400s);
  EXPECT_EQ(ParseDuration("500ms").value(), 500ms);
  EXPECT_EQ(ParseDuration("1.5s").value(), 1500ms);
  EXPECT_EQ(ParseDuration("0").value(), 0s);
}

TEST(Duration, RejectsBadInputWithClearMessage) {
  for (const char* bad : {"", "30", "abc", "-5s", "5x", "1..2s", "s"}) {
    auto r = ParseDuration(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_NE(ParseDuration("30").error().message().find("missing unit"), std::string::npos);
}

TEST(Duration, Formats) {
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(500ms), "500ms");
  EXPECT_EQ(FormatDuration(0s), "0s");
  EXPECT_EQ(FormatDuration(3600s), "1h0m0s");
}

TEST(FakeClock, AdvancesBothClocks) {
  FakeClock c;
  auto s0 = c.Now();
  auto w0 = c.WallNow();
  c.Advance(5s);
  EXPECT_EQ(c.Now() - s0, 5s);
  EXPECT_EQ(c.WallNow() - w0, 5s);
  EXPECT_EQ(FormatRfc3339(w0), "2025-01-01T00:00:00Z");
}

TEST(Log, JsonLinesWithRedaction) {
  std::vector<std::string> lines;
  log::SetSink([&](std::string_view l) { lines.emplace_back(l); });
  log::Logger("test").Info("hello \"world\"", {{"token", "s3cret"}, {"n", 3}});
  log::Logger("test").Debug("hidden");
  log::ResetSink();
  ASSERT_EQ(lines.size(), 1u);
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["msg"], "hello \"world\"");
  EXPECT_EQ(j["logger"], "test");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["token"], "[redacted]");
  EXPECT_EQ(j["n"], 3);
  EXPECT_EQ(lines[0].find("s3cret"), std::string::npos);
}

TEST(Backoff, DoublesToCap) {
  Backoff b(800ms, 30s);
  EXPECT_EQ(b.Next(), 800ms);
  EXPECT_EQ(b.Next(), 1600ms);
  for (int i = 0; i < 10; ++i) {
    b.Next();
  }
  EXPECT_EQ(b.Next(), 30s);
  b.Reset();
  EXPECT_EQ(b.Next(), 800ms);
}

}  // namespace
}  // namespace wva
