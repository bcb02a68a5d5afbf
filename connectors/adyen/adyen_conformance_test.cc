// The connector against its simulator: the shared conformance suite, the simulator's schema
// check, and webhooks delivered over HTTP.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "connectors/adyen/adyen_connector.h"
#include "connectors/adyen/adyen_sim_schema.h"
#include "connectors/adyen/adyen_simulator.h"
#include "connectors/adyen/adyen_webhooks.h"
#include "connectors/simkit/sim_server.h"
#include "connectors/testing/conformance_suite.h"
#include "services/common/crypto.h"
#include "services/common/json.h"

namespace paymux::connectors::adyen {
namespace {

using testing::Scenario;

constexpr const char* kApiKey = "adyen_conformance_key";
constexpr const char* kHmacKey = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
constexpr const char* kWrongKey =
    "0000000000000000000000000000000000000000000000000000000000000001";

simkit::SimOptions simOptions(const std::string& webhook_url = "") {
  simkit::SimOptions o;
  o.api_key = kApiKey;
  o.webhook_secret = kHmacKey;
  o.webhook_url = webhook_url;
  o.timeout_ms = 3000;
  o.async_ms = 100;
  o.extra["merchant_account"] = "PaymuxTestMerchant";
  return o;
}

config::ConnectorConfig connectorConfig(const std::string& base_url) {
  config::ConnectorConfig c;
  c.id = "adyen-test";
  c.type = "adyen";
  c.base_url = base_url;
  c.credentials["api_key"] = Secret(kApiKey);
  c.webhook.secret = Secret(kHmacKey);
  c.settings["merchant_account"] = "PaymuxTestMerchant";
  c.settings["balance_account_id"] = "BA00000000000000000000001";
  c.timeout_ms = 400;
  return c;
}

PaymentRequest paymentRequest(Kind kind, const std::string& token) {
  PaymentRequest r;
  r.kind = kind;
  r.transaction_id = crypto::randomId(kind == Kind::kCollect ? "col" : "pay");
  r.amount_minor = 1234;
  r.currency = "EUR";
  r.reference = "conf-" + token;
  r.description = "Conformance, " + token;
  r.idempotency_key = r.transaction_id + "-adyen-test";
  if (kind == Kind::kCollect) {
    r.payment_method = {"card", token, "", ""};
    r.customer = {"cus_conformance", "ada@example.com", "Ada Lovelace", "NL"};
  } else {
    // The simulator reads the scenario from the account holder's name.
    r.beneficiary.type = "bank_account";
    r.beneficiary.name = token;
    r.beneficiary.iban = "NL91ABNA0417164300";
  }
  return r;
}

class AdyenHarness : public testing::ConformanceHarness {
 public:
  AdyenHarness()
      : sim_(simOptions()), connector_(makeAdyenConnector(connectorConfig(sim_.baseUrl()))) {}
  ~AdyenHarness() override {
    // why: the simulator validates every body against Adyen's schemas; a rejected body would
    // otherwise only show up as some scenario's odd error.
    EXPECT_EQ(sim_.schemaFailures(), 0) << "the connector sent a body Adyen's schema rejects";
  }

  Connector& connector() override { return *connector_; }
  bool supports(Kind) const override { return true; }
  PaymentRequest request(Kind kind, Scenario scenario) override {
    static const char* kTokens[] = {"tok_success", "tok_decline", "tok_timeout", "tok_error",
                                    "tok_unknown"};
    return paymentRequest(kind, kTokens[static_cast<int>(scenario)]);
  }
  // A fresh transfer is "received": the payout is processing until booked / credited.
  TxStatus successStatus(Kind kind) const override {
    return kind == Kind::kCollect ? TxStatus::kSucceeded : TxStatus::kProcessing;
  }
  long providerObjects() override { return sim_.objectsCreated(); }

  WebhookRequest signedWebhook(const PaymentRequest& request, const ProviderPayment& payment,
                               TxStatus status, int64_t, const std::string&,
                               bool wrong_secret) override {
    if (request.kind == Kind::kPayout) {
      std::string wire = status == TxStatus::kPaid || status == TxStatus::kInTransit ? "booked"
                         : status == TxStatus::kFailed                               ? "failed"
                         : status == TxStatus::kReturned                             ? "returned"
                                                                                     : "authorised";
      auto hook = sim_.transferWebhook(payment.provider_ref, wire, false,
                                       status == TxStatus::kPaid ? "credited" : "");
      std::string signature =
          wrong_secret ? hmacBase64(kWrongKey, hook.body).value() : hook.signature;
      return WebhookRequest{{{"hmacsignature", signature}}, hook.body, 0};
    }
    // Adyen event ids come from the item itself (pspReference:eventCode:success).
    AdyenSimulator::SignedWebhook hook;
    if (status == TxStatus::kCanceled) {
      AdyenSimulator::NotificationSpec spec;
      spec.psp_reference = "MOD" + payment.provider_ref.substr(3);
      spec.original_reference = payment.provider_ref;
      spec.event_code = "CANCELLATION";
      hook = sim_.notificationBatch({spec}, false);
    } else {
      hook = sim_.notification(payment.provider_ref, "AUTHORISATION", status != TxStatus::kFailed,
                               false);
    }
    if (wrong_secret) {
      hook.body = buildNotificationBody(parseNotificationItems(hook.body), kWrongKey);
    }
    return WebhookRequest{{}, hook.body, 0};
  }
  WebhookRequest unknownStatusWebhook(const PaymentRequest& request,
                                      const ProviderPayment& payment) override {
    if (request.kind == Kind::kPayout) {
      auto hook = sim_.transferWebhook(payment.provider_ref, "somethingNew", false);
      return WebhookRequest{{{"hmacsignature", hook.signature}}, hook.body, 0};
    }
    return WebhookRequest{
        {}, sim_.notification(payment.provider_ref, "SOMETHING_NEW", true, false).body, 0};
  }
  bool signsTimestamp() const override { return false; }

 private:
  AdyenSimulator sim_;
  std::unique_ptr<Connector> connector_;
};

INSTANTIATE_CONNECTOR_CONFORMANCE(Adyen, [] { return std::make_unique<AdyenHarness>(); });

// Records what the simulator delivers, standing in for paymux's webhook endpoint.
class Receiver {
 public:
  Receiver()
      : server_("127.0.0.1", 0, [this](const simkit::SimRequest& r) {
          std::lock_guard lock(mutex_);
          received_.push_back(WebhookRequest{r.headers, r.body, 0});
          return simkit::SimResponse{200, "[accepted]"};
        }) {}
  std::string url() const { return server_.baseUrl() + "/webhooks/adyen-test"; }
  /// Waits until `n` webhooks arrived (or 5 s passed) and returns them.
  std::vector<WebhookRequest> waitFor(size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (received_.size() >= n) return received_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  std::mutex mutex_;
  std::vector<WebhookRequest> received_;
  simkit::SimServer server_;
};

TEST(AdyenSimulator, BodyThatFailsTheOfficialSchemaIsRejected) {
  AdyenSimulator sim(simOptions());
  http::CurlExecutor executor;
  http::HttpRequestSpec spec{"POST",
                             sim.baseUrl() + "/v71/payments",
                             {{"X-API-Key", kApiKey}, {"Content-Type", "application/json"}},
                             // amount.value as a string and no merchantAccount / returnUrl
                             R"({"amount":{"value":"1000","currency":"EUR"},"reference":"x",)"
                             R"("paymentMethod":{"type":"scheme","storedPaymentMethodId":"t"}})"};
  auto result = executor.send(spec, std::chrono::milliseconds(2000));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.response.status, 422);
  EXPECT_NE(result.response.body.find("\"errorCode\":\"702\""), std::string::npos);
  spec.url = sim.baseUrl() + "/btl/v4/transfers";
  spec.body =
      R"({"amount":{"value":1,"currency":"EUR"},"category":"bank","counterparty":{},"foo":1})";
  result = executor.send(spec, std::chrono::milliseconds(2000));
  EXPECT_EQ(result.response.status, 422);
  EXPECT_EQ(sim.schemaFailures(), 2);
  EXPECT_EQ(sim.objectsCreated(), 0);

  spec.headers = {{"X-API-Key", "wrong"}};
  EXPECT_EQ(executor.send(spec, std::chrono::milliseconds(2000)).response.status, 401);
}

TEST(AdyenSimSchema, NestedRefsOneOfAndEnumsAreEnforced) {
  RequestSchema payments(defaultSchemaDir(), "PaymentRequest.schema.json");
  RequestSchema transfers(defaultSchemaDir(), "TransferInfo.schema.json");
  const std::string base =
      R"({"amount":{"value":1000,"currency":"EUR"},"merchantAccount":"M","reference":"r",)"
      R"("returnUrl":"https://example.invalid/return",)";
  EXPECT_EQ(
      payments.check(base + R"("paymentMethod":{"type":"scheme","storedPaymentMethodId":"t"}})"),
      std::nullopt);
  const std::string kBadPayments[] = {
      R"("paymentMethod":{"type":"scheme","storedPaymentMethodId":"t","bogus":1}})",
      R"("paymentMethod":{"type":"no_such_method"}})",
      R"("paymentMethod":{"type":"sepadirectdebit"}})",
      R"("paymentMethod":{"type":"scheme"},"shopperInteraction":"Sometimes"})",
      R"("paymentMethod":{"type":"scheme"},"metadata":{"k":1}})",
      R"("paymentMethod":{"type":"scheme"},"shopperReference":"ab"})",
  };
  for (const auto& tail : kBadPayments) {
    EXPECT_NE(payments.check(base + tail), std::nullopt) << tail;
  }
  // Adyen's own example request (TransferService-v4.json, payout-local-transfer-sepa).
  const std::string example =
      R"({"amount":{"value":110000,"currency":"EUR"},)"
      R"("balanceAccountId":"BAB8B2C3D4E5F6G7H8D9J6GD4","category":"bank",)"
      R"("counterparty":{"bankAccount":{"accountHolder":{"fullName":"A. Klaassen"},)"
      R"("accountIdentification":{"type":"iban","iban":"NL91ABNA0417164300"}}},)"
      R"("priority":"regular",)"
      R"("referenceForBeneficiary":"Your-reference-sent-to-the-beneficiary",)"
      R"("reference":"Your internal reference for the transfer",)"
      R"("description":"Your description for the transfer"})";
  EXPECT_EQ(transfers.check(example), std::nullopt);
  std::string no_iban = example;
  no_iban.replace(no_iban.find(R"(,"iban":"NL91ABNA0417164300")"), 28, "");
  EXPECT_NE(transfers.check(no_iban), std::nullopt);
  std::string bad_category = example;
  bad_category.replace(bad_category.find(R"("bank")"), 6, R"("banks")");
  EXPECT_NE(transfers.check(bad_category), std::nullopt);
  EXPECT_NE(transfers.check("{not json"), std::nullopt);
}

TEST(AdyenSimulator, EveryRequestShapeTheConnectorBuildsPassesTheSchema) {
  AdyenSimulator sim(simOptions());
  auto connector = makeAdyenConnector(connectorConfig(sim.baseUrl()));
  http::CurlExecutor executor;
  std::vector<PaymentRequest> requests;
  requests.push_back(paymentRequest(Kind::kCollect, "tok_success"));
  auto sepa = paymentRequest(Kind::kCollect, "tok_success");
  sepa.payment_method = {"sepa_debit", "", "tok_success", ""};
  requests.push_back(sepa);
  auto uk = paymentRequest(Kind::kPayout, "tok_success");
  uk.beneficiary.iban.clear();
  uk.beneficiary.account_number = "55779911";
  uk.beneficiary.sort_code = "200000";
  requests.push_back(uk);
  auto us = uk;
  us.transaction_id += "u";
  us.idempotency_key += "u";
  us.beneficiary.sort_code.clear();
  us.beneficiary.routing_number = "011000138";
  requests.push_back(us);
  auto instrument = paymentRequest(Kind::kPayout, "tok_success");
  instrument.beneficiary = {};
  instrument.beneficiary.type = "provider_account";
  instrument.beneficiary.account_id = "SE00000000000000000000001";
  requests.push_back(instrument);
  for (const auto& r : requests) {
    auto result = connector->create(r, executor);
    EXPECT_TRUE(std::holds_alternative<ProviderPayment>(result)) << r.transaction_id;
  }
  EXPECT_EQ(sim.schemaFailures(), 0);
  EXPECT_EQ(sim.objectsCreated(), static_cast<long>(requests.size()));
}

TEST(AdyenSimulator, RedirectScenarioRequiresActionWithUrl) {
  AdyenSimulator sim(simOptions());
  auto connector = makeAdyenConnector(connectorConfig(sim.baseUrl()));
  http::CurlExecutor executor;
  auto result = connector->create(paymentRequest(Kind::kCollect, "tok_action"), executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  const auto& p = std::get<ProviderPayment>(result);
  EXPECT_EQ(p.status, TxStatus::kRequiresAction);
  EXPECT_FALSE(p.redirect_url.empty());
}

TEST(AdyenSimulator, AsyncPaymentIsSettledByADeliveredAuthorisation) {
  Receiver receiver;
  AdyenSimulator sim(simOptions(receiver.url()));
  auto connector = makeAdyenConnector(connectorConfig(sim.baseUrl()));
  http::CurlExecutor executor;
  auto request = paymentRequest(Kind::kCollect, "tok_async");
  auto result = connector->create(request, executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  EXPECT_EQ(std::get<ProviderPayment>(result).status, TxStatus::kProcessing);
  auto hooks = receiver.waitFor(1);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_TRUE(connector->verifyWebhook(hooks[0]).ok);
  auto events = connector->parseWebhook(hooks[0]);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].provider_ref, std::get<ProviderPayment>(result).provider_ref);
  EXPECT_EQ(events[0].our_id, request.transaction_id);
  EXPECT_EQ(events[0].status, TxStatus::kSucceeded);
}

TEST(AdyenSimulator, PayoutIsBookedThenCreditedByTransferWebhooks) {
  Receiver receiver;
  AdyenSimulator sim(simOptions(receiver.url()));
  auto connector = makeAdyenConnector(connectorConfig(sim.baseUrl()));
  http::CurlExecutor executor;
  auto request = paymentRequest(Kind::kPayout, "tok_success");
  auto result = connector->create(request, executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  auto hooks = receiver.waitFor(2);
  ASSERT_EQ(hooks.size(), 2u);
  std::vector<TxStatus> statuses;
  for (const auto& hook : hooks) {
    EXPECT_TRUE(connector->verifyWebhook(hook).ok);
    auto events = connector->parseWebhook(hook);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].our_id, request.transaction_id);
    statuses.push_back(events[0].status.value_or(TxStatus::kPending));
  }
  EXPECT_EQ(statuses, (std::vector<TxStatus>{TxStatus::kInTransit, TxStatus::kPaid}));
}

TEST(AdyenSimulator, SimWebhooksEndpointBuildsABatch) {
  AdyenSimulator sim(simOptions());
  http::CurlExecutor executor;
  http::HttpRequestSpec spec{
      "POST",
      sim.baseUrl() + "/sim/webhooks",
      {{"Content-Type", "application/json"}},
      R"({"deliver":false,"items":[)"
      R"({"psp_reference":"A1","merchant_reference":"col_1","amount":5,"currency":"EUR"},)"
      R"({"psp_reference":"A2","merchant_reference":"col_2","success":"false","amount":6,)"
      R"("currency":"EUR"}]})"};
  auto result = executor.send(spec, std::chrono::milliseconds(2000));
  ASSERT_EQ(result.response.status, 200);
  rapidjson::Document doc;
  doc.Parse(result.response.body.c_str());
  std::string body = doc["body"].GetString();
  auto connector = makeAdyenConnector(connectorConfig(sim.baseUrl()));
  EXPECT_TRUE(connector->verifyWebhook({{}, body, 0}).ok);
  auto events = connector->parseWebhook({{}, body, 0});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].status, TxStatus::kFailed);
}

}  // namespace
}  // namespace paymux::connectors::adyen
