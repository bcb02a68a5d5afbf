#include "connectors/stripe/stripe_transformers.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "connectors/stripe/stripe_webhook.h"
#include "services/common/json.h"

namespace paymux::connectors::stripe {
namespace {

TEST(StripeStatus, EveryPaymentIntentStatusMaps) {
  struct Case {
    const char* wire;
    bool payment_error;
    TxStatus expected;
  };
  for (const auto& c :
       std::initializer_list<Case>{{"requires_payment_method", true, TxStatus::kFailed},
                                   {"requires_payment_method", false, TxStatus::kPending},
                                   {"requires_confirmation", false, TxStatus::kPending},
                                   {"requires_action", false, TxStatus::kRequiresAction},
                                   {"processing", false, TxStatus::kProcessing},
                                   {"requires_capture", false, TxStatus::kProcessing},
                                   {"canceled", false, TxStatus::kCanceled},
                                   {"succeeded", false, TxStatus::kSucceeded},
                                   {"some_future_status", false, TxStatus::kProcessing}}) {
    EXPECT_EQ(toTxStatus(intentStatusFromString(c.wire), c.payment_error), c.expected) << c.wire;
  }
  EXPECT_TRUE(isUnknownStatus(Kind::kCollect, "some_future_status"));
  EXPECT_FALSE(isUnknownStatus(Kind::kCollect, "requires_capture"));
}

TEST(StripeStatus, EveryPayoutStatusMaps) {
  EXPECT_EQ(toTxStatus(payoutStatusFromString("pending")), TxStatus::kProcessing);
  EXPECT_EQ(toTxStatus(payoutStatusFromString("in_transit")), TxStatus::kInTransit);
  EXPECT_EQ(toTxStatus(payoutStatusFromString("paid")), TxStatus::kPaid);
  EXPECT_EQ(toTxStatus(payoutStatusFromString("failed")), TxStatus::kFailed);
  EXPECT_EQ(toTxStatus(payoutStatusFromString("canceled")), TxStatus::kCanceled);
  EXPECT_EQ(toTxStatus(payoutStatusFromString("returned_someday")), TxStatus::kProcessing);
  EXPECT_TRUE(isUnknownStatus(Kind::kPayout, "returned_someday"));
}

PaymentRequest collectRequest() {
  PaymentRequest r;
  r.transaction_id = "col_123";
  r.amount_minor = 1050;
  r.currency = "EUR";
  r.reference = "order #42/α";
  r.description = "Café & Co = 100%+ tax";
  r.payment_method = {"card", "pm_card_visa", "", ""};
  r.idempotency_key = "col_123-stripe";
  return r;
}

TEST(StripeForms, PaymentIntentFormEncodesSpecialCharacters) {
  EXPECT_EQ(buildPaymentIntentForm(collectRequest(), ""),
            "amount=1050&currency=eur&payment_method=pm_card_visa&confirm=true"
            "&description=Caf%C3%A9%20%26%20Co%20%3D%20100%25%2B%20tax"
            "&metadata[paymux_id]=col_123&metadata[reference]=order%20%2342%2F%CE%B1"
            "&automatic_payment_methods[enabled]=true"
            "&automatic_payment_methods[allow_redirects]=never");
  std::string with_return = buildPaymentIntentForm(collectRequest(), "https://shop.example/r?a=1");
  EXPECT_NE(with_return.find("&return_url=https%3A%2F%2Fshop.example%2Fr%3Fa%3D1"),
            std::string::npos);
  EXPECT_EQ(with_return.find("allow_redirects"), std::string::npos);
}

TEST(StripeForms, PayoutForm) {
  PaymentRequest r;
  r.kind = Kind::kPayout;
  r.transaction_id = "pay_9";
  r.amount_minor = 500;
  r.currency = "ISK";  // Stripe keeps ISK two-decimal: 500 ISK is 50000 on the wire
  r.beneficiary.account_id = "ba_123";
  EXPECT_EQ(buildPayoutForm(r),
            "amount=50000&currency=isk&destination=ba_123&metadata[paymux_id]=pay_9");
}

TEST(StripeForms, AmountsFollowStripesScale) {
  EXPECT_EQ(toStripeAmount(1050, "EUR"), 1050);
  EXPECT_EQ(toStripeAmount(500, "JPY"), 500);
  EXPECT_EQ(toStripeAmount(5, "ISK"), 500);
  EXPECT_EQ(fromStripeAmount(500, "isk"), 5);
  EXPECT_EQ(fromStripeAmount(1234, "KWD"), 1234);
}

std::string fixture(const std::string& name) {
  const char* root = std::getenv("PAYMUX_SOURCE_DIR");
  if (root == nullptr) return "";
  std::ifstream in(std::string(root) + "/connectors/stripe/fixtures/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

#define LOAD_FIXTURE(var, name)                                                               \
  std::string var = fixture(name);                                                            \
  if (std::getenv("PAYMUX_SOURCE_DIR") == nullptr) GTEST_SKIP() << "PAYMUX_SOURCE_DIR unset"; \
  ASSERT_FALSE(var.empty()) << name

/// The fixture with `status` replaced (and extra members merged in from `extra` JSON).
std::string withStatus(const std::string& text, const char* status, const char* extra = "{}") {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  doc["status"].SetString(status, doc.GetAllocator());
  rapidjson::Document add;
  add.Parse(extra);
  for (auto& m : add.GetObject()) {
    doc.RemoveMember(m.name.GetString());
    doc.AddMember(rapidjson::Value(m.name, doc.GetAllocator()),
                  rapidjson::Value(m.value, doc.GetAllocator()), doc.GetAllocator());
  }
  return json::serialize(doc);
}

TEST(StripeFixtures, PaymentIntentFixture) {
  LOAD_FIXTURE(text, "payment_intent.json");
  ProviderPayment p = parseObject(text);
  EXPECT_EQ(p.provider_ref, "pi_1PgafyB7WZ01zgkWSjxsAJo3");
  EXPECT_EQ(p.amount_minor, 1099);
  EXPECT_EQ(p.currency, "USD");
  // requires_payment_method with last_payment_error set: a failed attempt.
  EXPECT_EQ(p.status, TxStatus::kFailed);
  EXPECT_EQ(p.failure->code, "idempotency_error");

  EXPECT_EQ(parseObject(withStatus(text, "succeeded", R"({"last_payment_error":null})")).status,
            TxStatus::kSucceeded);
  EXPECT_EQ(parseObject(withStatus(text, "requires_capture")).status, TxStatus::kProcessing);
  EXPECT_EQ(parseObject(withStatus(text, "canceled")).status, TxStatus::kCanceled);
  ProviderPayment action = parseObject(withStatus(text, "requires_action",
                                                  R"({"next_action":{"type":"redirect_to_url",
          "redirect_to_url":{"url":"https://hooks.stripe.com/x","return_url":null}}})"));
  EXPECT_EQ(action.status, TxStatus::kRequiresAction);
  EXPECT_EQ(action.redirect_url, "https://hooks.stripe.com/x");
}

TEST(StripeFixtures, PayoutFixture) {
  LOAD_FIXTURE(text, "payout.json");
  ProviderPayment p = parseObject(text);
  EXPECT_EQ(p.provider_ref, "po_1Pgc79B7WZ01zgkWu1KToYf4");
  EXPECT_EQ(p.status, TxStatus::kInTransit);
  EXPECT_EQ(p.amount_minor, 1100);
  EXPECT_EQ(p.currency, "USD");
  ProviderPayment failed = parseObject(withStatus(
      text, "failed", R"({"failure_code":"no_account","failure_message":"No such account"})"));
  EXPECT_EQ(failed.status, TxStatus::kFailed);
  EXPECT_EQ(failed.failure->code, "no_account");
}

TEST(StripeFixtures, OtherEventTypesAreIgnored) {
  LOAD_FIXTURE(text, "event.json");
  ProviderEvent ev = parseEvent(text);
  EXPECT_EQ(ev.event_id, "evt_1Pgc76B7WZ01zgkWwyRHS12y");
  EXPECT_EQ(ev.event_type, "plan.created");
  EXPECT_FALSE(ev.status.has_value());
  EXPECT_EQ(ev.occurred_at_unix, 1234567890);
}

TEST(StripeErrors, CardErrorIsAFailedPaymentWithTheIntentsId) {
  auto result = interpretResponse(402, R"({"error":{"type":"card_error","code":"card_declined",
      "decline_code":"insufficient_funds","message":"Your card has insufficient funds.",
      "payment_intent":{"id":"pi_7","object":"payment_intent","amount":1000,"currency":"eur",
      "status":"requires_payment_method","last_payment_error":{"code":"card_declined"}}}})");
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  const auto& p = std::get<ProviderPayment>(result);
  EXPECT_EQ(p.status, TxStatus::kFailed);
  EXPECT_EQ(p.provider_ref, "pi_7");
  EXPECT_EQ(p.failure->code, "insufficient_funds");
  EXPECT_EQ(p.amount_minor, 1000);

  auto bare = interpretResponse(402, R"({"error":{"type":"card_error","code":"expired_card"}})");
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(bare));
  EXPECT_EQ(std::get<ProviderPayment>(bare).failure->code, "expired_card");
  EXPECT_TRUE(std::get<ProviderPayment>(bare).provider_ref.empty());
}

ConnectorError errorOf(long status, const char* body) {
  auto result = interpretResponse(status, body);
  EXPECT_TRUE(std::holds_alternative<ConnectorError>(result)) << status << " " << body;
  return std::holds_alternative<ConnectorError>(result) ? std::get<ConnectorError>(result)
                                                        : ConnectorError{};
}

TEST(StripeErrors, ClientErrorsAreFinalWithStripesCode) {
  auto missing = errorOf(400, R"({"error":{"type":"invalid_request_error",
      "code":"parameter_missing","message":"Missing required param: amount."}})");
  EXPECT_FALSE(missing.retryable);
  EXPECT_FALSE(missing.outcome_unknown);
  EXPECT_EQ(missing.code, "parameter_missing");
  EXPECT_EQ(missing.http_status, 400);
  EXPECT_EQ(errorOf(400, R"({"error":{"type":"idempotency_error","message":"x"}})").code,
            "idempotency_error");
  auto auth = errorOf(401, R"({"error":{"type":"invalid_request_error",
      "message":"Invalid API Key provided: sk_test_****abcd"}})");
  EXPECT_FALSE(auth.retryable);
  EXPECT_EQ(auth.code, "authentication_error");
  EXPECT_EQ(auth.message.find("sk_"), std::string::npos) << "no key fragment in messages";
}

TEST(StripeErrors, RateLimitsAndServerErrorsAreRetryable) {
  auto limited = errorOf(429, R"({"error":{"type":"invalid_request_error","code":"rate_limit"}})");
  EXPECT_TRUE(limited.retryable);
  EXPECT_EQ(limited.code, "rate_limit");
  auto server = errorOf(500, R"({"error":{"type":"api_error","message":"boom"}})");
  EXPECT_TRUE(server.retryable);
  EXPECT_EQ(server.code, "api_error");
  EXPECT_TRUE(errorOf(503, "<html>upstream</html>").retryable);
}

TEST(StripeErrors, ConcurrentIdempotentRequestAndUnreadableSuccessAreOutcomeUnknown) {
  auto conflict = errorOf(409, R"({"error":{"type":"idempotency_error","message":"in use"}})");
  EXPECT_FALSE(conflict.retryable);
  EXPECT_TRUE(conflict.outcome_unknown);
  auto garbled = errorOf(200, "{not json");
  EXPECT_FALSE(garbled.retryable);
  EXPECT_TRUE(garbled.outcome_unknown);
}

}  // namespace
}  // namespace paymux::connectors::stripe
