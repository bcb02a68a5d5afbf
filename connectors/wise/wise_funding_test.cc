// How create() classifies each step's outcome, with scripted provider answers (no network).
#include <gtest/gtest.h>

#include <deque>

#include "connectors/wise/wise_connector.h"
#include "connectors/wise/wise_transformers.h"

namespace paymux::connectors::wise {
namespace {

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
  ScriptedExecutor& fail(http::TransportError error) {
    http::HttpResult r;
    r.error = error;
    r.error_message = "scripted transport failure";
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

constexpr const char* kQuote = R"({"id":"11144c35-9fe8-4c32-b7fd-d05ac2104f8d","rate":1})";
constexpr const char* kRecipient = R"({"id":13967081,"accountHolderName":"Ada"})";
constexpr const char* kWaiting =
    R"({"id":777,"status":"incoming_payment_waiting","targetCurrency":"EUR","targetValue":12.34})";

class WiseFunding : public ::testing::Test {
 protected:
  WiseFunding() {
    config::ConnectorConfig c;
    c.id = "wise-scripted";
    c.type = "wise";
    c.base_url = "https://wise.invalid";
    c.credentials["api_token"] = Secret("tok_secret");
    c.settings["profile_id"] = "16055450";
    connector_ = makeWiseConnector(c);
    request_.kind = Kind::kPayout;
    request_.transaction_id = "pay_123";
    request_.amount_minor = 1234;
    request_.currency = "EUR";
    request_.beneficiary = {"bank_account", "Ada Lovelace", "DE89370400440532013000", "", "", "",
                            "", ""};
  }
  /// Scripts the three calls before funding (the transfer answer is `transfer`).
  ScriptedExecutor& upToTransfer(const char* transfer = kWaiting) {
    return executor_.answer(200, kQuote).answer(200, kRecipient).answer(200, transfer);
  }
  CallResult create() { return connector_->create(request_, executor_); }

  std::unique_ptr<Connector> connector_;
  PaymentRequest request_;
  ScriptedExecutor executor_;
};

TEST_F(WiseFunding, RequestsFollowWisesShapes) {
  upToTransfer().answer(200, R"({"type":"BALANCE","status":"COMPLETED","errorCode":null})");
  auto result = create();
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  EXPECT_EQ(std::get<ProviderPayment>(result).provider_ref, "777");
  EXPECT_EQ(std::get<ProviderPayment>(result).amount_minor, 1234);
  const auto& sent = executor_.sent;
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].url, "https://wise.invalid/v3/profiles/16055450/quotes");
  EXPECT_EQ(sent[1].url, "https://wise.invalid/v1/accounts");
  EXPECT_EQ(sent[2].url, "https://wise.invalid/v1/transfers");
  EXPECT_EQ(sent[3].url, "https://wise.invalid/v3/profiles/16055450/transfers/777/payments");
  for (const auto& s : sent) {
    EXPECT_EQ(s.method, "POST");
    EXPECT_EQ(s.headers[0].second, "Bearer tok_secret");
  }
  EXPECT_NE(sent[1].body.find(R"("profile":16055450)"), std::string::npos) << sent[1].body;
  EXPECT_NE(sent[2].body.find(R"("targetAccount":13967081)"), std::string::npos) << sent[2].body;
  EXPECT_NE(sent[2].body.find(R"("quoteUuid":"11144c35-9fe8-4c32-b7fd-d05ac2104f8d")"),
            std::string::npos);
  EXPECT_NE(sent[2].body.find(customerTransactionId("pay_123")), std::string::npos);
  EXPECT_EQ(sent[3].body, R"({"type":"BALANCE"})");
}

TEST_F(WiseFunding, TransferPastFundingIsNotFundedAgain) {
  upToTransfer(R"({"id":777,"status":"processing","targetCurrency":"EUR","targetValue":12.34})");
  auto result = create();
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  EXPECT_EQ(std::get<ProviderPayment>(result).status, TxStatus::kProcessing);
  EXPECT_EQ(executor_.sent.size(), 3u);
}

TEST_F(WiseFunding, RefusedSecondFundingDefersToTheTransfersState) {
  upToTransfer()
      .answer(422, R"({"errors":[{"code":"transfer.invalid-state","message":"x"}]})")
      .answer(200, R"({"id":777,"status":"funds_converted","targetCurrency":"EUR"})");
  auto result = create();
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  EXPECT_EQ(std::get<ProviderPayment>(result).status, TxStatus::kInTransit);
  ASSERT_EQ(executor_.sent.size(), 5u);
  EXPECT_EQ(executor_.sent[4].method, "GET");
  EXPECT_EQ(executor_.sent[4].url, "https://wise.invalid/v1/transfers/777");
}

TEST_F(WiseFunding, RejectedFundingIsAFailedPayout) {
  upToTransfer()
      .answer(200,
              R"({"type":"BALANCE","status":"REJECTED","errorCode":"transfer.insufficient_funds"})")
      .answer(200, R"({"id":777,"status":"cancelled"})");
  auto result = create();
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  const auto& p = std::get<ProviderPayment>(result);
  EXPECT_EQ(p.status, TxStatus::kFailed);
  ASSERT_TRUE(p.failure.has_value());
  EXPECT_EQ(p.failure->code, "transfer.insufficient_funds");
  EXPECT_EQ(p.provider_ref, "777");
  ASSERT_EQ(executor_.sent.size(), 5u) << "a failed payout's transfer is cancelled";
  EXPECT_EQ(executor_.sent[4].method, "PUT");
  EXPECT_EQ(executor_.sent[4].url, "https://wise.invalid/v1/transfers/777/cancel");
}

struct Outcome {
  bool retryable, outcome_unknown;
};

Outcome errorOf(const CallResult& result) {
  EXPECT_TRUE(std::holds_alternative<ConnectorError>(result));
  if (!std::holds_alternative<ConnectorError>(result)) return {};
  const auto& e = std::get<ConnectorError>(result);
  return {e.retryable, e.outcome_unknown};
}

TEST_F(WiseFunding, FundingFailuresNeverFailOverAndAreUnknownOnlyIfMaybeSent) {
  upToTransfer().answer(500, R"({"errors":[{"code":"error.system"}]})");
  auto r500 = create();
  EXPECT_EQ(std::get<ConnectorError>(r500).provider_ref, "777");
  auto o = errorOf(r500);
  EXPECT_FALSE(o.retryable);
  EXPECT_TRUE(o.outcome_unknown);

  upToTransfer().fail(http::TransportError::kTimeoutAfterSend);
  o = errorOf(create());
  EXPECT_FALSE(o.retryable);
  EXPECT_TRUE(o.outcome_unknown);

  upToTransfer().fail(http::TransportError::kConnect);
  o = errorOf(create());
  EXPECT_FALSE(o.retryable);
  EXPECT_FALSE(o.outcome_unknown) << "the funding request never left: nothing was funded";

  upToTransfer().answer(429, "{}").answer(200, R"({"id":777,"status":"cancelled"})");
  o = errorOf(create());
  EXPECT_FALSE(o.retryable);
  EXPECT_FALSE(o.outcome_unknown);
}

TEST_F(WiseFunding, FailuresBeforeFundingMayFailOver) {
  executor_.fail(http::TransportError::kTimeoutAfterSend);
  auto o = errorOf(create());
  EXPECT_TRUE(o.retryable) << "a lost quote answer moved no money";
  EXPECT_FALSE(o.outcome_unknown);

  executor_.answer(200, kQuote).answer(503, "{}");
  o = errorOf(create());
  EXPECT_TRUE(o.retryable);

  executor_.answer(200, kQuote)
      .answer(200, kRecipient)
      .fail(http::TransportError::kTimeoutAfterSend);
  o = errorOf(create());
  EXPECT_TRUE(o.retryable) << "a transfer that may exist is unfunded";
  EXPECT_FALSE(o.outcome_unknown);

  executor_.answer(200, kQuote).answer(422, R"({"errors":[{"code":"NOT_VALID"}]})");
  auto rejected = create();
  o = errorOf(rejected);
  EXPECT_FALSE(o.retryable);
  EXPECT_EQ(std::get<ConnectorError>(rejected).code, "NOT_VALID");
}

}  // namespace
}  // namespace paymux::connectors::wise
