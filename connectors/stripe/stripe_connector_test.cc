#include "connectors/stripe/stripe_connector.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "connectors/simkit/sim_server.h"
#include "connectors/stripe/stripe_simulator.h"
#include "services/common/json.h"

namespace paymux::connectors::stripe {
namespace {

/// Records the request and answers with a canned result.
class FakeExecutor : public http::HttpExecutor {
 public:
  http::HttpResult send(const http::HttpRequestSpec& request,
                        std::chrono::milliseconds timeout) override {
    last = request;
    last_timeout = timeout;
    return answer;
  }
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : last.headers) {
      if (k == name) return v;
    }
    return "";
  }
  http::HttpRequestSpec last;
  std::chrono::milliseconds last_timeout{0};
  http::HttpResult answer;
};

config::ConnectorConfig stripeConfig(const std::string& base_url) {
  config::ConnectorConfig c;
  c.id = "stripe-test";
  c.type = "stripe";
  c.base_url = base_url;
  c.credentials["secret_key"] = Secret("sk_test_sim");
  c.webhook.secret = Secret("whsec_sim");
  c.timeout_ms = 2000;
  return c;
}

PaymentRequest request(Kind kind, const std::string& token, const std::string& id) {
  PaymentRequest r;
  r.kind = kind;
  r.transaction_id = id;
  r.amount_minor = 2500;
  r.currency = "EUR";
  r.idempotency_key = id + "-stripe";
  if (kind == Kind::kCollect) {
    r.payment_method = {"card", token, "", ""};
  } else {
    r.beneficiary.account_id = token;
  }
  return r;
}

const ProviderPayment& payment(const CallResult& r) {
  static ProviderPayment empty;
  if (const auto* err = std::get_if<ConnectorError>(&r)) {
    ADD_FAILURE() << "error " << err->code << ": " << err->message;
    return empty;
  }
  return std::get<ProviderPayment>(r);
}

TEST(StripeConnector, RequiresTheSecretKey) {
  auto c = stripeConfig("https://api.stripe.com");
  c.credentials.clear();
  try {
    makeStripeConnector(c);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "credentials.secret_key: required");
  }
}

TEST(StripeConnector, CapabilitiesComeFromConfig) {
  auto c = stripeConfig("https://api.stripe.com");
  EXPECT_EQ(makeStripeConnector(c)->capabilities().kinds.size(), 2u);
  c.kinds = {"payout"};
  c.currencies = {"EUR"};
  auto caps = makeStripeConnector(c)->capabilities();
  ASSERT_EQ(caps.kinds.size(), 1u);
  EXPECT_EQ(caps.kinds[0], Kind::kPayout);
  EXPECT_EQ(caps.currencies, std::vector<std::string>{"EUR"});
  EXPECT_TRUE(caps.can_fetch_status);
}

TEST(StripeConnector, CreateBuildsStripesRequest) {
  auto c = stripeConfig("https://api.stripe.com/");
  c.settings["return_url"] = "https://shop.example/back";
  auto connector = makeStripeConnector(c);
  FakeExecutor ex;
  ex.answer.response.status = 200;
  ex.answer.response.body =
      R"({"id":"pi_1","object":"payment_intent","amount":2500,"currency":"eur",
          "status":"succeeded"})";
  auto result = connector->create(request(Kind::kCollect, "pm_card_visa", "col_1"), ex);
  EXPECT_EQ(payment(result).status, TxStatus::kSucceeded);
  EXPECT_EQ(ex.last.method, "POST");
  EXPECT_EQ(ex.last.url, "https://api.stripe.com/v1/payment_intents");
  EXPECT_EQ(ex.header("Authorization"), "Bearer sk_test_sim");
  EXPECT_EQ(ex.header("Idempotency-Key"), "col_1-stripe");
  EXPECT_EQ(ex.header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(ex.header("Stripe-Version"), "2024-06-20");
  EXPECT_NE(ex.last.body.find("return_url=https%3A%2F%2Fshop.example%2Fback"), std::string::npos);
  EXPECT_EQ(ex.last_timeout, std::chrono::milliseconds(2000));

  ex.answer.response.body =
      R"({"id":"po_1","object":"payout","amount":2500,"currency":"eur","status":"pending"})";
  result = connector->create(request(Kind::kPayout, "ba_1", "pay_1"), ex);
  EXPECT_EQ(ex.last.url, "https://api.stripe.com/v1/payouts");
  EXPECT_EQ(payment(result).status, TxStatus::kProcessing);

  result = connector->fetchStatus(Kind::kPayout, "po_1", "pay_1", ex);
  EXPECT_EQ(ex.last.method, "GET");
  EXPECT_EQ(ex.last.url, "https://api.stripe.com/v1/payouts/po_1");
  EXPECT_TRUE(ex.header("Idempotency-Key").empty());
}

TEST(StripeConnector, TransportFailuresMapThroughTransportError) {
  auto connector = makeStripeConnector(stripeConfig("https://api.stripe.com"));
  FakeExecutor ex;
  ex.answer.error = http::TransportError::kConnect;
  auto refused = std::get<ConnectorError>(connector->create(request(Kind::kCollect, "x", "c"), ex));
  EXPECT_TRUE(refused.retryable);
  ex.answer.error = http::TransportError::kTimeoutAfterSend;
  auto late = std::get<ConnectorError>(connector->create(request(Kind::kCollect, "x", "c"), ex));
  EXPECT_FALSE(late.retryable);
  EXPECT_TRUE(late.outcome_unknown);
  auto no_ref = std::get<ConnectorError>(connector->fetchStatus(Kind::kCollect, "", "c", ex));
  EXPECT_EQ(no_ref.code, "provider_ref_unknown");
}

// The simulator, end to end over loopback.

TEST(StripeSimulator, WrongKeyIsA401AuthenticationError) {
  StripeSimulator sim(simkit::SimOptions{});
  auto c = stripeConfig(sim.baseUrl());
  c.credentials["secret_key"] = Secret("sk_test_wrong");
  http::CurlExecutor ex;
  auto result = makeStripeConnector(c)->create(request(Kind::kCollect, "tok_success", "col_a"), ex);
  ASSERT_TRUE(std::holds_alternative<ConnectorError>(result));
  EXPECT_EQ(std::get<ConnectorError>(result).http_status, 401);
  EXPECT_EQ(std::get<ConnectorError>(result).code, "authentication_error");
  EXPECT_FALSE(std::get<ConnectorError>(result).retryable);
  EXPECT_EQ(sim.objectsCreated(), 0);
}

TEST(StripeSimulator, SameKeyWithOtherParamsIsAnIdempotencyError) {
  StripeSimulator sim(simkit::SimOptions{});
  auto connector = makeStripeConnector(stripeConfig(sim.baseUrl()));
  http::CurlExecutor ex;
  auto first = request(Kind::kCollect, "tok_decline", "col_b");
  auto declined = connector->create(first, ex);
  EXPECT_EQ(payment(declined).status, TxStatus::kFailed);
  EXPECT_EQ(payment(declined).failure->code, "card_declined");
  EXPECT_EQ(payment(declined).provider_ref.rfind("pi_", 0), 0u);
  // The decline is replayed for the same key (one object), and other params are refused.
  EXPECT_EQ(payment(connector->create(first, ex)).provider_ref, payment(declined).provider_ref);
  first.amount_minor += 1;
  auto mismatch = connector->create(first, ex);
  ASSERT_TRUE(std::holds_alternative<ConnectorError>(mismatch));
  EXPECT_EQ(std::get<ConnectorError>(mismatch).code, "idempotency_error");
  EXPECT_EQ(std::get<ConnectorError>(mismatch).http_status, 400);
  EXPECT_EQ(sim.objectsCreated(), 1);
}

TEST(StripeSimulator, ActionSlowAndUnknownScenarios) {
  simkit::SimOptions o;
  o.slow_ms = 50;
  StripeSimulator sim(o);
  auto c = stripeConfig(sim.baseUrl());
  c.settings["return_url"] = "https://shop.example/back";
  auto connector = makeStripeConnector(c);
  http::CurlExecutor ex;
  auto action = connector->create(request(Kind::kCollect, "tok_action", "col_c"), ex);
  EXPECT_EQ(payment(action).status, TxStatus::kRequiresAction);
  EXPECT_FALSE(payment(action).redirect_url.empty());
  auto slow = connector->create(request(Kind::kPayout, "tok_slow", "pay_c"), ex);
  EXPECT_EQ(payment(slow).status, TxStatus::kPaid);
  auto unknown = connector->create(request(Kind::kCollect, "tok_unknown", "col_d"), ex);
  EXPECT_EQ(payment(unknown).status, TxStatus::kProcessing);
  EXPECT_EQ(payment(unknown).provider_status, "some_future_status");
  auto payout_failed = connector->create(request(Kind::kPayout, "tok_decline", "pay_d"), ex);
  EXPECT_EQ(payment(payout_failed).failure->code, "account_closed");
  auto health = ex.send({"GET", sim.baseUrl() + "/health", {}, ""}, std::chrono::seconds(2));
  EXPECT_EQ(health.response.status, 200);
}

/// A webhook receiver: keeps what the simulator POSTs.
struct Receiver {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<simkit::SimRequest> hooks;
  simkit::SimServer server{"127.0.0.1", 0, [this](const simkit::SimRequest& r) {
                             std::lock_guard lock(mutex);
                             hooks.push_back(r);
                             cv.notify_all();
                             return simkit::SimResponse{200, "{}"};
                           }};
  bool waitFor(size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] { return hooks.size() >= n; });
  }
};

TEST(StripeSimulator, AsyncOutcomesArriveAsSignedEvents) {
  Receiver receiver;
  simkit::SimOptions o;
  o.async_ms = 50;
  o.webhook_url = receiver.server.baseUrl() + "/webhooks/stripe";
  StripeSimulator sim(o);
  auto connector = makeStripeConnector(stripeConfig(sim.baseUrl()));
  http::CurlExecutor ex;
  auto created = connector->create(request(Kind::kCollect, "tok_async", "col_async"), ex);
  EXPECT_EQ(payment(created).status, TxStatus::kProcessing);
  auto payout = connector->create(request(Kind::kPayout, "tok_async", "pay_async"), ex);
  EXPECT_EQ(payment(payout).status, TxStatus::kProcessing);
  ASSERT_TRUE(receiver.waitFor(2));

  std::vector<ProviderEvent> events;
  for (const auto& hook : receiver.hooks) {
    WebhookRequest req{hook.headers, hook.body, static_cast<int64_t>(std::time(nullptr))};
    EXPECT_TRUE(connector->verifyWebhook(req).ok) << connector->verifyWebhook(req).reason;
    auto parsed = connector->parseWebhook(req);
    events.insert(events.end(), parsed.begin(), parsed.end());
  }
  for (const auto& ev : events) {
    if (ev.our_id == "col_async") {
      EXPECT_EQ(ev.event_type, "payment_intent.succeeded");
      EXPECT_EQ(ev.status, TxStatus::kSucceeded);
      EXPECT_EQ(ev.provider_ref, payment(created).provider_ref);
    } else {
      EXPECT_EQ(ev.our_id, "pay_async");
      EXPECT_EQ(ev.event_type, "payout.paid");
      EXPECT_EQ(ev.status, TxStatus::kPaid);
    }
  }
  auto fetched = connector->fetchStatus(Kind::kCollect, payment(created).provider_ref, "", ex);
  EXPECT_EQ(payment(fetched).status, TxStatus::kSucceeded);
}

TEST(StripeSimulator, SimWebhooksEndpointSignsAndDelivers) {
  Receiver receiver;
  simkit::SimOptions o;
  o.webhook_url = receiver.server.baseUrl() + "/webhooks/stripe";
  StripeSimulator sim(o);
  auto connector = makeStripeConnector(stripeConfig(sim.baseUrl()));
  http::CurlExecutor ex;
  auto created = connector->create(request(Kind::kCollect, "tok_success", "col_e"), ex);
  auto answer = ex.send({"POST",
                         sim.baseUrl() + "/sim/webhooks",
                         {},
                         R"({"object_id":")" + payment(created).provider_ref +
                             R"(","type":"payment_intent.payment_failed",)"
                             R"("status":"requires_payment_method","event_id":"evt_fixed"})"},
                        std::chrono::seconds(5));
  ASSERT_EQ(answer.response.status, 200);
  rapidjson::Document doc;
  doc.Parse(answer.response.body.c_str());
  EXPECT_EQ(json::getInt(doc, "delivery_status"), 200);
  WebhookRequest req{{{"stripe-signature", json::getString(doc, "signature").value_or("")}},
                     json::getString(doc, "body").value_or(""),
                     static_cast<int64_t>(std::time(nullptr))};
  EXPECT_TRUE(connector->verifyWebhook(req).ok);
  auto events = connector->parseWebhook(req);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id, "evt_fixed");
  EXPECT_EQ(events[0].status, TxStatus::kFailed);
  EXPECT_EQ(events[0].failure->code, "card_declined");
  ASSERT_TRUE(receiver.waitFor(1));
  EXPECT_EQ(receiver.hooks[0].body, req.body);
}

}  // namespace
}  // namespace paymux::connectors::stripe
