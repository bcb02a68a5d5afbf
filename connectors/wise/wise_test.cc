#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "connectors/simkit/sim_server.h"
#include "connectors/testing/conformance_suite.h"
#include "connectors/wise/wise_connector.h"
#include "connectors/wise/wise_signer.h"
#include "connectors/wise/wise_simulator.h"
#include "connectors/wise/wise_transformers.h"
#include "services/common/crypto.h"

namespace paymux::connectors::wise {
namespace {

using testing::Scenario;

/// Fixture bytes, exactly as stored (the signature covers the file without a trailing newline).
std::string fixture(const std::string& name) {
  const char* root = std::getenv("PAYMUX_SOURCE_DIR");
  std::filesystem::path dir = root ? std::filesystem::path(root) / "connectors/wise/fixtures"
                                   : std::filesystem::path(__FILE__).parent_path() / "fixtures";
  std::ifstream in(dir / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << (dir / name);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

config::ConnectorConfig wiseConfig(const std::string& base_url, const std::string& public_key) {
  config::ConnectorConfig c;
  c.id = "wise-test";
  c.type = "wise";
  c.base_url = base_url;
  c.credentials["api_token"] = Secret(WiseSimulator::kDefaultApiKey);
  c.settings["profile_id"] = "16055450";
  c.webhook.public_key = Secret(public_key);
  c.timeout_ms = 400;
  return c;
}

PaymentRequest payout(const std::string& holder) {
  PaymentRequest r;
  r.kind = Kind::kPayout;
  r.transaction_id = crypto::randomId("pay");
  r.amount_minor = 1234;
  r.currency = "EUR";
  r.reference = "conf";
  r.idempotency_key = r.transaction_id + "-wise-test";
  r.beneficiary.type = "bank_account";
  r.beneficiary.name = holder;
  r.beneficiary.iban = "DE89370400440532013000";
  return r;
}

// --- The published vector (transferwise/digital-signatures-examples) --------------------------

TEST(WiseWebhookVector, SandboxKeyVerifiesTheRecordedBody) {
  auto connector =
      makeWiseConnector(wiseConfig("http://127.0.0.1:9", fixture("sandbox_public_key.pem")));
  WebhookRequest hook{{{"x-signature-sha256", fixture("webhook_signature.b64")}},
                      fixture("webhook_body.json"), 0};
  ASSERT_EQ(hook.body.back(), '}') << "the signed body has no trailing newline";
  auto verdict = connector->verifyWebhook(hook);
  EXPECT_TRUE(verdict.ok) << verdict.reason;

  WebhookRequest tampered = hook;
  tampered.body.replace(tampered.body.find("49983981"), 8, "49983982");
  EXPECT_FALSE(connector->verifyWebhook(tampered).ok);
  WebhookRequest newline = hook;
  newline.body += "\n";
  EXPECT_FALSE(connector->verifyWebhook(newline).ok);
  WebhookRequest unsigned_hook{{}, hook.body, 0};
  EXPECT_FALSE(connector->verifyWebhook(unsigned_hook).ok);
}

TEST(WiseWebhookVector, AnotherKeyRejectsTheRecordedBody) {
  auto connector = makeWiseConnector(
      wiseConfig("http://127.0.0.1:9", RsaSigner::generate().publicKeyPem()));
  WebhookRequest hook{{{"x-signature-sha256", fixture("webhook_signature.b64")}},
                      fixture("webhook_body.json"), 0};
  EXPECT_FALSE(connector->verifyWebhook(hook).ok);
}

TEST(WiseWebhookVector, RecordedBodyParsesToOneStateChange) {
  auto events = parseWebhookBody(fixture("webhook_body.json"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, "transfers#state-change");
  EXPECT_EQ(events[0].provider_ref, "49983981");
  ASSERT_TRUE(events[0].status.has_value());
  EXPECT_EQ(*events[0].status, TxStatus::kProcessing);
  EXPECT_EQ(events[0].occurred_at_unix, 1629713570);
  EXPECT_EQ(events[0].event_id, "wise:49983981:incoming_payment_waiting:2021-08-23T10:12:50Z");
}

// --- Transformers ------------------------------------------------------------------------------

TEST(WiseTransformers, EveryTransferStateMaps) {
  struct Row {
    const char* state;
    TxStatus status;
    const char* failure;  // "" = none
  };
  const Row rows[] = {
      {"incoming_payment_waiting", TxStatus::kProcessing, ""},
      {"incoming_payment_initiated", TxStatus::kProcessing, ""},
      {"waiting_recipient_input_to_proceed", TxStatus::kProcessing, ""},
      {"processing", TxStatus::kProcessing, ""},
      {"funds_converted", TxStatus::kInTransit, ""},
      {"outgoing_payment_sent", TxStatus::kPaid, ""},
      {"cancelled", TxStatus::kCanceled, ""},
      {"funds_refunded", TxStatus::kFailed, "funds_refunded"},
      {"bounced_back", TxStatus::kReturned, "bounced_back"},
      {"charged_back", TxStatus::kFailed, "charged_back"},
      {"unknown", TxStatus::kProcessing, ""},
      {"a_state_from_the_future", TxStatus::kProcessing, ""},
  };
  for (const auto& row : rows) {
    TransferState state = transferStateFromString(row.state);
    EXPECT_EQ(toTxStatus(state), row.status) << row.state;
    auto failure = failureFor(state);
    EXPECT_EQ(failure ? failure->code : "", row.failure) << row.state;
  }
}

TEST(WiseTransformers, CustomerTransactionIdIsAStableUuidV5) {
  // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL,
  // 'paymux://wise/transfers/pay_123'))"
  EXPECT_EQ(customerTransactionId("pay_123"), "187b8663-cb6d-583a-aa54-3d13bd66a61b");
  EXPECT_EQ(customerTransactionId("pay_123"), customerTransactionId("pay_123"));
  EXPECT_NE(customerTransactionId("pay_124"), customerTransactionId("pay_123"));
}

TEST(WiseTransformers, AmountsAreDecimalsByTheCurrencyExponent) {
  PaymentRequest r = payout("Ada");
  EXPECT_NE(buildQuoteBody(r, "EUR").find(R"("targetAmount":12.34)"), std::string::npos);
  r.currency = "JPY";
  r.currency_exponent = 0;
  r.amount_minor = 500;
  EXPECT_NE(buildQuoteBody(r, "GBP").find(
                R"("sourceCurrency":"GBP","targetCurrency":"JPY","targetAmount":500)"),
            std::string::npos);
  auto jpy =
      parseTransfer(R"({"id":7,"status":"processing","targetCurrency":"JPY","targetValue":110.0})");
  EXPECT_EQ(jpy.amount_minor, 110);
  auto eur =
      parseTransfer(R"({"id":8,"status":"processing","targetCurrency":"EUR","targetValue":12.3})");
  EXPECT_EQ(eur.amount_minor, 1230);
  EXPECT_EQ(eur.provider_ref, "8");
}

TEST(WiseTransformers, RecipientNeedsAnIbanOrASortCode) {
  PaymentRequest r = payout("Ada Lovelace");
  EXPECT_NE(buildRecipientBody(r, "1", "PRIVATE").find(R"("type":"iban")"), std::string::npos);
  r.beneficiary.iban.clear();
  EXPECT_EQ(buildRecipientBody(r, "1", "PRIVATE"), "");
  r.beneficiary.sort_code = "040075";
  r.beneficiary.account_number = "37618166";
  EXPECT_NE(buildRecipientBody(r, "1", "PRIVATE").find(R"("sortCode":"040075")"),
            std::string::npos);
}

TEST(WiseConfig, TokenAndProfileAreRequired) {
  auto c = wiseConfig("http://127.0.0.1:9", "");
  c.settings.erase("profile_id");
  try {
    WiseConnector connector(c);
    ADD_FAILURE() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "settings.profile_id: required");
  }
  c = wiseConfig("http://127.0.0.1:9", "");
  c.credentials.clear();
  EXPECT_THROW(WiseConnector connector(c), std::invalid_argument);
  c = wiseConfig("http://127.0.0.1:9", "not a key");
  EXPECT_THROW(WiseConnector connector(c), std::invalid_argument);
  c = wiseConfig("http://127.0.0.1:9", "");
  c.kinds = {"collect", "payout"};
  EXPECT_THROW(WiseConnector connector(c), std::invalid_argument);
}

// --- The payout flow against the simulator -----------------------------------------------------

using Extra = std::map<std::string, std::string>;

struct SimFixture {
  explicit SimFixture(Extra extra = {}, std::string webhook_url = "") {
    simkit::SimOptions o;
    o.extra = std::move(extra);
    o.webhook_url = std::move(webhook_url);
    o.timeout_ms = 3000;
    o.async_ms = 50;
    sim = std::make_unique<WiseSimulator>(o);
    connector = makeWiseConnector(wiseConfig(sim->baseUrl(), sim->publicKeyPem()));
  }
  std::unique_ptr<WiseSimulator> sim;
  std::unique_ptr<Connector> connector;
  http::CurlExecutor executor;
};

TEST(WiseFlow, FundingFailureThenRetryFundsOnce) {
  SimFixture f(Extra{{"fail_funding_once", "true"}});
  PaymentRequest r = payout("Ada tok_success");
  auto first = f.connector->create(r, f.executor);
  ASSERT_TRUE(std::holds_alternative<ConnectorError>(first));
  const auto& err = std::get<ConnectorError>(first);
  EXPECT_FALSE(err.retryable) << "a transfer exists: never fail over";
  EXPECT_TRUE(err.outcome_unknown) << "a 500 from funding does not prove nothing was funded";
  EXPECT_FALSE(err.provider_ref.empty());

  auto second = f.connector->create(r, f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(second));
  EXPECT_EQ(std::get<ProviderPayment>(second).provider_ref, err.provider_ref);
  EXPECT_EQ(std::get<ProviderPayment>(second).status, TxStatus::kProcessing);
  EXPECT_EQ(f.sim->transfersCreated(), 1);
  EXPECT_EQ(f.sim->fundingCalls(), 2);
  EXPECT_EQ(f.sim->transfersFunded(), 1);
}

TEST(WiseFlow, LostTransferAnswerThenRetryMakesOneTransferFundedOnce) {
  SimFixture f(Extra{{"crash_after_transfer_once", "true"}});
  PaymentRequest r = payout("Ada tok_success");
  auto first = f.connector->create(r, f.executor);
  ASSERT_TRUE(std::holds_alternative<ConnectorError>(first));
  EXPECT_TRUE(std::get<ConnectorError>(first).retryable) << "nothing was funded: may fail over";
  EXPECT_FALSE(std::get<ConnectorError>(first).outcome_unknown);
  EXPECT_EQ(f.sim->fundingCalls(), 0);

  auto second = f.connector->create(r, f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(second));
  EXPECT_EQ(f.sim->transfersCreated(), 1);
  EXPECT_EQ(f.sim->fundingCalls(), 1);
  EXPECT_EQ(f.sim->transfersFunded(), 1);
}

TEST(WiseFlow, RetryAfterAFundedTransferDoesNotFundAgain) {
  SimFixture f;
  PaymentRequest r = payout("Ada tok_success");
  auto first = f.connector->create(r, f.executor);
  auto second = f.connector->create(r, f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(first));
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(second));
  EXPECT_EQ(std::get<ProviderPayment>(first).provider_ref,
            std::get<ProviderPayment>(second).provider_ref);
  EXPECT_EQ(f.sim->fundingCalls(), 1);
  EXPECT_EQ(f.sim->transfersFunded(), 1);
}

TEST(WiseFlow, RefusedFundingCancelsTheTransferSoARetryCannotPay) {
  SimFixture f;
  PaymentRequest r = payout("Ada tok_decline");
  auto first = f.connector->create(r, f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(first));
  EXPECT_EQ(std::get<ProviderPayment>(first).status, TxStatus::kFailed);
  auto second = f.connector->create(r, f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(second));
  EXPECT_EQ(std::get<ProviderPayment>(second).status, TxStatus::kCanceled);
  EXPECT_EQ(f.sim->fundingCalls(), 1);
  EXPECT_EQ(f.sim->transfersFunded(), 0);
}

TEST(WiseFlow, CollectionsAreRefusedWithoutACall) {
  SimFixture f;
  PaymentRequest r = payout("Ada tok_success");
  r.kind = Kind::kCollect;
  auto result = f.connector->create(r, f.executor);
  ASSERT_TRUE(std::holds_alternative<ConnectorError>(result));
  EXPECT_EQ(std::get<ConnectorError>(result).code, "unsupported_kind");
  EXPECT_FALSE(f.connector->capabilities().kinds.empty());
  EXPECT_EQ(f.connector->capabilities().kinds[0], Kind::kPayout);
}

TEST(WiseFlow, AsyncPayoutIsPaidBySignedWebhook) {
  std::mutex mutex;
  std::deque<WebhookRequest> received;
  simkit::SimServer receiver("127.0.0.1", 0, [&](const simkit::SimRequest& req) {
    std::lock_guard lock(mutex);
    received.push_back(WebhookRequest{req.headers, req.body, 0});
    return simkit::SimResponse{200, "{}"};
  });
  SimFixture f(Extra{}, receiver.baseUrl() + "/webhooks/wise");
  auto created = f.connector->create(payout("Ada tok_async"), f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(created));
  std::string ref = std::get<ProviderPayment>(created).provider_ref;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mutex);
      if (!received.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::lock_guard lock(mutex);
  ASSERT_EQ(received.size(), 1u);
  auto verdict = f.connector->verifyWebhook(received[0]);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  auto events = f.connector->parseWebhook(received[0]);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].provider_ref, ref);
  EXPECT_EQ(events[0].status, TxStatus::kPaid);
  auto fetched = f.connector->fetchStatus(Kind::kPayout, ref, "", f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(fetched));
  EXPECT_EQ(std::get<ProviderPayment>(fetched).status, TxStatus::kPaid);
  auto key = f.executor.send({"GET", f.sim->baseUrl() + "/sim/public_key", {}, ""},
                             std::chrono::milliseconds(2000));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key.response.body, f.sim->publicKeyPem());
}

// --- Conformance -------------------------------------------------------------------------------

/// A key that is not the simulator's (wrong-secret webhooks); generated once per process.
const RsaSigner& strangerKey() {
  static const RsaSigner kKey = RsaSigner::generate();
  return kKey;
}

std::string stateFor(TxStatus status) {
  switch (status) {
    case TxStatus::kInTransit: return "funds_converted";
    case TxStatus::kPaid: return "outgoing_payment_sent";
    case TxStatus::kReturned: return "bounced_back";
    case TxStatus::kFailed: return "funds_refunded";
    case TxStatus::kCanceled: return "cancelled";
    case TxStatus::kPending:
    case TxStatus::kProcessing:
    case TxStatus::kRequiresAction:
    case TxStatus::kSucceeded:
      return "processing";
  }
  return "processing";
}

class WiseHarness : public testing::ConformanceHarness {
 public:
  WiseHarness() : fixture_() {}
  Connector& connector() override { return *fixture_.connector; }
  bool supports(Kind kind) const override { return kind == Kind::kPayout; }
  PaymentRequest request(Kind, Scenario scenario) override {
    static const char* kTokens[] = {"tok_success", "tok_decline", "tok_timeout", "tok_error",
                                    "tok_unknown"};
    return payout(std::string("Ada Lovelace ") + kTokens[static_cast<int>(scenario)]);
  }
  TxStatus successStatus(Kind) const override { return TxStatus::kProcessing; }
  long providerObjects() override { return fixture_.sim->objectsCreated(); }
  WebhookRequest signedWebhook(const PaymentRequest&, const ProviderPayment& payment,
                               TxStatus status, int64_t, const std::string& event_id,
                               bool wrong_secret) override {
    auto hook = fixture_.sim->webhook(payment.provider_ref, stateFor(status), false, event_id);
    std::string signature = wrong_secret ? strangerKey().signBase64(hook.body) : hook.signature;
    return WebhookRequest{{{"x-signature-sha256", signature}, {"x-delivery-id", hook.delivery_id}},
                          hook.body, 0};
  }
  WebhookRequest unknownStatusWebhook(const PaymentRequest&,
                                      const ProviderPayment& payment) override {
    auto hook = fixture_.sim->webhook(payment.provider_ref, "on_hold_for_review", false);
    return WebhookRequest{{{"x-signature-sha256", hook.signature}}, hook.body, 0};
  }
  bool signsTimestamp() const override { return false; }

 private:
  SimFixture fixture_;
};

INSTANTIATE_CONNECTOR_CONFORMANCE(Wise, [] { return std::make_unique<WiseHarness>(); });

}  // namespace
}  // namespace paymux::connectors::wise
