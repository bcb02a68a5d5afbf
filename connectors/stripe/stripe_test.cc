#include <gtest/gtest.h>

#include <utility>

#include "connectors/stripe/stripe_connector.h"
#include "connectors/stripe/stripe_simulator.h"
#include "connectors/stripe/stripe_transformers.h"
#include "connectors/stripe/stripe_webhook.h"
#include "connectors/testing/conformance_suite.h"
#include "services/common/crypto.h"
#include "services/common/json.h"

namespace paymux::connectors::stripe {
namespace {

using testing::Scenario;

// The vector in /work/shared/providers/README.md (official stripe npm generateTestHeaderString).
constexpr char kVectorSecret[] = "whsec_test_secret";
constexpr int64_t kVectorTime = 1700000000;
constexpr char kVectorBody[] =
    R"({"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":1000,"currency":"eur","status":"succeeded"}}})";
constexpr char kVectorHeader[] =
    "t=1700000000,v1=5c466bf26db847b45741a41835f0cd36f10fafb47168e17e386c8f0847fc41e2";

TEST(StripeSignature, ReproducesTheReadmeVectorByteForByte) {
  EXPECT_EQ(signatureHeader(kVectorSecret, kVectorTime, kVectorBody), kVectorHeader);
}

TEST(StripeSignature, AcceptsTheVectorInsideTheToleranceAndRejectsItAfter) {
  EXPECT_TRUE(verifySignature(kVectorHeader, kVectorBody, kVectorSecret, kVectorTime, 300).ok);
  EXPECT_TRUE(
      verifySignature(kVectorHeader, kVectorBody, kVectorSecret, kVectorTime + 300, 300).ok);
  auto stale = verifySignature(kVectorHeader, kVectorBody, kVectorSecret, kVectorTime + 301, 300);
  EXPECT_FALSE(stale.ok);
  EXPECT_EQ(stale.reason, "timestamp outside tolerance");
  EXPECT_FALSE(
      verifySignature(kVectorHeader, kVectorBody, kVectorSecret, kVectorTime - 301, 300).ok);
}

TEST(StripeSignature, AnyMatchingV1PassesEvenAfterAWrongOne) {
  std::string header = "t=1700000000,v1=" + std::string(64, '0') +
                       ",v1=5c466bf26db847b45741a41835f0cd36f10fafb47168e17e386c8f0847fc41e2,v0=ab";
  EXPECT_TRUE(verifySignature(header, kVectorBody, kVectorSecret, kVectorTime, 300).ok);
}

TEST(StripeSignature, RejectsWrongSecretTamperedBodyAndMalformedHeaders) {
  EXPECT_FALSE(verifySignature(kVectorHeader, kVectorBody, "whsec_other", kVectorTime, 300).ok);
  std::string tampered = kVectorBody;
  tampered.replace(tampered.find("1000"), 4, "9000");
  EXPECT_FALSE(verifySignature(kVectorHeader, tampered, kVectorSecret, kVectorTime, 300).ok);
  EXPECT_FALSE(verifySignature("", kVectorBody, kVectorSecret, kVectorTime, 300).ok);
  EXPECT_FALSE(verifySignature(kVectorHeader, kVectorBody, "", kVectorTime, 300).ok);
  // Only a v0 (test-mode legacy) signature: not accepted.
  EXPECT_FALSE(
      verifySignature(
          "t=1700000000,v0=5c466bf26db847b45741a41835f0cd36f10fafb47168e17e386c8f0847fc41e2",
          kVectorBody, kVectorSecret, kVectorTime, 300)
          .ok);
  EXPECT_FALSE(verifySignature("v1=5c46", kVectorBody, kVectorSecret, kVectorTime, 300).ok);
  EXPECT_FALSE(verifySignature("t=17x,v1=00", kVectorBody, kVectorSecret, kVectorTime, 300).ok);
  // A second timestamp must not let a fresh t ride on an old signature.
  std::string two_t = std::string(kVectorHeader) + ",t=1700000001";
  EXPECT_FALSE(verifySignature(two_t, kVectorBody, kVectorSecret, kVectorTime, 300).ok);
}

TEST(StripeSignature, ConnectorUsesConfiguredSecretAndTolerance) {
  config::ConnectorConfig c;
  c.id = "stripe-eu";
  c.base_url = "https://api.stripe.com";
  c.credentials["secret_key"] = Secret("sk_test_x");
  c.webhook.secret = Secret(kVectorSecret);
  c.webhook.tolerance_s = 10;
  auto connector = makeStripeConnector(c);
  WebhookRequest hook{{{"stripe-signature", kVectorHeader}}, kVectorBody, kVectorTime + 10};
  EXPECT_TRUE(connector->verifyWebhook(hook).ok);
  hook.now_unix = kVectorTime + 11;
  EXPECT_FALSE(connector->verifyWebhook(hook).ok);
}

TEST(StripeEvents, ParsesTheVectorEvent) {
  ProviderEvent ev = parseEvent(kVectorBody);
  EXPECT_EQ(ev.event_id, "evt_1");
  EXPECT_EQ(ev.event_type, "payment_intent.succeeded");
  EXPECT_EQ(ev.provider_ref, "pi_1");
  ASSERT_TRUE(ev.status.has_value());
  EXPECT_EQ(*ev.status, TxStatus::kSucceeded);
  EXPECT_EQ(ev.amount_minor, 1000);
  EXPECT_EQ(ev.currency, "EUR");
}

TEST(StripeEvents, PaymentFailedCarriesTheDeclineCodeAndOurId) {
  ProviderEvent ev = parseEvent(
      R"({"id":"evt_2","object":"event","created":1700000100,"type":"payment_intent.payment_failed",
          "data":{"object":{"id":"pi_2","object":"payment_intent","amount":500,"currency":"gbp",
          "status":"requires_payment_method","metadata":{"paymux_id":"col_abc"},
          "last_payment_error":{"type":"card_error","code":"card_declined",
          "decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}}})");
  ASSERT_TRUE(ev.status.has_value());
  EXPECT_EQ(*ev.status, TxStatus::kFailed);
  ASSERT_TRUE(ev.failure.has_value());
  EXPECT_EQ(ev.failure->code, "insufficient_funds");
  EXPECT_EQ(ev.our_id, "col_abc");
  EXPECT_EQ(ev.occurred_at_unix, 1700000100);
  EXPECT_EQ(ev.currency, "GBP");
}

TEST(StripeEvents, PayoutFailedUsesFailureCode) {
  ProviderEvent ev = parseEvent(
      R"({"id":"evt_3","type":"payout.failed","created":1,"data":{"object":{"id":"po_3",
          "object":"payout","amount":100,"currency":"eur","status":"failed",
          "failure_code":"account_closed","metadata":{"paymux_id":"pay_x"}}}})");
  EXPECT_EQ(ev.status, TxStatus::kFailed);
  EXPECT_EQ(ev.failure->code, "account_closed");
  EXPECT_EQ(ev.our_id, "pay_x");
}

TEST(StripeEvents, UntrackedTypesAreIgnoredNotErrors) {
  ProviderEvent ev = parseEvent(
      R"({"id":"evt_4","type":"payment_intent.created","data":{"object":{"id":"pi_4"}}})");
  EXPECT_FALSE(ev.status.has_value());
  EXPECT_EQ(ev.event_id, "evt_4");
}

TEST(StripeEvents, UnknownStatusIsProcessingAndMalformedBodiesThrow) {
  std::string status;
  ProviderEvent ev = parseEvent(
      R"({"id":"evt_5","type":"payout.updated","data":{"object":{"id":"po_5","object":"payout",
          "status":"some_future_status"}}})",
      &status);
  EXPECT_EQ(ev.status, TxStatus::kProcessing);
  EXPECT_EQ(status, "some_future_status");
  EXPECT_THROW(parseEvent("not json"), WebhookParseError);
  EXPECT_THROW(parseEvent(R"({"type":"payout.paid"})"), WebhookParseError);
  EXPECT_THROW(parseEvent(R"({"id":"evt_6","type":"payout.paid","data":{}})"), WebhookParseError);
}

/// The conformance suite against StripeSimulator.
class StripeHarness : public testing::ConformanceHarness {
 public:
  StripeHarness() : sim_(simOptions()) {
    config_.id = "stripe-test";
    config_.type = "stripe";
    config_.base_url = sim_.baseUrl();
    config_.credentials["secret_key"] = Secret("sk_test_conformance");
    config_.webhook.secret = Secret("whsec_conformance");
    config_.timeout_ms = 400;
    connector_ = makeStripeConnector(config_);
  }
  Connector& connector() override { return *connector_; }
  bool supports(Kind) const override { return true; }
  PaymentRequest request(Kind kind, Scenario scenario) override {
    static const char* kTokens[] = {"tok_success", "tok_decline", "tok_timeout", "tok_error",
                                    "tok_unknown"};
    PaymentRequest r;
    r.kind = kind;
    r.transaction_id = crypto::randomId(kind == Kind::kCollect ? "col" : "pay");
    r.amount_minor = 1234;
    r.currency = "EUR";
    r.reference = "conf";
    r.idempotency_key = r.transaction_id + "-stripe-test";
    std::string token = kTokens[static_cast<int>(scenario)];
    if (kind == Kind::kCollect) {
      r.payment_method = {"card", token, "", ""};
    } else {
      r.beneficiary.type = "provider_account";
      r.beneficiary.account_id = token;
    }
    return r;
  }
  TxStatus successStatus(Kind kind) const override {
    return kind == Kind::kCollect ? TxStatus::kSucceeded : TxStatus::kPaid;
  }
  long providerObjects() override { return sim_.objectsCreated(); }
  WebhookRequest signedWebhook(const PaymentRequest& request, const ProviderPayment& payment,
                               TxStatus status, int64_t timestamp, const std::string& event_id,
                               bool wrong_secret) override {
    auto [type, wire] = stripeEventFor(request.kind, status);
    auto hook = sim_.event(payment.provider_ref, type, wire, false, event_id, timestamp);
    if (wrong_secret) hook.signature = signatureHeader("whsec_wrong", timestamp, hook.body);
    return WebhookRequest{{{"stripe-signature", hook.signature}}, hook.body, 0};
  }
  WebhookRequest unknownStatusWebhook(const PaymentRequest& request,
                                      const ProviderPayment& payment) override {
    std::string type =
        request.kind == Kind::kCollect ? "payment_intent.processing" : "payout.updated";
    auto hook = sim_.event(payment.provider_ref, type, "some_future_status", false);
    return WebhookRequest{{{"stripe-signature", hook.signature}}, hook.body, 0};
  }
  bool signsTimestamp() const override { return true; }

 private:
  /// The event type and object status Stripe would send for our status.
  static std::pair<std::string, std::string> stripeEventFor(Kind kind, TxStatus status) {
    if (kind == Kind::kPayout) {
      switch (status) {
        case TxStatus::kPaid:
          return {"payout.paid", "paid"};
        case TxStatus::kFailed:
          return {"payout.failed", "failed"};
        case TxStatus::kCanceled:
          return {"payout.canceled", "canceled"};
        case TxStatus::kInTransit:
          return {"payout.updated", "in_transit"};
        default:
          return {"payout.created", "pending"};
      }
    }
    switch (status) {
      case TxStatus::kSucceeded:
        return {"payment_intent.succeeded", "succeeded"};
      case TxStatus::kFailed:
        return {"payment_intent.payment_failed", "requires_payment_method"};
      case TxStatus::kCanceled:
        return {"payment_intent.canceled", "canceled"};
      case TxStatus::kRequiresAction:
        return {"payment_intent.requires_action", "requires_action"};
      default:
        return {"payment_intent.processing", "processing"};
    }
  }
  static simkit::SimOptions simOptions() {
    simkit::SimOptions o;
    o.api_key = "sk_test_conformance";
    o.webhook_secret = "whsec_conformance";
    o.timeout_ms = 3000;
    return o;
  }
  StripeSimulator sim_;
  config::ConnectorConfig config_;
  std::unique_ptr<Connector> connector_;
};

INSTANTIATE_CONNECTOR_CONFORMANCE(Stripe, [] { return std::make_unique<StripeHarness>(); });
}  // namespace
}  // namespace paymux::connectors::stripe
