// Pure units: the README signature vectors, webhook verify/parse, transformers, and the
// connector's HTTP mapping against a fake executor. The simulator and the conformance suite are
// in adyen_conformance_test.cc.
#include <gtest/gtest.h>
#include <strings.h>

#include "connectors/adyen/adyen_connector.h"
#include "connectors/adyen/adyen_transfer_status.h"
#include "connectors/adyen/adyen_transformers.h"
#include "connectors/adyen/adyen_webhooks.h"
#include "services/common/json.h"

namespace paymux::connectors::adyen {
namespace {

// /work/shared/providers/README.md, computed with @adyen/api-library's hmacValidator. The item
// stays on one line, byte for byte as published.
constexpr const char* kReadmeKey =
    "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00";
constexpr const char* kReadmeItem =
    R"({"pspReference":"7914073381342284","merchantAccountCode":"TestMerchant","merchantReference":"col_123","amount":{"value":1000,"currency":"EUR"},"eventCode":"AUTHORISATION","success":"true"})";

config::ConnectorConfig testConfig() {
  config::ConnectorConfig c;
  c.id = "adyen-unit";
  c.type = "adyen";
  c.base_url = "https://checkout-test.adyen.example/";
  c.credentials["api_key"] = Secret("AQE_test_key");
  c.webhook.secret = Secret(kReadmeKey);
  c.settings["merchant_account"] = "TestMerchant";
  c.settings["balance_account_id"] = "BA00000000000000000000001";
  c.timeout_ms = 1000;
  return c;
}

std::string wrap(const std::string& item) {
  return R"({"live":"false","notificationItems":[{"NotificationRequestItem":)" + item + "}]}";
}

NotificationItem item(std::string psp, std::string code, std::string success, int64_t amount) {
  NotificationItem i;
  i.psp_reference = std::move(psp);
  i.merchant_account_code = "TestMerchant";
  i.merchant_reference = "col_abc";
  i.amount_value = amount;
  i.currency = "EUR";
  i.event_code = std::move(code);
  i.success = std::move(success);
  return i;
}

TEST(AdyenSignature, ReadmeDataStringVector) {
  EXPECT_EQ(hmacBase64(kReadmeKey,
                       "pspReference:originalReference:merchantAccount:reference:1000:EUR:"
                       "REPORT_AVAILABLE:true"),
            "ZNBPtI+oDyyRrLyD1XirkKnQgIAlFc07Vj27TeHsDRE=");
}

TEST(AdyenSignature, ReadmeItemVector) {
  auto items = parseNotificationItems(wrap(kReadmeItem));
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(notificationSigningString(items[0]),
            "7914073381342284::TestMerchant:col_123:1000:EUR:AUTHORISATION:true");
  EXPECT_EQ(itemSignature(kReadmeKey, items[0]), "jUqxB37Yi32EKpx9t7igNjI1e9kwvBfiekG1lMc+FqU=");
}

TEST(AdyenSignature, ReadmeItemWithItsSignatureVerifies) {
  std::string signed_item = std::string(kReadmeItem);
  signed_item.insert(
      signed_item.size() - 1,
      R"(,"additionalData":{"hmacSignature":"jUqxB37Yi32EKpx9t7igNjI1e9kwvBfiekG1lMc+FqU="})");
  AdyenConnector connector(testConfig());
  EXPECT_TRUE(connector.verifyWebhook({{}, wrap(signed_item), 0}).ok);
}

TEST(AdyenWebhooks, TwoItemBodyVerifiesAndParsesToOneEventPerItem) {
  auto cancel = item("8815000000000002", "CANCELLATION", "true", 1000);
  cancel.original_reference = "8815000000000001";
  std::string body = buildNotificationBody(
      {item("8815000000000001", "AUTHORISATION", "true", 1000), cancel}, kReadmeKey);
  AdyenConnector connector(testConfig());
  WebhookRequest hook{{}, body, 0};
  auto verdict = connector.verifyWebhook(hook);
  ASSERT_TRUE(verdict.ok) << verdict.reason;
  auto events = connector.parseWebhook(hook);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event_id, "8815000000000001:AUTHORISATION:true");
  EXPECT_EQ(events[0].provider_ref, "8815000000000001");
  EXPECT_EQ(events[0].our_id, "col_abc");
  EXPECT_EQ(events[0].status, TxStatus::kSucceeded);
  EXPECT_EQ(events[0].amount_minor, 1000);
  EXPECT_EQ(events[0].currency, "EUR");
  EXPECT_EQ(events[1].event_id, "8815000000000002:CANCELLATION:true");
  EXPECT_EQ(events[1].provider_ref, "8815000000000001") << "a modification names the payment";
  EXPECT_EQ(events[1].status, TxStatus::kCanceled);
  EXPECT_EQ(connector.webhookAckBody(), "[accepted]");
}

TEST(AdyenWebhooks, OneTamperedItemOfTwoRejectsTheBody) {
  std::string body =
      buildNotificationBody({item("8815000000000001", "AUTHORISATION", "true", 1000),
                             item("8815000000000002", "AUTHORISATION", "true", 2000)},
                            kReadmeKey);
  auto pos = body.find("\"value\":2000");
  ASSERT_NE(pos, std::string::npos);
  body.replace(pos, 12, "\"value\":2001");
  AdyenConnector connector(testConfig());
  auto verdict = connector.verifyWebhook({{}, body, 0});
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.reason, "item 1 signature mismatch");
}

TEST(AdyenWebhooks, UnsignedItemOrEmptyBodyIsRejected) {
  AdyenConnector connector(testConfig());
  EXPECT_FALSE(connector.verifyWebhook({{}, wrap(kReadmeItem), 0}).ok);
  EXPECT_FALSE(connector.verifyWebhook({{}, R"({"live":"false","notificationItems":[]})", 0}).ok);
  EXPECT_FALSE(connector.verifyWebhook({{}, "not json", 0}).ok);
}

TEST(AdyenWebhooks, FailedAuthorisationAndOtherEventCodes) {
  auto refused = item("8815000000000003", "AUTHORISATION", "false", 500);
  refused.reason = "CVC Declined";
  std::string body =
      buildNotificationBody({refused, item("8815000000000004", "REPORT_AVAILABLE", "true", 0),
                             item("8815000000000005", "OFFER_CLOSED", "true", 500)},
                            kReadmeKey);
  auto events = notificationEvents(body);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].status, TxStatus::kFailed);
  ASSERT_TRUE(events[0].failure.has_value());
  EXPECT_EQ(events[0].failure->message, "CVC Declined");
  EXPECT_FALSE(events[1].status.has_value());
  EXPECT_EQ(events[2].status, TxStatus::kCanceled);
}

TEST(AdyenWebhooks, TransferWebhookUsesTheRawBodyHeaderScheme) {
  std::string body =
      R"({"data":{"id":"6JKRLZ8LOT47J7RY","amount":{"currency":"EUR","value":10000},)"
      R"("direction":"outgoing","reference":"pay_1","sequenceNumber":3,"status":"booked",)"
      R"("tracking":{"status":"credited","type":"confirmation"}},"environment":"test",)"
      R"("timestamp":"2023-02-28T13:27:05+02:00","type":"balancePlatform.transfer.updated"})";
  std::string signature = hmacBase64(kReadmeKey, body).value();
  AdyenConnector connector(testConfig());
  WebhookRequest hook{{{"hmacsignature", signature}}, body, 0};
  EXPECT_TRUE(connector.verifyWebhook(hook).ok);
  auto events = connector.parseWebhook(hook);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id, "6JKRLZ8LOT47J7RY:3");
  EXPECT_EQ(events[0].provider_ref, "6JKRLZ8LOT47J7RY");
  EXPECT_EQ(events[0].our_id, "pay_1");
  EXPECT_EQ(events[0].status, TxStatus::kPaid);
  EXPECT_EQ(events[0].occurred_at_unix, 1677583625);
  hook.body[hook.body.find("10000")] = '2';
  EXPECT_FALSE(connector.verifyWebhook(hook).ok);
}

TEST(AdyenTransformers, EveryResultCodeMaps) {
  const std::pair<const char*, TxStatus> kCases[] = {
      {"AuthenticationFinished", TxStatus::kProcessing},
      {"AuthenticationNotRequired", TxStatus::kProcessing},
      {"Authorised", TxStatus::kSucceeded},
      {"Cancelled", TxStatus::kCanceled},
      {"ChallengeShopper", TxStatus::kRequiresAction},
      {"Error", TxStatus::kFailed},
      {"IdentifyShopper", TxStatus::kRequiresAction},
      {"PartiallyAuthorised", TxStatus::kProcessing},
      {"Pending", TxStatus::kProcessing},
      {"PresentToShopper", TxStatus::kProcessing},
      {"Received", TxStatus::kProcessing},
      {"RedirectShopper", TxStatus::kRequiresAction},
      {"Refused", TxStatus::kFailed},
      {"Success", TxStatus::kSucceeded},
      {"SomethingNew", TxStatus::kProcessing},
  };
  for (const auto& [code, status] : kCases) {
    EXPECT_EQ(toTxStatus(resultCodeFromString(code)), status) << code;
    if (std::string(code) != "SomethingNew") {
      EXPECT_NE(resultCodeFromString(code), ResultCode::kUnknown) << code;
    }
  }
  EXPECT_EQ(resultCodeFromString("authorised"), ResultCode::kUnknown) << "case matters";
}

TEST(AdyenTransformers, TransferStatusesMap) {
  const std::pair<const char*, TxStatus> kCases[] = {
      {"received", TxStatus::kProcessing},
      {"authorised", TxStatus::kProcessing},
      {"pendingApproval", TxStatus::kProcessing},
      {"approvalPending", TxStatus::kProcessing},
      {"pendingExecution", TxStatus::kProcessing},
      {"bookingPending", TxStatus::kProcessing},
      {"booked", TxStatus::kInTransit},
      {"credited", TxStatus::kPaid},
      {"refused", TxStatus::kFailed},
      {"failed", TxStatus::kFailed},
      {"error", TxStatus::kFailed},
      {"rejected", TxStatus::kFailed},
      {"expired", TxStatus::kFailed},
      {"cancelled", TxStatus::kCanceled},
      {"returned", TxStatus::kReturned},
      {"chargeback", TxStatus::kProcessing},
      {"captured", TxStatus::kProcessing},
      {"somethingNew", TxStatus::kProcessing},
  };
  for (const auto& [status, tx] : kCases) {
    EXPECT_EQ(toTxStatus(transferStatusFromString(status)), tx) << status;
  }
  EXPECT_NE(transferStatusFromString("undefined"), TransferStatus::kUnknown);
  EXPECT_EQ(transferStatusFromString("somethingNew"), TransferStatus::kUnknown);
}

PaymentRequest collectRequest() {
  PaymentRequest r;
  r.transaction_id = "col_2ZK8f4Qv9mT1";
  r.amount_minor = 1234;
  r.currency = "EUR";
  r.reference = "order-42";
  r.payment_method = {"card", "tok_visa", "", ""};
  r.customer = {"cus-7", "ada@example.com", "Ada", "NL"};
  r.idempotency_key = "col_2ZK8f4Qv9mT1-adyen";
  return r;
}

TEST(AdyenTransformers, PaymentBodyCarriesWhatAdyenNeeds) {
  RequestSettings s;
  s.merchant_account = "TestMerchant";
  Body body = buildPaymentBody(collectRequest(), s);
  ASSERT_FALSE(body.error.has_value());
  rapidjson::Document doc;
  doc.Parse(body.json.c_str());
  EXPECT_EQ(doc["amount"]["value"].GetInt64(), 1234);
  EXPECT_STREQ(doc["merchantAccount"].GetString(), "TestMerchant");
  EXPECT_STREQ(doc["reference"].GetString(), "col_2ZK8f4Qv9mT1");
  EXPECT_STREQ(doc["paymentMethod"]["type"].GetString(), "scheme");
  EXPECT_STREQ(doc["paymentMethod"]["storedPaymentMethodId"].GetString(), "tok_visa");
  EXPECT_STREQ(doc["returnUrl"].GetString(), "https://example.invalid/return");
  EXPECT_STREQ(doc["shopperReference"].GetString(), "cus-7");
  EXPECT_STREQ(doc["countryCode"].GetString(), "NL");
  EXPECT_STREQ(doc["metadata"]["paymux_id"].GetString(), "col_2ZK8f4Qv9mT1");

  auto sepa = collectRequest();
  sepa.payment_method = {"sepa_debit", "", "MANDATE123", ""};
  body = buildPaymentBody(sepa, s);
  doc.Parse(body.json.c_str());
  EXPECT_STREQ(doc["paymentMethod"]["type"].GetString(), "sepadirectdebit");
  EXPECT_STREQ(doc["paymentMethod"]["storedPaymentMethodId"].GetString(), "MANDATE123");

  auto paypal = collectRequest();
  paypal.payment_method.type = "paypal";
  body = buildPaymentBody(paypal, s);
  ASSERT_TRUE(body.error.has_value());
  EXPECT_EQ(body.error->code, "payment_method_unsupported");
}

TEST(AdyenTransformers, TransferBodyPerBeneficiaryShape) {
  RequestSettings s;
  s.balance_account_id = "BA1";
  PaymentRequest r;
  r.kind = Kind::kPayout;
  r.transaction_id = "pay_1";
  r.amount_minor = 25000;
  r.currency = "GBP";
  r.reference = "claim-981";
  r.beneficiary.type = "bank_account";
  r.beneficiary.name = "Ada Lovelace";
  r.beneficiary.iban = "GB33BUKB20201555555555";
  rapidjson::Document doc;
  doc.Parse(buildTransferBody(r, s).json.c_str());
  const auto& account = doc["counterparty"]["bankAccount"];
  EXPECT_STREQ(account["accountHolder"]["fullName"].GetString(), "Ada Lovelace");
  EXPECT_STREQ(account["accountIdentification"]["type"].GetString(), "iban");
  EXPECT_STREQ(doc["category"].GetString(), "bank");
  EXPECT_STREQ(doc["balanceAccountId"].GetString(), "BA1");
  EXPECT_STREQ(doc["reference"].GetString(), "pay_1");
  EXPECT_STREQ(doc["referenceForBeneficiary"].GetString(), "claim981");

  r.beneficiary.iban.clear();
  r.beneficiary.account_number = "55779911";
  r.beneficiary.sort_code = "200000";
  doc.Parse(buildTransferBody(r, s).json.c_str());
  EXPECT_STREQ(doc["counterparty"]["bankAccount"]["accountIdentification"]["type"].GetString(),
               "ukLocal");
  r.beneficiary.sort_code.clear();
  EXPECT_EQ(buildTransferBody(r, s).error->code, "beneficiary_invalid");
}

TEST(AdyenTransformers, ResponsesAndErrors) {
  auto refused = parsePaymentResponse(
      R"({"pspReference":"P1","resultCode":"Refused","refusalReason":"Refused",)"
      R"("refusalReasonCode":"2"})");
  EXPECT_EQ(refused.status, TxStatus::kFailed);
  EXPECT_EQ(refused.failure->code, "2");
  auto redirect =
      parsePaymentResponse(R"({"resultCode":"RedirectShopper",)"
                           R"("action":{"type":"redirect","url":"https://x.invalid/r"}})");
  EXPECT_EQ(redirect.status, TxStatus::kRequiresAction);
  EXPECT_EQ(redirect.redirect_url, "https://x.invalid/r");
  EXPECT_THROW(parsePaymentResponse(R"({"pspReference":"P1"})"), WebhookParseError);
  auto refused_transfer =
      parseTransferResponse(R"({"id":"T1","status":"refused","reason":"notEnoughBalance"})");
  EXPECT_EQ(refused_transfer.status, TxStatus::kFailed);
  EXPECT_EQ(refused_transfer.failure->code, "notEnoughBalance");
  EXPECT_EQ(parseError(R"({"status":422,"errorCode":"14_030","message":"Return URL is missing.",)"
                       R"("errorType":"validation"})")
                .error_code,
            "14_030");
  EXPECT_EQ(parseError(R"({"type":"t","title":"Bad","status":422,"detail":"Not enough balance",)"
                       R"("errorCode":"30_112"})")
                .message,
            "Not enough balance");
}

class FakeExecutor : public http::HttpExecutor {
 public:
  http::HttpResult send(const http::HttpRequestSpec& request, std::chrono::milliseconds) override {
    last = request;
    return result;
  }
  http::HttpRequestSpec last;
  http::HttpResult result;
};

TEST(AdyenConnector, SendsApiKeyIdempotencyKeyAndJson) {
  AdyenConnector connector(testConfig());
  FakeExecutor executor;
  executor.result.response = {200, {}, R"({"pspReference":"P1","resultCode":"Authorised"})"};
  auto result = connector.create(collectRequest(), executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  EXPECT_EQ(std::get<ProviderPayment>(result).status, TxStatus::kSucceeded);
  EXPECT_EQ(executor.last.method, "POST");
  EXPECT_EQ(executor.last.url, "https://checkout-test.adyen.example/v71/payments");
  auto sent = [&executor](std::string_view name) {
    for (const auto& [k, v] : executor.last.headers) {
      if (strcasecmp(k.c_str(), std::string(name).c_str()) == 0) return v;
    }
    return std::string();
  };
  EXPECT_EQ(sent("X-API-Key"), "AQE_test_key");
  EXPECT_EQ(sent("Idempotency-Key"), "col_2ZK8f4Qv9mT1-adyen");
  EXPECT_EQ(sent("Content-Type"), "application/json");
}

TEST(AdyenConnector, HttpErrorsMapToRetryableOrNot) {
  AdyenConnector connector(testConfig());
  FakeExecutor executor;
  const std::tuple<long, bool, const char*> kCases[] = {{401, false, "000"},    {403, false, "901"},
                                                        {422, false, "14_030"}, {429, true, "000"},
                                                        {500, true, "000"},     {503, true, "000"}};
  for (const auto& [status, retryable, code] : kCases) {
    executor.result.response = {
        status,
        {},
        std::string(R"({"status":0,"errorCode":")") + code + R"(","message":"m","errorType":"t"})"};
    auto result = connector.create(collectRequest(), executor);
    ASSERT_TRUE(std::holds_alternative<ConnectorError>(result)) << status;
    const auto& err = std::get<ConnectorError>(result);
    EXPECT_EQ(err.retryable, retryable) << status;
    EXPECT_EQ(err.code, code) << status;
    EXPECT_FALSE(err.outcome_unknown) << status;
  }
}

TEST(AdyenConnector, ConfigErrorsNameTheKey) {
  auto config = testConfig();
  config.credentials.clear();
  EXPECT_THROW(
      {
        try {
          AdyenConnector c(config);
        } catch (const std::invalid_argument& e) {
          EXPECT_STREQ(e.what(), "credentials.api_key: required");
          throw;
        }
      },
      std::invalid_argument);
  config = testConfig();
  config.settings.erase("merchant_account");
  EXPECT_THROW(AdyenConnector c(config), std::invalid_argument);
  config.kinds = {"payout"};
  EXPECT_NO_THROW(AdyenConnector c(config)) << "merchant_account is only needed for collections";
  config = testConfig();
  config.webhook.secret = Secret("not-hex");
  EXPECT_THROW(AdyenConnector c(config), std::invalid_argument);
  EXPECT_FALSE(makeAdyenConnector(testConfig())->capabilities().can_fetch_status);
}

}  // namespace
}  // namespace paymux::connectors::adyen
