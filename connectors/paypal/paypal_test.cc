// Unit tests: transformers, status tables, CRC32, certificate URL policy and the offline webhook
// signature check against the simulator's certificate. Flows are in paypal_flow_test.cc.
#include <gtest/gtest.h>

#include <array>
#include <ctime>

#include "connectors/paypal/paypal_connector.h"
#include "connectors/paypal/paypal_sim_schema.h"
#include "connectors/paypal/paypal_sim_signer.h"
#include "connectors/paypal/paypal_simulator.h"
#include "connectors/paypal/paypal_transformers.h"
#include "connectors/paypal/paypal_webhook.h"
#include "services/common/crypto.h"

namespace paymux::connectors::paypal {
namespace {

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

TEST(PayPalCrc32, MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789"), 3421780262u);
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(signedMessage("id-1", "2026-01-01T00:00:00Z", "WH1", "123456789"),
            "id-1|2026-01-01T00:00:00Z|WH1|3421780262");
}

TEST(PayPalStatus, EveryOrderAndCaptureStatusMaps) {
  EXPECT_EQ(toTxStatus(orderStatusFromString("CREATED")), TxStatus::kRequiresAction);
  EXPECT_EQ(toTxStatus(orderStatusFromString("PAYER_ACTION_REQUIRED")), TxStatus::kRequiresAction);
  EXPECT_EQ(toTxStatus(orderStatusFromString("SAVED")), TxStatus::kProcessing);
  EXPECT_EQ(toTxStatus(orderStatusFromString("APPROVED")), TxStatus::kProcessing);
  EXPECT_EQ(toTxStatus(orderStatusFromString("VOIDED")), TxStatus::kCanceled);
  EXPECT_EQ(toTxStatus(orderStatusFromString("COMPLETED")), TxStatus::kSucceeded);
  EXPECT_EQ(toTxStatus(orderStatusFromString("IN_REVIEW")), TxStatus::kProcessing);
  EXPECT_EQ(toTxStatus(captureStatusFromString("COMPLETED")), TxStatus::kSucceeded);
  EXPECT_EQ(toTxStatus(captureStatusFromString("DECLINED")), TxStatus::kFailed);
  EXPECT_EQ(toTxStatus(captureStatusFromString("FAILED")), TxStatus::kFailed);
  EXPECT_EQ(toTxStatus(captureStatusFromString("PENDING")), TxStatus::kProcessing);
  EXPECT_EQ(toTxStatus(captureStatusFromString("REFUNDED")), TxStatus::kSucceeded);
  EXPECT_EQ(toTxStatus(captureStatusFromString("PARTIALLY_REFUNDED")), TxStatus::kSucceeded);
  EXPECT_EQ(toTxStatus(captureStatusFromString("NEW_THING")), TxStatus::kProcessing);
}

TEST(PayPalStatus, PayoutItemStatusTable) {
  constexpr std::array<std::pair<const char*, TxStatus>, 10> kTable = {{
      {"SUCCESS", TxStatus::kPaid},
      {"FAILED", TxStatus::kFailed},
      {"PENDING", TxStatus::kProcessing},
      {"UNCLAIMED", TxStatus::kInTransit},
      {"RETURNED", TxStatus::kReturned},
      {"ONHOLD", TxStatus::kProcessing},
      {"BLOCKED", TxStatus::kFailed},
      {"REFUNDED", TxStatus::kReturned},
      {"REVERSED", TxStatus::kReturned},
      {"IN_REVIEW", TxStatus::kProcessing},
  }};
  for (const auto& [wire, expected] : kTable) {
    EXPECT_EQ(toTxStatus(itemStatusFromString(wire)), expected) << wire;
  }
  EXPECT_EQ(toTxStatus(batchStatusFromString("DENIED")), TxStatus::kFailed);
  EXPECT_EQ(toTxStatus(batchStatusFromString("PENDING")), TxStatus::kProcessing);
  EXPECT_EQ(toTxStatus(batchStatusFromString("PROCESSING")), TxStatus::kProcessing);
  EXPECT_EQ(toTxStatus(batchStatusFromString("SUCCESS")), TxStatus::kProcessing);
  EXPECT_EQ(toTxStatus(batchStatusFromString("CANCELED")), TxStatus::kCanceled);
}

TEST(PayPalAmounts, DecimalStringsFollowTheCurrencyExponent) {
  EXPECT_EQ(toPayPalValue(1234, "EUR", 2), "12.34");
  EXPECT_EQ(toPayPalValue(5, "USD", 2), "0.05");
  EXPECT_EQ(toPayPalValue(500, "JPY", 0), "500");
  EXPECT_EQ(toPayPalValue(1234, "KWD", 3), "1.234");
  // PayPal takes HUF and TWD in whole units although ISO 4217 gives them two decimals.
  EXPECT_EQ(toPayPalValue(150000, "HUF", 2), "1500");
  EXPECT_EQ(toPayPalValue(150050, "HUF", 2), std::nullopt);
  EXPECT_EQ(fromPayPalValue("1500", "HUF"), 150000);
  EXPECT_EQ(fromPayPalValue("12.34", "EUR"), 1234);
  EXPECT_EQ(fromPayPalValue("12,34", "EUR"), std::nullopt);
}

PaymentRequest sampleRequest(Kind kind) {
  PaymentRequest r;
  r.kind = kind;
  r.transaction_id = kind == Kind::kCollect ? "col_123" : "pay_123";
  r.amount_minor = 1234;
  r.currency = "EUR";
  r.reference = "order-42";
  r.description = "Policy 42, November";
  r.payment_method = {"paypal", "tok_success", "", ""};
  r.customer.email = "ada@example.com";
  r.beneficiary.type = "paypal";
  r.beneficiary.email = "grace@example.com";
  r.idempotency_key = r.transaction_id + "-paypal";
  return r;
}

TEST(PayPalBodies, OrderAndPayoutBodiesMatchPayPalsSchemas) {
  std::string order =
      buildOrderBody(sampleRequest(Kind::kCollect), "12.34",
                     {"https://shop.example/return", "https://shop.example/cancel", "Shop"});
  EXPECT_EQ(validateRequest(RequestSchema::kOrderRequest, order), "");
  EXPECT_NE(order.find(R"("custom_id":"col_123")"), std::string::npos);
  EXPECT_NE(order.find(R"("vault_id":"tok_success")"), std::string::npos);
  EXPECT_NE(order.find(R"("email_address":"ada@example.com")"), std::string::npos);
  auto receiver = payoutReceiver(sampleRequest(Kind::kPayout).beneficiary);
  ASSERT_TRUE(receiver.has_value());
  EXPECT_EQ(receiver->type, "EMAIL");
  std::string payout = buildPayoutBody(sampleRequest(Kind::kPayout), "12.34", *receiver, "Paid");
  EXPECT_EQ(validateRequest(RequestSchema::kCreatePayoutRequest, payout), "");
  EXPECT_NE(payout.find(R"("sender_batch_id":"pay_123")"), std::string::npos);
}

TEST(PayPalBodies, TheSchemaValidatorRefusesWhatPayPalRefuses) {
  EXPECT_NE(
      validateRequest(
          RequestSchema::kOrderRequest,
          R"({"intent":"SALE","purchase_units":[{"amount":{"currency_code":"EUR","value":"1.00"}}]})"),
      "");
  EXPECT_NE(
      validateRequest(
          RequestSchema::kOrderRequest,
          R"({"intent":"CAPTURE","purchase_units":[{"amount":{"currency_code":"EUR","value":"1,00"}}]})"),
      "");
  EXPECT_NE(validateRequest(RequestSchema::kCreatePayoutRequest,
                            R"({"sender_batch_header":{},"items":[]})"),
            "");
}

TEST(PayPalTime, Rfc3339RoundTrips) {
  EXPECT_EQ(parseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseRfc3339("2023-11-14T22:13:20Z"), 1700000000);
  EXPECT_EQ(parseRfc3339("2023-11-14T23:13:20.123+01:00"), 1700000000);
  EXPECT_EQ(parseRfc3339("2023-11-14 22:13:20"), std::nullopt);
  EXPECT_EQ(formatRfc3339(1700000000), "2023-11-14T22:13:20Z");
}

TEST(PayPalCertUrl, OnlyHttpsOnAllowedHosts) {
  CertUrlPolicy policy{{"api.paypal.com", "api.sandbox.paypal.com"}, false};
  EXPECT_EQ(checkCertUrl("https://api.paypal.com/v1/notifications/certs/CERT-1", policy), "");
  EXPECT_EQ(checkCertUrl("HTTPS://API.SANDBOX.PAYPAL.COM:443/certs/x", policy), "");
  EXPECT_NE(checkCertUrl("http://api.paypal.com/certs/x", policy), "");
  EXPECT_NE(checkCertUrl("https://evil.example/certs/x", policy), "");
  EXPECT_NE(checkCertUrl("https://api.paypal.com.evil.example/x", policy), "");
  EXPECT_NE(checkCertUrl("https://api.paypal.com@evil.example/x", policy), "");
  EXPECT_NE(checkCertUrl("ftp://api.paypal.com/x", policy), "");
  policy.allow_http = true;
  EXPECT_EQ(checkCertUrl("http://api.paypal.com/certs/x", policy), "");
}

TEST(PayPalCertificate, ExpiredCertificateDoesNotVerify) {
  SimSigner valid;
  SimSigner expired(-7200, -3600);
  std::string sig = *crypto::base64Decode(valid.sign("message"));
  EXPECT_TRUE(verifySha256WithCertificate(valid.certificatePem(), "message", sig));
  EXPECT_FALSE(verifySha256WithCertificate(valid.certificatePem(), "messagf", sig));
  std::string old_sig = *crypto::base64Decode(expired.sign("message"));
  EXPECT_FALSE(verifySha256WithCertificate(expired.certificatePem(), "message", old_sig));
}

/// Counts certificate fetches and fails them: proves a refused URL is never fetched.
class CountingExecutor : public http::HttpExecutor {
 public:
  http::HttpResult send(const http::HttpRequestSpec&, std::chrono::milliseconds) override {
    ++calls;
    http::HttpResult r;
    r.error = http::TransportError::kConnect;
    return r;
  }
  int calls = 0;
};

class PayPalWebhookTest : public ::testing::Test {
 protected:
  PayPalWebhookTest() : sim_(simkit::SimOptions{}) {}

  std::unique_ptr<PayPalConnector> connector(const std::string& cert_hosts,
                                             std::unique_ptr<http::HttpExecutor> exec = nullptr) {
    config::ConnectorConfig c;
    c.id = "paypal-unit";
    c.type = "paypal";
    c.base_url = sim_.baseUrl();
    c.credentials["client_id"] = Secret("sim_client");
    c.credentials["client_secret"] = Secret("sim_secret");
    c.settings = {{"webhook_id", sim_.webhookId()},
                  {"cert_hosts", cert_hosts},
                  {"allow_http_cert_url", "true"}};
    return std::make_unique<PayPalConnector>(c, std::move(exec));
  }
  SignedWebhook captureEvent(int64_t when = 0, const std::string& webhook_id = "") {
    EventOptions o;
    o.transmission_unix = when;
    o.webhook_id = webhook_id;
    std::string resource =
        R"({"id":"3C679366HH908993F","status":"COMPLETED","amount":{"currency_code":"EUR","value":"12.34"},"custom_id":"col_123","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}}})";
    return sim_.event("PAYMENT.CAPTURE.COMPLETED", "capture", resource, o);
  }

  PayPalSimulator sim_;
};

TEST_F(PayPalWebhookTest, SimulatorSignedWebhookVerifiesAndParses) {
  auto c = connector("127.0.0.1");
  auto hook = captureEvent();
  auto verdict = c->verifyWebhook(hook.request(now()));
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  EXPECT_TRUE(c->verifyWebhook(hook.request(now())).ok);
  EXPECT_EQ(c->certificateFetches(), 1) << "the certificate is cached by URL";
  auto events = c->parseWebhook(hook.request(now()));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id, hook.event_id);
  EXPECT_EQ(events[0].provider_ref, "5O190127TN364715T");
  EXPECT_EQ(events[0].our_id, "col_123");
  EXPECT_EQ(events[0].status, TxStatus::kSucceeded);
  EXPECT_EQ(events[0].amount_minor, 1234);
  EXPECT_EQ(events[0].currency, "EUR");
}

TEST_F(PayPalWebhookTest, TamperedBodyFails) {
  auto c = connector("127.0.0.1");
  auto hook = captureEvent();
  hook.body.replace(hook.body.find("12.34"), 5, "99.34");
  auto verdict = c->verifyWebhook(hook.request(now()));
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.reason, "signature mismatch");
}

TEST_F(PayPalWebhookTest, SignedForAnotherWebhookIdFails) {
  auto c = connector("127.0.0.1");
  EXPECT_FALSE(c->verifyWebhook(captureEvent(0, "OTHERWEBHOOK").request(now())).ok);
}

TEST_F(PayPalWebhookTest, CertificateOnANonAllowedHostIsRejectedWithoutFetching) {
  auto counting = std::make_unique<CountingExecutor>();
  CountingExecutor* fetches = counting.get();
  auto c = connector("api.paypal.com,api.sandbox.paypal.com", std::move(counting));
  auto verdict = c->verifyWebhook(captureEvent().request(now()));
  EXPECT_FALSE(verdict.ok);
  EXPECT_NE(verdict.reason.find("not in cert_hosts"), std::string::npos) << verdict.reason;
  EXPECT_EQ(fetches->calls, 0);
}

TEST_F(PayPalWebhookTest, ExpiredTransmissionTimeIsRejected) {
  auto c = connector("127.0.0.1");
  auto verdict = c->verifyWebhook(captureEvent(now() - 3600).request(now()));
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.reason, "transmission time outside tolerance");
}

TEST_F(PayPalWebhookTest, OnlySha256WithRsaIsAccepted) {
  auto c = connector("127.0.0.1");
  auto request = captureEvent().request(now());
  for (auto& [name, value] : request.headers) {
    if (name == "paypal-auth-algo") value = "SHA1withRSA";
  }
  EXPECT_FALSE(c->verifyWebhook(request).ok);
}

TEST(PayPalEvents, EventFamiliesParse) {
  auto approved = parseEvent(
      R"({"id":"WH-1","event_type":"CHECKOUT.ORDER.APPROVED","create_time":"2023-11-14T22:13:20Z","resource":{"id":"ORDER1","status":"APPROVED","purchase_units":[{"custom_id":"col_1","amount":{"currency_code":"JPY","value":"500"}}]}})");
  ASSERT_EQ(approved.size(), 1u);
  EXPECT_EQ(approved[0].status, TxStatus::kProcessing);
  EXPECT_EQ(approved[0].provider_ref, "ORDER1");
  EXPECT_EQ(approved[0].our_id, "col_1");
  EXPECT_EQ(approved[0].amount_minor, 500);
  EXPECT_EQ(approved[0].occurred_at_unix, 1700000000);
  // A refund's COMPLETED is not the capture's: no status change.
  auto refund = parseEvent(
      R"({"id":"WH-2","event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"REF1","status":"COMPLETED"}})");
  EXPECT_FALSE(refund.at(0).status.has_value());
  auto returned = parseEvent(
      R"({"id":"WH-3","event_type":"PAYMENT.PAYOUTS-ITEM.RETURNED","resource":{"payout_item_id":"ITEM1","transaction_status":"RETURNED","payout_item":{"sender_item_id":"pay_1","amount":{"currency":"EUR","value":"1.00"}}}})");
  EXPECT_EQ(returned.at(0).status, TxStatus::kReturned);
  EXPECT_EQ(returned.at(0).our_id, "pay_1");
  EXPECT_EQ(returned.at(0).amount_minor, 100);
  auto declined = parseEvent(
      R"({"id":"WH-4","event_type":"PAYMENT.CAPTURE.DECLINED","resource":{"id":"CAP1","status":"DECLINED","custom_id":"col_2"}})");
  EXPECT_EQ(declined.at(0).status, TxStatus::kFailed);
  EXPECT_EQ(declined.at(0).provider_ref, "") << "a capture id must not replace the order id";
  EXPECT_EQ(declined.at(0).our_id, "col_2");
  ASSERT_TRUE(declined.at(0).failure.has_value());
  auto linked = parseEvent(
      R"({"id":"WH-6","event_type":"PAYMENT.CAPTURE.PENDING","resource":{"id":"CAP2","status":"PENDING","links":[{"href":"https://api.paypal.com/v2/checkout/orders/ORDER2","rel":"up","method":"GET"}]}})");
  EXPECT_EQ(linked.at(0).provider_ref, "ORDER2");
  EXPECT_EQ(linked.at(0).status, TxStatus::kProcessing);
  EXPECT_THROW(parseEvent("not json"), WebhookParseError);
  EXPECT_THROW(parseEvent(R"({"id":"WH-5","event_type":"CHECKOUT.ORDER.APPROVED"})"),
               WebhookParseError);
}

TEST(PayPalConfig, CredentialsAreRequiredAndUnknownKeysRefused) {
  config::ConnectorConfig c;
  c.id = "paypal";
  c.base_url = "https://api-m.sandbox.paypal.com";
  c.credentials["client_secret"] = Secret("s");
  try {
    makePayPalConnector(c);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "credentials.client_id: required");
  }
  c.credentials["client_id"] = Secret("id");
  EXPECT_NO_THROW(makePayPalConnector(c));
  c.settings["retrun_url"] = "https://shop.example/";
  EXPECT_THROW(makePayPalConnector(c), std::invalid_argument);
}

}  // namespace
}  // namespace paymux::connectors::paypal
