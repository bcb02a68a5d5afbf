// The connector against its simulator: OAuth token sharing and refresh, the order -> approve ->
// capture flow, payouts, webhook delivery, and the shared conformance suite.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <mutex>
#include <thread>

#include "connectors/paypal/paypal_connector.h"
#include "connectors/paypal/paypal_simulator.h"
#include "connectors/simkit/sim_server.h"
#include "connectors/testing/conformance_suite.h"
#include "services/common/crypto.h"

namespace paymux::connectors::paypal {
namespace {

using testing::Scenario;

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

simkit::SimOptions simOptions(int token_ttl_s = 3600, std::string webhook_url = "") {
  simkit::SimOptions o;
  o.timeout_ms = 3000;
  o.async_ms = 100;
  o.threads = 4;
  o.webhook_url = std::move(webhook_url);
  o.extra["token_ttl_s"] = std::to_string(token_ttl_s);
  return o;
}

config::ConnectorConfig connectorConfig(const PayPalSimulator& sim, int timeout_ms = 2000) {
  config::ConnectorConfig c;
  c.id = "paypal-test";
  c.type = "paypal";
  c.base_url = sim.baseUrl();
  c.credentials["client_id"] = Secret("sim_client");
  c.credentials["client_secret"] = Secret("sim_secret");
  c.settings = {{"webhook_id", sim.webhookId()},
                {"cert_hosts", "127.0.0.1"},
                {"allow_http_cert_url", "true"},
                {"return_url", "https://shop.example/paid"},
                {"cancel_url", "https://shop.example/cancel"}};
  c.timeout_ms = timeout_ms;
  return c;
}

PaymentRequest requestFor(Kind kind, const std::string& token) {
  PaymentRequest r;
  r.kind = kind;
  r.transaction_id = crypto::randomId(kind == Kind::kCollect ? "col" : "pay");
  r.amount_minor = 1234;
  r.currency = "EUR";
  r.reference = "conf";
  r.idempotency_key = r.transaction_id + "-paypal-test";
  if (kind == Kind::kCollect) {
    r.payment_method = {"paypal", token, "", ""};
    r.customer.email = "payer@example.com";
  } else {
    r.beneficiary.type = "paypal";
    r.beneficiary.email = token + "@example.com";
  }
  return r;
}

const ProviderPayment& paid(const CallResult& r) {
  if (const auto* err = std::get_if<ConnectorError>(&r)) {
    ADD_FAILURE() << "error " << err->code << ": " << err->message;
    static ProviderPayment empty;
    return empty;
  }
  return std::get<ProviderPayment>(r);
}

class PayPalFlowTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(sim_->schemaFailures(), 0); }
  void start(int token_ttl_s = 3600, std::string webhook_url = "") {
    sim_ = std::make_unique<PayPalSimulator>(simOptions(token_ttl_s, std::move(webhook_url)));
    connector_ = std::make_unique<PayPalConnector>(connectorConfig(*sim_));
  }
  std::unique_ptr<PayPalSimulator> sim_;
  std::unique_ptr<PayPalConnector> connector_;
  http::CurlExecutor executor_;
};

TEST_F(PayPalFlowTest, ConcurrentRequestsShareOneTokenPerExpiryWindow) {
  start(/*token_ttl_s=*/1);
  constexpr int kThreads = 16, kWindows = 3;
  std::atomic<int> failures{0};
  for (int window = 0; window < kWindows; ++window) {
    if (window > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        auto r = connector_->create(requestFor(Kind::kCollect, "tok_success"), executor_);
        const auto* p = std::get_if<ProviderPayment>(&r);
        if (p == nullptr || p->status != TxStatus::kRequiresAction) ++failures;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(sim_->tokensIssued(), window + 1) << "one token per expiry window";
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(sim_->objectsCreated(), kThreads * kWindows);
}

TEST_F(PayPalFlowTest, A401RefreshesTheTokenOnceAndRetriesOnce) {
  start();
  paid(connector_->create(requestFor(Kind::kCollect, "tok_success"), executor_));
  ASSERT_EQ(sim_->tokensIssued(), 1);
  sim_->rejectNextBearer(1);  // the cached token was revoked
  EXPECT_EQ(paid(connector_->create(requestFor(Kind::kCollect, "tok_success"), executor_)).status,
            TxStatus::kRequiresAction);
  EXPECT_EQ(sim_->tokensIssued(), 2);
  sim_->rejectNextBearer(2);  // refused again after the refresh: give up, no loop
  auto r = connector_->create(requestFor(Kind::kCollect, "tok_success"), executor_);
  ASSERT_TRUE(std::holds_alternative<ConnectorError>(r));
  EXPECT_EQ(std::get<ConnectorError>(r).code, "provider_unauthorized");
  EXPECT_EQ(sim_->tokensIssued(), 3);
}

TEST_F(PayPalFlowTest, OrderApproveCaptureSucceeds) {
  start();
  auto created = paid(connector_->create(requestFor(Kind::kCollect, "tok_success"), executor_));
  ASSERT_EQ(created.status, TxStatus::kRequiresAction);
  EXPECT_NE(created.redirect_url.find("/checkoutnow?token=" + created.provider_ref),
            std::string::npos);
  auto hook = sim_->approve(created.provider_ref, false);
  auto verdict = connector_->verifyWebhook(hook.request(now()));
  ASSERT_TRUE(verdict.ok) << verdict.reason;
  auto events = connector_->parseWebhook(hook.request(now()));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status, TxStatus::kProcessing);
  auto captured = connector_->followUp(events[0], executor_);
  ASSERT_TRUE(captured.has_value());
  EXPECT_EQ(paid(*captured).status, TxStatus::kSucceeded);
  EXPECT_EQ(paid(*captured).provider_ref, created.provider_ref);
  EXPECT_EQ(paid(*captured).amount_minor, 1234);
  // A duplicate webhook captures nothing twice: the derived PayPal-Request-Id replays.
  EXPECT_EQ(paid(*connector_->followUp(events[0], executor_)).status, TxStatus::kSucceeded);
  EXPECT_EQ(
      paid(connector_->fetchStatus(Kind::kCollect, created.provider_ref, "", executor_)).status,
      TxStatus::kSucceeded);
  ProviderEvent other = events[0];
  other.event_type = "PAYMENT.CAPTURE.COMPLETED";
  EXPECT_FALSE(connector_->followUp(other, executor_).has_value());
}

TEST_F(PayPalFlowTest, StatusPollCapturesAnApprovedOrderWhoseFollowUpWasLost) {
  start();
  auto created = paid(connector_->create(requestFor(Kind::kCollect, "tok_success"), executor_));
  sim_->approve(created.provider_ref, false);  // the webhook never arrives
  auto polled = paid(connector_->fetchStatus(Kind::kCollect, created.provider_ref, "", executor_));
  EXPECT_EQ(polled.status, TxStatus::kSucceeded);
  EXPECT_EQ(polled.provider_ref, created.provider_ref);
}

TEST_F(PayPalFlowTest, DeclinedAndPendingCaptures) {
  start();
  auto declined =
      paid(connector_->create(requestFor(Kind::kCollect, "tok_capture_decline"), executor_));
  auto events =
      connector_->parseWebhook(sim_->approve(declined.provider_ref, false).request(now()));
  auto result = paid(*connector_->followUp(events.at(0), executor_));
  EXPECT_EQ(result.status, TxStatus::kFailed);
  ASSERT_TRUE(result.failure.has_value());
  EXPECT_EQ(result.failure->code, "CAPTURE_DECLINED");

  auto pending = paid(connector_->create(requestFor(Kind::kCollect, "tok_async"), executor_));
  events = connector_->parseWebhook(sim_->approve(pending.provider_ref, false).request(now()));
  EXPECT_EQ(paid(*connector_->followUp(events.at(0), executor_)).status, TxStatus::kProcessing);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(
      paid(connector_->fetchStatus(Kind::kCollect, pending.provider_ref, "", executor_)).status,
      TxStatus::kSucceeded);
}

TEST_F(PayPalFlowTest, PayoutsMapItemStatusesAndDedupeOnSenderBatchId) {
  start();
  auto ok = paid(connector_->create(requestFor(Kind::kPayout, "tok_success"), executor_));
  EXPECT_EQ(ok.status, TxStatus::kPaid);
  EXPECT_EQ(paid(connector_->fetchStatus(Kind::kPayout, ok.provider_ref, "", executor_)).status,
            TxStatus::kPaid);
  auto failed = paid(connector_->create(requestFor(Kind::kPayout, "tok_decline"), executor_));
  EXPECT_EQ(failed.status, TxStatus::kFailed);
  EXPECT_EQ(failed.failure.value_or(Failure{}).code, "RECEIVER_ACCOUNT_LOCKED");
  EXPECT_EQ(paid(connector_->create(requestFor(Kind::kPayout, "tok_action"), executor_)).status,
            TxStatus::kInTransit);  // UNCLAIMED
  // A retry under another idempotency key: PayPal refuses the reused sender_batch_id and links
  // the original batch, which the connector reports.
  auto request = requestFor(Kind::kPayout, "tok_success");
  auto first = paid(connector_->create(request, executor_));
  long objects = sim_->objectsCreated();
  request.idempotency_key += "-again";
  EXPECT_EQ(paid(connector_->create(request, executor_)).provider_ref, first.provider_ref);
  EXPECT_EQ(sim_->objectsCreated(), objects);
  // A batch id (create could not look up the item) still fetches.
  auto item = sim_->payoutItemResource(first.provider_ref, "");
  rapidjson::Document doc;
  doc.Parse(item.c_str());
  std::string batch_id = doc["payout_batch_id"].GetString();
  EXPECT_EQ(paid(connector_->fetchStatus(Kind::kPayout, batch_id, "", executor_)).provider_ref,
            first.provider_ref);
}

TEST_F(PayPalFlowTest, WebhooksAreDeliveredWithPayPalsHeaders) {
  std::mutex mutex;
  std::vector<simkit::SimRequest> received;
  simkit::SimServer receiver("127.0.0.1", 0, [&](const simkit::SimRequest& r) {
    std::lock_guard lock(mutex);
    received.push_back(r);
    return simkit::SimResponse{200, "{}"};
  });
  start(3600, receiver.baseUrl() + "/webhooks/paypal");
  auto created = paid(connector_->create(requestFor(Kind::kCollect, "tok_success"), executor_));
  EXPECT_EQ(sim_->approve(created.provider_ref, true).delivery_status, 200);
  std::lock_guard lock(mutex);
  ASSERT_EQ(received.size(), 1u);
  WebhookRequest hook{received[0].headers, received[0].body, now()};
  EXPECT_TRUE(connector_->verifyWebhook(hook).ok) << connector_->verifyWebhook(hook).reason;
  EXPECT_EQ(connector_->parseWebhook(hook).at(0).event_type, "CHECKOUT.ORDER.APPROVED");
}

TEST_F(PayPalFlowTest, SimulatorRefusesBodiesOutsidePayPalsSchema) {
  start();
  http::HttpRequestSpec token{
      "POST",
      sim_->baseUrl() + "/v1/oauth2/token",
      {{"Authorization", "Basic " + crypto::base64Encode("sim_client:sim_secret")}},
      "grant_type=client_credentials"};
  rapidjson::Document doc;
  auto answer = executor_.send(token, std::chrono::seconds(5)).response.body;
  doc.Parse(answer.c_str());
  http::HttpRequestSpec order{
      "POST",
      sim_->baseUrl() + "/v2/checkout/orders",
      {{"Authorization", std::string("Bearer ") + doc["access_token"].GetString()},
       {"Content-Type", "application/json"}},
      R"({"intent":"CAPTURE","purchase_units":[{"amount":{"value":"1.00"}}]})"};
  auto result = executor_.send(order, std::chrono::seconds(5));
  EXPECT_EQ(result.response.status, 400);
  EXPECT_NE(result.response.body.find("INVALID_REQUEST"), std::string::npos);
  EXPECT_EQ(sim_->schemaFailures(), 1);
  sim_ = std::make_unique<PayPalSimulator>(
      simOptions());  // TearDown checks the connector's own bodies
}

class PayPalHarness : public testing::ConformanceHarness {
 public:
  PayPalHarness() : sim_(simOptions()) {
    connector_ = std::make_unique<PayPalConnector>(connectorConfig(sim_, /*timeout_ms=*/400));
  }
  ~PayPalHarness() override { EXPECT_EQ(sim_.schemaFailures(), 0); }
  Connector& connector() override { return *connector_; }
  bool supports(Kind) const override { return true; }
  PaymentRequest request(Kind kind, Scenario scenario) override {
    static constexpr std::array<const char*, 5> kTokens = {
        "tok_success", "tok_decline", "tok_timeout", "tok_error", "tok_unknown"};
    return requestFor(kind, kTokens.at(static_cast<size_t>(scenario)));
  }
  TxStatus successStatus(Kind kind) const override {
    // A PayPal order waits for the payer's approval; the capture settles it later.
    return kind == Kind::kCollect ? TxStatus::kRequiresAction : TxStatus::kPaid;
  }
  long providerObjects() override { return sim_.objectsCreated(); }
  WebhookRequest signedWebhook(const PaymentRequest& request, const ProviderPayment& payment,
                               TxStatus status, int64_t timestamp, const std::string& event_id,
                               bool wrong_secret) override {
    EventOptions o{event_id, timestamp, wrong_secret ? "WRONGWEBHOOKID" : "", false};
    const std::string& ref = payment.provider_ref;
    if (request.kind == Kind::kPayout) {
      bool ok = status == TxStatus::kPaid;
      return sim_
          .event(ok ? "PAYMENT.PAYOUTS-ITEM.SUCCEEDED" : "PAYMENT.PAYOUTS-ITEM.FAILED",
                 "payouts_item", sim_.payoutItemResource(ref, ok ? "SUCCESS" : "FAILED"), o)
          .request(0);
    }
    switch (status) {
      case TxStatus::kRequiresAction:  // the payer's approval was reversed: approve again
        return sim_
            .event("CHECKOUT.PAYMENT-APPROVAL.REVERSED", "checkout-order", sim_.orderResource(ref),
                   o)
            .request(0);
      case TxStatus::kSucceeded:
        return sim_
            .event("PAYMENT.CAPTURE.COMPLETED", "capture", sim_.captureResource(ref, "COMPLETED"),
                   o)
            .request(0);
      case TxStatus::kFailed:
        return sim_
            .event("PAYMENT.CAPTURE.DECLINED", "capture", sim_.captureResource(ref, "DECLINED"), o)
            .request(0);
      default:
        return sim_
            .event("PAYMENT.CAPTURE.PENDING", "capture", sim_.captureResource(ref, "PENDING"), o)
            .request(0);
    }
  }
  WebhookRequest unknownStatusWebhook(const PaymentRequest&,
                                      const ProviderPayment& payment) override {
    return sim_
        .event("PAYMENT.CAPTURE.COMPLETED", "capture",
               sim_.captureResource(payment.provider_ref, "IN_REVIEW"))
        .request(0);
  }
  bool signsTimestamp() const override { return true; }

 private:
  PayPalSimulator sim_;
  std::unique_ptr<PayPalConnector> connector_;
};

INSTANTIATE_CONNECTOR_CONFORMANCE(PayPal, [] { return std::make_unique<PayPalHarness>(); });

}  // namespace
}  // namespace paymux::connectors::paypal
