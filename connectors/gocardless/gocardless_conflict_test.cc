// Request shapes and the idempotent-creation-conflict path, with scripted answers (no network).
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "connectors/gocardless/gocardless_connector.h"
#include "connectors/gocardless/gocardless_transformers.h"

namespace paymux::connectors::gocardless {
namespace {

std::string conflictFixture() {
  const char* root = std::getenv("PAYMUX_SOURCE_DIR");
  std::filesystem::path dir = root ? std::filesystem::path(root) / "connectors/gocardless/fixtures"
                                   : std::filesystem::path(__FILE__).parent_path() / "fixtures";
  std::ifstream in(dir / "idempotency_conflict.json", std::ios::binary);
  EXPECT_TRUE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Answers requests from a script, in order, and records them.
class ScriptedExecutor : public http::HttpExecutor {
 public:
  ScriptedExecutor& answer(long status, std::string body) {
    http::HttpResult r;
    r.response.status = status;
    r.response.body = std::move(body);
    script_.push_back(r);
    return *this;
  }
  http::HttpResult send(const http::HttpRequestSpec& request, std::chrono::milliseconds) override {
    sent.push_back(request);
    if (script_.empty()) {
      ADD_FAILURE() << "unexpected request " << request.method << " " << request.url;
      return http::HttpResult{http::TransportError::kConnect, "no script", {}, 0};
    }
    auto r = script_.front();
    script_.pop_front();
    return r;
  }
  std::vector<http::HttpRequestSpec> sent;

 private:
  std::deque<http::HttpResult> script_;
};

std::string header(const http::HttpRequestSpec& spec, const std::string& name) {
  for (const auto& [k, v] : spec.headers) {
    if (k == name) return v;
  }
  return "";
}

class GoCardlessScripted : public ::testing::Test {
 protected:
  GoCardlessScripted() {
    config::ConnectorConfig c;
    c.id = "gocardless-scripted";
    c.type = "gocardless";
    c.base_url = "https://gc.invalid";
    c.credentials["access_token"] = Secret("live_token");
    connector_ = makeGoCardlessConnector(c);
    request_.kind = Kind::kCollect;
    request_.transaction_id = "col_1";
    request_.amount_minor = 1500;
    request_.currency = "EUR";
    request_.reference = "INV-1";
    request_.idempotency_key = "col_1-gocardless";
    request_.payment_method = {"sepa_debit", "", "MD123", ""};
  }
  std::unique_ptr<Connector> connector_;
  PaymentRequest request_;
  ScriptedExecutor executor_;
};

TEST_F(GoCardlessScripted, CreateSendsGoCardlessShapes) {
  executor_.answer(
      201,
      R"({"payments":{"id":"PM9","status":"pending_submission","amount":1500,"currency":"EUR"}})");
  auto result = connector_->create(request_, executor_);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  EXPECT_EQ(std::get<ProviderPayment>(result).status, TxStatus::kProcessing);
  ASSERT_EQ(executor_.sent.size(), 1u);
  const auto& s = executor_.sent[0];
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.url, "https://gc.invalid/payments");
  EXPECT_EQ(header(s, "Authorization"), "Bearer live_token");
  EXPECT_EQ(header(s, "GoCardless-Version"), "2015-07-06");
  EXPECT_EQ(header(s, "Idempotency-Key"), "col_1-gocardless");
  EXPECT_EQ(s.body,
            R"({"payments":{"amount":1500,"currency":"EUR","reference":"INV-1",)"
            R"("links":{"mandate":"MD123"},"metadata":{"paymux_id":"col_1"}}})");
}

TEST_F(GoCardlessScripted, IdempotentCreationConflictFetchesTheExistingPayment) {
  executor_.answer(409, conflictFixture())
      .answer(
          200,
          R"({"payments":{"id":"PM1234","status":"confirmed","amount":1500,"currency":"EUR"}})");
  auto result = connector_->create(request_, executor_);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  EXPECT_EQ(std::get<ProviderPayment>(result).provider_ref, "PM1234");
  EXPECT_EQ(std::get<ProviderPayment>(result).status, TxStatus::kSucceeded);
  ASSERT_EQ(executor_.sent.size(), 2u);
  EXPECT_EQ(executor_.sent[1].method, "GET");
  EXPECT_EQ(executor_.sent[1].url, "https://gc.invalid/payments/PM1234");
  EXPECT_EQ(header(executor_.sent[1], "GoCardless-Version"), "2015-07-06");
}

TEST_F(GoCardlessScripted, ConflictWithAFailedFetchNeverFailsOver) {
  executor_.answer(409, conflictFixture()).answer(503, "");
  auto result = connector_->create(request_, executor_);
  ASSERT_TRUE(std::holds_alternative<ConnectorError>(result));
  const auto& err = std::get<ConnectorError>(result);
  EXPECT_FALSE(err.retryable) << "the payment exists";
  EXPECT_TRUE(err.outcome_unknown);
  EXPECT_EQ(err.provider_ref, "PM1234");
}

TEST_F(GoCardlessScripted, ErrorsCarryGoCardlessReasons) {
  executor_.answer(
      422,
      R"({"error":{"type":"validation_failed","message":"Validation failed","errors":)"
      R"([{"field":"amount","reason":"amount_too_low","message":"is too low"}],"code":422}})");
  auto result = connector_->create(request_, executor_);
  ASSERT_TRUE(std::holds_alternative<ConnectorError>(result));
  EXPECT_EQ(std::get<ConnectorError>(result).code, "amount_too_low");
  EXPECT_FALSE(std::get<ConnectorError>(result).retryable);

  executor_.answer(
      500,
      R"({"error":{"type":"gocardless","message":"Uh-oh!",)"
      R"("errors":[{"reason":"internal_server_error"}],"code":500}})");
  result = connector_->create(request_, executor_);
  EXPECT_TRUE(std::get<ConnectorError>(result).retryable);

  request_.payment_method.mandate.clear();
  result = connector_->create(request_, executor_);
  EXPECT_EQ(std::get<ConnectorError>(result).code, "mandate_required");
}

}  // namespace
}  // namespace paymux::connectors::gocardless
