#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "connectors/gocardless/gocardless_connector.h"
#include "connectors/gocardless/gocardless_simulator.h"
#include "connectors/gocardless/gocardless_transformers.h"
#include "connectors/simkit/sim_server.h"
#include "connectors/testing/conformance_suite.h"
#include "services/common/crypto.h"

namespace paymux::connectors::gocardless {
namespace {

using testing::Scenario;

constexpr const char* kVectorSecret = "ED7D658C-D8EB-4941-948B-3973214F2D49";
constexpr const char* kVectorSignature =
    "2693754819d3e32d7e8fcb13c729631f316c6de8dc1cf634d6527f1c07276e7e";

/// Fixture bytes, exactly as stored (the signature covers the file without a trailing newline).
std::string fixture(const std::string& name) {
  const char* root = std::getenv("PAYMUX_SOURCE_DIR");
  std::filesystem::path dir = root ? std::filesystem::path(root) / "connectors/gocardless/fixtures"
                                   : std::filesystem::path(__FILE__).parent_path() / "fixtures";
  std::ifstream in(dir / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << (dir / name);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

config::ConnectorConfig gcConfig(const std::string& base_url, const std::string& secret) {
  config::ConnectorConfig c;
  c.id = "gocardless-test";
  c.type = "gocardless";
  c.base_url = base_url;
  c.credentials["access_token"] = Secret(GoCardlessSimulator::kDefaultApiKey);
  c.webhook.secret = Secret(secret);
  c.timeout_ms = 400;
  return c;
}

PaymentRequest collection(const std::string& mandate) {
  PaymentRequest r;
  r.kind = Kind::kCollect;
  r.transaction_id = crypto::randomId("col");
  r.amount_minor = 1234;
  r.currency = "EUR";
  r.reference = "conf";
  r.idempotency_key = r.transaction_id + "-gocardless-test";
  r.payment_method = {"sepa_debit", "", mandate, ""};
  return r;
}

// --- The published vector (gocardless-nodejs fixture) ------------------------------------------

TEST(GoCardlessWebhookVector, SecretSignsTheRecordedBatch) {
  std::string body = fixture("webhook_body.compact.json");
  EXPECT_EQ(webhookSignature(kVectorSecret, body), kVectorSignature);
  auto connector = makeGoCardlessConnector(gcConfig("http://127.0.0.1:9", kVectorSecret));
  WebhookRequest hook{{{"webhook-signature", kVectorSignature}}, body, 0};
  auto verdict = connector->verifyWebhook(hook);
  EXPECT_TRUE(verdict.ok) << verdict.reason;

  WebhookRequest tampered = hook;
  tampered.body.replace(tampered.body.find("SB0003JJQ2MR06"), 14, "SB0003JJQ2MR07");
  EXPECT_FALSE(connector->verifyWebhook(tampered).ok);
  WebhookRequest truncated{{{"webhook-signature", std::string(kVectorSignature).substr(0, 63)}},
                           body, 0};
  EXPECT_FALSE(connector->verifyWebhook(truncated).ok);
  EXPECT_FALSE(connector->verifyWebhook(WebhookRequest{{}, body, 0}).ok);
  auto wrong = makeGoCardlessConnector(gcConfig("http://127.0.0.1:9", "another secret"));
  EXPECT_FALSE(wrong->verifyWebhook(hook).ok);
}

TEST(GoCardlessWebhookVector, RecordedBatchParsesToTwoEvents) {
  auto events = parseEvents(fixture("webhook_body.compact.json"));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event_id, "EV00BD05S5VM2T");
  EXPECT_EQ(events[1].event_id, "EV00BD05TB8K63");
  EXPECT_EQ(events[0].event_type, "subscriptions.created");
  EXPECT_EQ(events[1].event_type, "mandates.created");
  EXPECT_EQ(events[0].occurred_at_unix, 1530782031);
  EXPECT_EQ(events[1].occurred_at_unix, 1530782036);
  for (const auto& ev : events) {
    EXPECT_FALSE(ev.status.has_value()) << "only payments events carry a status";
    EXPECT_EQ(ev.provider_ref, "");
  }
}

// --- Transformers ------------------------------------------------------------------------------

TEST(GoCardlessTransformers, EveryPaymentStatusMaps) {
  struct Row {
    const char* status;
    TxStatus tx;
    const char* failure;
  };
  const Row rows[] = {
      {"pending_customer_approval", TxStatus::kProcessing, ""},
      {"pending_submission", TxStatus::kProcessing, ""},
      {"submitted", TxStatus::kProcessing, ""},
      {"confirmed", TxStatus::kSucceeded, ""},
      {"paid_out", TxStatus::kSucceeded, ""},
      {"cancelled", TxStatus::kCanceled, ""},
      {"customer_approval_denied", TxStatus::kFailed, "customer_approval_denied"},
      {"failed", TxStatus::kFailed, "failed"},
      {"charged_back", TxStatus::kFailed, "charged_back"},
      {"under_review", TxStatus::kProcessing, ""},
  };
  for (const auto& row : rows) {
    PaymentStatus status = paymentStatusFromString(row.status);
    EXPECT_EQ(toTxStatus(status), row.tx) << row.status;
    auto failure = failureFor(status);
    EXPECT_EQ(failure ? failure->code : "", row.failure) << row.status;
  }
}

TEST(GoCardlessTransformers, PaymentActionsMapToStatusesOrNothing) {
  const std::pair<const char*, std::optional<TxStatus>> rows[] = {
      {"created", TxStatus::kProcessing},          {"submitted", TxStatus::kProcessing},
      {"confirmed", TxStatus::kSucceeded},         {"paid_out", TxStatus::kSucceeded},
      {"failed", TxStatus::kFailed},               {"cancelled", TxStatus::kCanceled},
      {"charged_back", TxStatus::kFailed},         {"customer_approval_denied", TxStatus::kFailed},
      {"customer_approval_granted", std::nullopt}, {"chargeback_cancelled", std::nullopt},
      {"late_failure_settled", std::nullopt},      {"chargeback_settled", std::nullopt},
      {"resubmission_requested", std::nullopt},    {"surcharge_fee_debited", std::nullopt},
      {"teleported", std::nullopt},
  };
  for (const auto& [action, status] : rows) {
    EXPECT_EQ(toTxStatus(paymentActionFromString(action)), status) << action;
  }
}

TEST(GoCardlessTransformers, PaymentEventsCarryRefOurIdAndFailure) {
  std::string body =
      R"({"events":[)"
      R"({"id":"EV1","created_at":"2026-01-02T03:04:05.678Z","resource_type":"payments",)"
      R"("action":"submitted","links":{"payment":"PM1"},)"
      R"("resource_metadata":{"paymux_id":"col_1"}},)"
      R"({"id":"EV2","created_at":"2026-01-02T03:04:06.000Z","resource_type":"payments",)"
      R"("action":"failed","links":{"payment":"PM1"},"details":{"origin":"bank",)"
      R"("cause":"insufficient_funds","description":"Not enough money"}},)"
      R"({"id":"EV3","created_at":"2026-01-02T03:04:07.000Z","resource_type":"payments",)"
      R"("action":"charged_back","links":{"payment":"PM1"},)"
      R"("details":{"cause":"authorisation_disputed"}}]})";
  auto events = parseEvents(body);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].provider_ref, "PM1");
  EXPECT_EQ(events[0].our_id, "col_1");
  EXPECT_EQ(events[0].status, TxStatus::kProcessing);
  EXPECT_EQ(events[0].event_type, "payments.submitted");
  EXPECT_EQ(events[1].status, TxStatus::kFailed);
  ASSERT_TRUE(events[1].failure.has_value());
  EXPECT_EQ(events[1].failure->code, "insufficient_funds");
  EXPECT_EQ(events[2].status, TxStatus::kFailed);
  EXPECT_EQ(events[2].failure->code, "charged_back");
  EXPECT_THROW(parseEvents(R"({"events":[{"id":"EV1"}]})"), WebhookParseError);
  EXPECT_THROW(parseEvents("[]"), WebhookParseError);
}

TEST(GoCardlessConfig, AccessTokenIsRequiredAndPayoutsAreNot) {
  auto c = gcConfig("http://127.0.0.1:9", "s");
  c.credentials.clear();
  try {
    GoCardlessConnector connector(c);
    ADD_FAILURE() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "credentials.access_token: required");
  }
  c = gcConfig("http://127.0.0.1:9", "s");
  c.kinds = {"payout"};
  EXPECT_THROW(GoCardlessConnector connector(c), std::invalid_argument);
}

// --- Against the simulator ---------------------------------------------------------------------

struct SimFixture {
  explicit SimFixture(std::string webhook_url = "") {
    simkit::SimOptions o;
    o.webhook_url = std::move(webhook_url);
    o.timeout_ms = 3000;
    o.async_ms = 50;
    sim = std::make_unique<GoCardlessSimulator>(o);
    connector = makeGoCardlessConnector(
        gcConfig(sim->baseUrl(), GoCardlessSimulator::kDefaultWebhookSecret));
  }
  std::unique_ptr<GoCardlessSimulator> sim;
  std::unique_ptr<Connector> connector;
  http::CurlExecutor executor;
};

TEST(GoCardlessFlow, ReusedIdempotencyKeyReturnsTheExistingPayment) {
  SimFixture f;
  PaymentRequest r = collection("MD000tok_success");
  auto first = f.connector->create(r, f.executor);
  auto second = f.connector->create(r, f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(first));
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(second));
  EXPECT_EQ(std::get<ProviderPayment>(first).provider_ref,
            std::get<ProviderPayment>(second).provider_ref);
  EXPECT_EQ(std::get<ProviderPayment>(second).amount_minor, 1234);
  EXPECT_EQ(f.sim->createRequests(), 2);
  EXPECT_EQ(f.sim->objectsCreated(), 1);
}

TEST(GoCardlessFlow, InactiveMandateIsADeclineNotAnError) {
  SimFixture f;
  auto result = f.connector->create(collection("MD000tok_decline"), f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(result));
  EXPECT_EQ(std::get<ProviderPayment>(result).status, TxStatus::kFailed);
  EXPECT_EQ(std::get<ProviderPayment>(result).failure->code, "mandate_is_inactive");
  EXPECT_EQ(f.sim->objectsCreated(), 0);
}

TEST(GoCardlessFlow, AsyncCollectionIsConfirmedBySignedBatchWebhook) {
  std::mutex mutex;
  std::deque<WebhookRequest> received;
  simkit::SimServer receiver("127.0.0.1", 0, [&](const simkit::SimRequest& req) {
    std::lock_guard lock(mutex);
    received.push_back(WebhookRequest{req.headers, req.body, 0});
    return simkit::SimResponse{204, ""};
  });
  SimFixture f(receiver.baseUrl() + "/webhooks/gocardless");
  PaymentRequest r = collection("MD000tok_async");
  auto created = f.connector->create(r, f.executor);
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
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[0].event_id, events[1].event_id);
  EXPECT_EQ(events[0].status, TxStatus::kProcessing);
  EXPECT_EQ(events[1].status, TxStatus::kSucceeded);
  EXPECT_EQ(events[1].provider_ref, ref);
  EXPECT_EQ(events[1].our_id, r.transaction_id);
  auto fetched = f.connector->fetchStatus(Kind::kCollect, ref, r.transaction_id, f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(fetched));
  EXPECT_EQ(std::get<ProviderPayment>(fetched).status, TxStatus::kSucceeded);
}

TEST(GoCardlessFlow, SandboxScenarioSimulatorChargesBack) {
  SimFixture f;
  auto created = f.connector->create(collection("MD000tok_success"), f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(created));
  std::string ref = std::get<ProviderPayment>(created).provider_ref;
  http::HttpRequestSpec run{
      "POST",
      f.sim->baseUrl() + "/scenario_simulators/payment_charged_back/actions/run",
      {{"Authorization", std::string("Bearer ") + GoCardlessSimulator::kDefaultApiKey},
       {"GoCardless-Version", std::string(kApiVersion)},
       {"Content-Type", "application/json"}},
      R"({"data":{"links":{"resource":")" + ref + R"("}}})"};
  auto answer = f.executor.send(run, std::chrono::milliseconds(2000));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer.response.status, 200);
  auto fetched = f.connector->fetchStatus(Kind::kCollect, ref, "", f.executor);
  ASSERT_TRUE(std::holds_alternative<ProviderPayment>(fetched));
  EXPECT_EQ(std::get<ProviderPayment>(fetched).status, TxStatus::kFailed);
  EXPECT_EQ(std::get<ProviderPayment>(fetched).failure->code, "charged_back");
}

// --- Conformance -------------------------------------------------------------------------------

std::string actionFor(TxStatus status) {
  switch (status) {
    case TxStatus::kSucceeded:
    case TxStatus::kPaid:
      return "confirmed";
    case TxStatus::kFailed:
    case TxStatus::kReturned:
      return "failed";
    case TxStatus::kCanceled:
      return "cancelled";
    case TxStatus::kPending:
    case TxStatus::kProcessing:
    case TxStatus::kRequiresAction:
    case TxStatus::kInTransit:
      return "submitted";
  }
  return "submitted";
}

class GoCardlessHarness : public testing::ConformanceHarness {
 public:
  Connector& connector() override { return *fixture_.connector; }
  bool supports(Kind kind) const override { return kind == Kind::kCollect; }
  PaymentRequest request(Kind, Scenario scenario) override {
    static const char* kTokens[] = {"tok_success", "tok_decline", "tok_timeout", "tok_error",
                                    "tok_unknown"};
    return collection(std::string("MD000") + kTokens[static_cast<int>(scenario)]);
  }
  // A Direct Debit is collected days after creation: a created payment is processing.
  TxStatus successStatus(Kind) const override { return TxStatus::kProcessing; }
  long providerObjects() override { return fixture_.sim->objectsCreated(); }
  WebhookRequest signedWebhook(const PaymentRequest&, const ProviderPayment& payment,
                               TxStatus status, int64_t, const std::string& event_id,
                               bool wrong_secret) override {
    auto hook = fixture_.sim->webhook({{payment.provider_ref, actionFor(status), event_id}}, false);
    std::string signature = wrong_secret ? webhookSignature("not the secret", hook.body)
                                         : hook.signature;
    return WebhookRequest{{{"webhook-signature", signature}}, hook.body, 0};
  }
  WebhookRequest unknownStatusWebhook(const PaymentRequest&,
                                      const ProviderPayment& payment) override {
    auto hook = fixture_.sim->webhook({{payment.provider_ref, "teleported", ""}}, false);
    return WebhookRequest{{{"webhook-signature", hook.signature}}, hook.body, 0};
  }
  bool signsTimestamp() const override { return false; }

 private:
  SimFixture fixture_;
};

INSTANTIATE_CONNECTOR_CONFORMANCE(GoCardless, [] { return std::make_unique<GoCardlessHarness>(); });

}  // namespace
}  // namespace paymux::connectors::gocardless
