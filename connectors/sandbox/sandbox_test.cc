#include <gtest/gtest.h>

#include "connectors/sandbox/sandbox_connector.h"
#include "connectors/sandbox/sandbox_simulator.h"
#include "connectors/sandbox/sandbox_transformers.h"
#include "connectors/testing/conformance_suite.h"
#include "services/common/crypto.h"

namespace paymux::connectors::sandbox {
namespace {

using testing::Scenario;

TEST(SandboxTransformers, EveryWireStatusMapsAndUnknownIsProcessing) {
  EXPECT_EQ(toTxStatus(wireStatusFromString("succeeded")), TxStatus::kSucceeded);
  EXPECT_EQ(toTxStatus(wireStatusFromString("paid")), TxStatus::kPaid);
  EXPECT_EQ(toTxStatus(wireStatusFromString("requires_action")), TxStatus::kRequiresAction);
  EXPECT_EQ(toTxStatus(wireStatusFromString("no_such_status")), TxStatus::kProcessing);
}

TEST(SandboxTransformers, SignatureHeaderIsStripeStyleHmac) {
  // Same construction as Stripe's scheme, so Stripe's published vector applies.
  std::string body =
      R"({"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":1000,"currency":"eur","status":"succeeded"}}})";
  EXPECT_EQ(signatureHeader("whsec_test_secret", 1700000000, body),
            "t=1700000000,v1=5c466bf26db847b45741a41835f0cd36f10fafb47168e17e386c8f0847fc41e2");
}

class SandboxHarness : public testing::ConformanceHarness {
 public:
  SandboxHarness() : sim_(simOptions()) {
    config_.id = "sandbox-test";
    config_.type = "sandbox";
    config_.base_url = sim_.baseUrl();
    config_.credentials["api_key"] = Secret("sk_test_conformance");
    config_.webhook.secret = Secret("whsec_conformance");
    config_.timeout_ms = 400;
    connector_ = makeSandboxConnector(config_);
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
    r.idempotency_key = r.transaction_id + "-sandbox-test";
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
  long providerObjects() override { return sim_.stats().payments; }
  WebhookRequest signedWebhook(const PaymentRequest&, const ProviderPayment& payment,
                               TxStatus status, int64_t timestamp, const std::string& event_id,
                               bool wrong_secret) override {
    auto hook = sim_.webhook(payment.provider_ref, std::string(toString(status)), false, event_id,
                             -1, "", timestamp);
    if (wrong_secret) hook.signature = signatureHeader("whsec_wrong", timestamp, hook.body);
    return WebhookRequest{{{"sandbox-signature", hook.signature}}, hook.body, 0};
  }
  WebhookRequest unknownStatusWebhook(const PaymentRequest&, const ProviderPayment& payment) override {
    auto hook = sim_.webhook(payment.provider_ref, "under_review", false);
    return WebhookRequest{{{"sandbox-signature", hook.signature}}, hook.body, 0};
  }
  bool signsTimestamp() const override { return true; }

 private:
  static SimulatorOptions simOptions() {
    SimulatorOptions o;
    o.api_key = "sk_test_conformance";
    o.webhook_secret = "whsec_conformance";
    o.timeout_ms = 3000;
    return o;
  }
  SandboxSimulator sim_;
  config::ConnectorConfig config_;
  std::unique_ptr<Connector> connector_;
};

INSTANTIATE_CONNECTOR_CONFORMANCE(Sandbox, [] { return std::make_unique<SandboxHarness>(); });

}  // namespace
}  // namespace paymux::connectors::sandbox
