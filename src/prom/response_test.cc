#include "prom/response.h"

#include <cmath>

#include <gtest/gtest.h>

namespace wva::prom {
namespace {

TEST(ParseQueryResponse, Vector) {
  auto out = ParseQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"pod":"a","namespace":"ns"},"value":[1700000000.123,"0.75"]},
    {"metric":{"pod":"b"},"value":[1700000000.123,"6"]}]}})");
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->type, ResultType::kVector);
  ASSERT_EQ(out->samples.size(), 2u);
  EXPECT_EQ(out->samples[0].labels.at("pod"), "a");
  EXPECT_EQ(out->samples[0].labels.at("namespace"), "ns");
  EXPECT_DOUBLE_EQ(out->samples[0].point.value, 0.75);
  EXPECT_DOUBLE_EQ(out->samples[0].point.timestamp, 1700000000.123);
  EXPECT_EQ(out->samples[0].point.value_class, ValueClass::kFinite);
  EXPECT_DOUBLE_EQ(out->samples[1].point.value, 6);
  EXPECT_FALSE(out->empty());
}

TEST(ParseQueryResponse, EmptyVectorIsOkButEmpty) {
  auto out =
      ParseQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->empty());
  auto null_result =
      ParseQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":null}})");
  ASSERT_TRUE(null_result);
  EXPECT_TRUE(null_result->empty());
}

TEST(ParseQueryResponse, SpecialValues) {
  auto out = ParseQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"pod":"n"},"value":[1,"NaN"]},
    {"metric":{"pod":"p"},"value":[1,"+Inf"]},
    {"metric":{"pod":"m"},"value":[1,"-Inf"]},
    {"metric":{"pod":"e"},"value":[1,"1.5e-3"]},
    {"metric":{"pod":"neg"},"value":[1,"-2"]}]}})");
  ASSERT_TRUE(out);
  ASSERT_EQ(out->samples.size(), 5u);
  EXPECT_EQ(out->samples[0].point.value_class, ValueClass::kNaN);
  EXPECT_TRUE(std::isnan(out->samples[0].point.value));
  EXPECT_EQ(out->samples[1].point.value_class, ValueClass::kPosInf);
  EXPECT_EQ(out->samples[2].point.value_class, ValueClass::kNegInf);
  EXPECT_DOUBLE_EQ(out->samples[3].point.value, 0.0015);
  EXPECT_EQ(out->samples[4].point.value_class, ValueClass::kFinite);
  EXPECT_DOUBLE_EQ(out->samples[4].point.value, -2);
}

TEST(ParseQueryResponse, Scalar) {
  auto out = ParseQueryResponse(
      R"({"status":"success","data":{"resultType":"scalar","result":[12.5,"42"]}})");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->type, ResultType::kScalar);
  ASSERT_EQ(out->samples.size(), 1u);
  EXPECT_DOUBLE_EQ(out->samples[0].point.value, 42);
  EXPECT_TRUE(out->samples[0].labels.empty());
  EXPECT_FALSE(out->empty());
}

TEST(ParseQueryResponse, Matrix) {
  auto out = ParseQueryResponse(R"({"status":"success","data":{"resultType":"matrix","result":[
    {"metric":{"pod":"a"},"values":[[1,"1"],[2,"NaN"],[3,"3"]]}]}})");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->type, ResultType::kMatrix);
  ASSERT_EQ(out->series.size(), 1u);
  ASSERT_EQ(out->series[0].points.size(), 3u);
  EXPECT_EQ(out->series[0].points[1].value_class, ValueClass::kNaN);
  EXPECT_DOUBLE_EQ(out->series[0].points[2].timestamp, 3);
}

TEST(ParseQueryResponse, StringResult) {
  auto out = ParseQueryResponse(
      R"({"status":"success","data":{"resultType":"string","result":[1,"hello"]}})");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->type, ResultType::kString);
  EXPECT_EQ(out->string_value, "hello");
}

TEST(ParseQueryResponse, ApiErrorIsNamed) {
  auto out = ParseQueryResponse(
      R"({"status":"error","errorType":"bad_data","error":"parse error at char 4"})", 400);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::kApiError);
  EXPECT_EQ(out.error().error_type, "bad_data");
  EXPECT_EQ(out.error().http_status, 400);
  EXPECT_NE(out.error().message.find("parse error at char 4"), std::string::npos);
  EXPECT_EQ(out.error().ToString(),
            "prometheus api_error: Prometheus query error (bad_data): parse error at char 4");
  EXPECT_EQ(out.error().ToStatus().code(), StatusCode::kFailedPrecondition);
}

TEST(ParseQueryResponse, Warnings) {
  auto out = ParseQueryResponse(
      R"({"status":"success","warnings":["w1"],"data":{"resultType":"vector","result":[]}})");
  ASSERT_TRUE(out);
  ASSERT_EQ(out->warnings.size(), 1u);
  EXPECT_EQ(out->warnings[0], "w1");
}

TEST(ParseQueryResponse, NonJsonStatuses) {
  auto unavailable = ParseQueryResponse("<html>bad gateway</html>", 502);
  ASSERT_FALSE(unavailable);
  EXPECT_EQ(unavailable.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(unavailable.error().ToStatus().code(), StatusCode::kUnavailable);
  auto unauthorized = ParseQueryResponse("Unauthorized", 401);
  ASSERT_FALSE(unauthorized);
  EXPECT_EQ(unauthorized.error().kind, ErrorKind::kUnauthorized);
  auto bad = ParseQueryResponse("not json", 200);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kBadResponse);
}

TEST(ParseQueryResponse, MalformedBodiesAreBadResponse) {
  const char* cases[] = {
      "",
      "[]",
      "null",
      R"({"status":1})",
      R"({"status":"weird"})",
      R"({"status":"success"})",
      R"({"status":"success","data":[]})",
      R"({"status":"success","data":{"resultType":"vector"}})",
      R"({"status":"success","data":{"resultType":"nope","result":[]}})",
      R"({"status":"success","data":{"resultType":"vector","result":{}}})",
      R"({"status":"success","data":{"resultType":"vector","result":[1]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,1]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["1","1"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}})",
      R"({"status":"success","data":{"resultType":"scalar","result":"1"}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1]]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"nan"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"inf"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,""]}]}})",
  };
  for (const char* c : cases) {
    auto out = ParseQueryResponse(c);
    ASSERT_FALSE(out) << c;
    EXPECT_EQ(out.error().kind, ErrorKind::kBadResponse) << c;
  }
}

TEST(ParseSampleValue, Numbers) {
  Point p;
  ASSERT_TRUE(ParseSampleValue("1e400", &p));
  EXPECT_EQ(p.value_class, ValueClass::kPosInf);
  ASSERT_TRUE(ParseSampleValue("-1e400", &p));
  EXPECT_EQ(p.value_class, ValueClass::kNegInf);
  ASSERT_TRUE(ParseSampleValue("1e-400", &p));
  EXPECT_EQ(p.value_class, ValueClass::kFinite);
  EXPECT_EQ(p.value, 0);
  ASSERT_TRUE(ParseSampleValue("+3", &p));
  EXPECT_EQ(p.value, 3);
  ASSERT_TRUE(ParseSampleValue(".5", &p));
  EXPECT_EQ(p.value, 0.5);
  EXPECT_FALSE(ParseSampleValue("1.0x", &p));
  EXPECT_FALSE(ParseSampleValue("+", &p));
  EXPECT_FALSE(ParseSampleValue("-", &p));
  EXPECT_FALSE(ParseSampleValue("0x10", &p));
}

TEST(ErrorKindName, AllDistinct) {
  EXPECT_EQ(ErrorKindName(ErrorKind::kApiError), "api_error");
  EXPECT_EQ(ErrorKindName(ErrorKind::kBadResponse), "bad_response");
  EXPECT_EQ(ErrorKindName(ErrorKind::kUnavailable), "unavailable");
  EXPECT_EQ(ErrorKindName(ErrorKind::kTimeout), "timeout");
  EXPECT_EQ(ErrorKindName(ErrorKind::kUnauthorized), "unauthorized");
  EXPECT_EQ(ErrorKindName(ErrorKind::kTls), "tls");
  EXPECT_EQ(ErrorKindName(ErrorKind::kConfig), "config");
}

}  // namespace
}  // namespace wva::prom
