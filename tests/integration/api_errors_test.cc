// Every error code of API.md's table that the payments API covers, over real HTTP and PostgreSQL.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

class ApiErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ApiHarness::Options o;
    o.max_body_bytes = 4096;
    harness_ = new ApiHarness(o);
    key_ = harness_->newTenantKey();
  }
  static void TearDownTestSuite() { delete harness_; }

  void expectError(const http::HttpResult& r, long status, const std::string& code,
                   const std::string& param = "") {
    ASSERT_TRUE(r.ok()) << r.error_message;
    EXPECT_EQ(r.response.status, status) << r.response.body;
    auto d = parse(r.response.body);
    ASSERT_TRUE(d.IsObject() && d.HasMember("error")) << r.response.body;
    EXPECT_STREQ(d["error"]["code"].GetString(), code.c_str()) << r.response.body;
    EXPECT_TRUE(d["error"].HasMember("type"));
    EXPECT_TRUE(d["error"].HasMember("message"));
    if (!param.empty()) {
      ASSERT_TRUE(d["error"].HasMember("param")) << r.response.body;
      EXPECT_STREQ(d["error"]["param"].GetString(), param.c_str());
    }
    EXPECT_FALSE(r.response.header("x-request-id").empty());
  }
  static ApiHarness* harness_;
  static std::string key_;
};
ApiHarness* ApiErrors::harness_ = nullptr;
std::string ApiErrors::key_;

TEST_F(ApiErrors, MissingKeyIs401AuthenticationRequired) {
  expectError(harness_->post("/v1/collections", collectionBody(), ""), 401,
              "authentication_required");
}

TEST_F(ApiErrors, UnknownKeyIs401ApiKeyInvalid) {
  expectError(harness_->post("/v1/collections", collectionBody(), "pmx_test_doesnotexist12345678"),
              401, "api_key_invalid");
  expectError(harness_->call("GET", "/v1/events", "", "", "", {{"Authorization", "Basic abc"}}),
              401, "api_key_invalid");
}

TEST_F(ApiErrors, MalformedJsonIs400JsonInvalid) {
  expectError(harness_->post("/v1/collections", "{\"amount\": 10", key_), 400, "json_invalid");
  expectError(harness_->post("/v1/collections", "[1,2]", key_), 400, "json_invalid");
  expectError(harness_->post("/v1/collections", "{\"a\":\"\xff\xfe\"}", key_), 400, "json_invalid");
}

TEST_F(ApiErrors, MissingFieldIs400ParameterMissingWithDottedPath) {
  expectError(harness_->post("/v1/collections",
                             R"({"currency":"EUR","reference":"r","payment_method":{"type":"card","token":"t"}})",
                             key_),
              400, "parameter_missing", "amount");
  expectError(harness_->post("/v1/collections",
                             R"({"amount":5,"currency":"EUR","reference":"r","payment_method":{"token":"t"}})",
                             key_),
              400, "parameter_missing", "payment_method.type");
}

TEST_F(ApiErrors, UnknownFieldIs400ParameterUnknown) {
  expectError(harness_->post("/v1/collections",
                             R"({"amount":5,"currency":"EUR","reference":"r","payment_method":{"type":"card","token":"t"},"colour":"red"})",
                             key_),
              400, "parameter_unknown", "colour");
  expectError(harness_->post("/v1/collections",
                             R"({"amount":5,"currency":"EUR","reference":"r","payment_method":{"type":"card","token":"t","cvc":"123"}})",
                             key_),
              400, "parameter_unknown", "payment_method.cvc");
}

TEST_F(ApiErrors, BadValuesAre400ParameterInvalid) {
  expectError(harness_->post("/v1/collections", collectionBody(0), key_), 400, "parameter_invalid",
              "amount");
  expectError(harness_->post("/v1/collections", collectionBody(-5), key_), 400,
              "parameter_invalid", "amount");
  expectError(harness_->post("/v1/collections", collectionBody(1000000000001), key_), 400,
              "parameter_invalid", "amount");
  expectError(harness_->post("/v1/collections",
                             R"({"amount":10.5,"currency":"EUR","reference":"r","payment_method":{"type":"card","token":"t"}})",
                             key_),
              400, "parameter_invalid", "amount");
  expectError(harness_->post("/v1/collections",
                             R"({"amount":9223372036854775808,"currency":"EUR","reference":"r","payment_method":{"type":"card","token":"t"}})",
                             key_),
              400, "parameter_invalid", "amount");
  expectError(harness_->post("/v1/collections", collectionBody(100, "eur"), key_), 400,
              "parameter_invalid", "currency");
  expectError(harness_->post("/v1/collections", collectionBody(100, "XYZ"), key_), 400,
              "parameter_invalid", "currency");
  expectError(harness_->post("/v1/collections", collectionBody(100, "EUR", "tok", ""), key_), 400,
              "parameter_invalid", "reference");
}

TEST_F(ApiErrors, OverlongMetadataKeyIsRejected) {
  std::string body =
      R"({"amount":5,"currency":"EUR","reference":"r","payment_method":{"type":"card","token":"t"},"metadata":{")" +
      std::string(41, 'k') + R"(":"v"}})";
  expectError(harness_->post("/v1/collections", body, key_), 400, "parameter_invalid", "metadata");
}

TEST_F(ApiErrors, OversizedBodyIs413) {
  std::string big = collectionBody(100, "EUR", "tok_success", std::string(5000, 'x'));
  expectError(harness_->post("/v1/collections", big, key_), 413, "body_too_large");
}

TEST_F(ApiErrors, WrongContentTypeIs415) {
  expectError(harness_->call("POST", "/v1/collections", collectionBody(), key_, "",
                             {{"Content-Type", "text/plain"}}),
              415, "content_type_unsupported");
  expectError(harness_->call("POST", "/v1/collections", collectionBody(), key_, "",
                             {{"Content-Type", "application/x-www-form-urlencoded"}}),
              415, "content_type_unsupported");
}

TEST_F(ApiErrors, NoRouteIs422) {
  expectError(harness_->post("/v1/collections", collectionBody(100, "JPY"), key_), 422, "no_route");
  // A forced connector that cannot take the currency: still no_route.
  std::string forced =
      R"({"amount":5,"currency":"EUR","reference":"r","payment_method":{"type":"card","token":"t"},"connector":"sandbox-usd"})";
  expectError(harness_->post("/v1/collections", forced, key_), 422, "no_route", "connector");
  std::string unknown =
      R"({"amount":5,"currency":"EUR","reference":"r","payment_method":{"type":"card","token":"t"},"connector":"nope"})";
  expectError(harness_->post("/v1/collections", unknown, key_), 400, "parameter_invalid",
              "connector");
}

TEST_F(ApiErrors, UnknownIdIs404ResourceMissing) {
  expectError(harness_->call("GET", "/v1/collections/col_doesnotexist", "", key_), 404,
              "resource_missing");
  expectError(harness_->call("GET", "/v1/events/evt_doesnotexist", "", key_), 404,
              "resource_missing");
  expectError(harness_->call("GET", "/v1/nothing-here", "", key_), 404, "resource_missing");
}

TEST_F(ApiErrors, BadListParametersAre400) {
  expectError(harness_->call("GET", "/v1/collections?limit=0", "", key_), 400, "parameter_invalid",
              "limit");
  expectError(harness_->call("GET", "/v1/collections?limit=101", "", key_), 400,
              "parameter_invalid", "limit");
  expectError(harness_->call("GET", "/v1/events?after_sequence=-1", "", key_), 400,
              "parameter_invalid", "after_sequence");
}

TEST_F(ApiErrors, RequestIdIsEchoedOrGenerated) {
  auto r = harness_->call("GET", "/healthz", "", "", "", {{"X-Request-Id", "abc-123"}});
  EXPECT_EQ(r.response.header("x-request-id"), "abc-123");
  auto generated = harness_->call("GET", "/healthz");
  EXPECT_EQ(generated.response.header("x-request-id").rfind("req_", 0), 0u);
}

TEST_F(ApiErrors, HealthAndReadiness) {
  EXPECT_EQ(harness_->call("GET", "/healthz").response.status, 200);
  EXPECT_EQ(harness_->call("GET", "/readyz").response.status, 200);
  auto metrics = harness_->call("GET", "/metrics");
  EXPECT_EQ(metrics.response.status, 200);
  EXPECT_NE(metrics.response.body.find("paymux_http_requests_total"), std::string::npos);
  EXPECT_NE(metrics.response.body.find("paymux_http_request_duration_seconds_bucket"),
            std::string::npos);
}

}  // namespace
}  // namespace paymux::testing
