#pragma once
// Shared connector conformance suite. A connector's test file implements ConformanceHarness
// against its simulator and writes:
//   INSTANTIATE_CONNECTOR_CONFORMANCE(Stripe, [] { return std::make_unique<StripeHarness>(); });
#include <gtest/gtest.h>

#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "connectors/api/connector.h"
#include "services/common/http_client.h"

namespace paymux::connectors::testing {

enum class Scenario { kSuccess, kDecline, kTimeout, kServerError, kUnknownStatus };

/// What a connector and its simulator provide to the suite.
class ConformanceHarness {
 public:
  virtual ~ConformanceHarness() = default;
  /// The connector, configured against the running simulator, with a short timeout (well below
  /// the simulator's tok_timeout delay).
  virtual Connector& connector() = 0;
  virtual http::HttpExecutor& executor() { return executor_; }
  virtual bool supports(Kind kind) const = 0;
  /// A request that makes the simulator play the scenario. Each call uses a fresh transaction id.
  virtual PaymentRequest request(Kind kind, Scenario scenario) = 0;
  /// The status the provider reports for a successful create.
  virtual TxStatus successStatus(Kind kind) const = 0;
  /// Distinct payment objects the simulator has created.
  virtual long providerObjects() = 0;
  /// A webhook announcing `status` for the payment, signed as the provider signs it.
  virtual WebhookRequest signedWebhook(const PaymentRequest& request, const ProviderPayment& payment,
                                       TxStatus status, int64_t timestamp,
                                       const std::string& event_id, bool wrong_secret) = 0;
  /// A signed webhook whose status value paymux has never seen.
  virtual WebhookRequest unknownStatusWebhook(const PaymentRequest& request,
                                              const ProviderPayment& payment) = 0;
  /// Whether the signature scheme carries a timestamp (stale rejection applies).
  virtual bool signsTimestamp() const = 0;

 private:
  http::CurlExecutor executor_;
};

using HarnessFactory = std::function<std::unique_ptr<ConformanceHarness>()>;

/// The suite's parameter; wrapped so test names and logs print "simulator", not raw bytes.
struct HarnessParam {
  HarnessFactory make;
};
inline void PrintTo(const HarnessParam&, std::ostream* os) { *os << "simulator"; }

class ConnectorConformance : public ::testing::TestWithParam<HarnessParam> {
 protected:
  void SetUp() override { harness_ = GetParam().make(); }
  void TearDown() override { harness_.reset(); }

  CallResult create(Kind kind, Scenario scenario, PaymentRequest* out = nullptr) {
    PaymentRequest req = harness_->request(kind, scenario);
    if (out) *out = req;
    return harness_->connector().create(req, harness_->executor());
  }
  static const ProviderPayment& payment(const CallResult& r) {
    if (const auto* err = std::get_if<ConnectorError>(&r)) {
      ADD_FAILURE() << "expected a provider payment, got error " << err->code << ": "
                    << err->message;
      static ProviderPayment empty;
      return empty;
    }
    return std::get<ProviderPayment>(r);
  }
  static int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

  std::unique_ptr<ConformanceHarness> harness_;
};

TEST_P(ConnectorConformance, CollectSucceeds) {
  if (!harness_->supports(Kind::kCollect)) GTEST_SKIP() << "no collections";
  auto result = create(Kind::kCollect, Scenario::kSuccess);
  const auto& p = payment(result);
  EXPECT_EQ(p.status, harness_->successStatus(Kind::kCollect));
  EXPECT_FALSE(p.provider_ref.empty());
}

TEST_P(ConnectorConformance, CollectDeclineIsAFailedPaymentNotAnError) {
  if (!harness_->supports(Kind::kCollect)) GTEST_SKIP() << "no collections";
  auto result = create(Kind::kCollect, Scenario::kDecline);
  const auto& p = payment(result);
  EXPECT_EQ(p.status, TxStatus::kFailed);
  ASSERT_TRUE(p.failure.has_value());
  EXPECT_FALSE(p.failure->code.empty());
}

TEST_P(ConnectorConformance, TimeoutLeavesOutcomeUnknown) {
  Kind kind = harness_->supports(Kind::kCollect) ? Kind::kCollect : Kind::kPayout;
  auto result = create(kind, Scenario::kTimeout);
  ASSERT_TRUE(std::holds_alternative<ConnectorError>(result));
  const auto& err = std::get<ConnectorError>(result);
  EXPECT_TRUE(err.outcome_unknown);
  EXPECT_FALSE(err.retryable) << "a request that may have been processed must not fail over";
}

TEST_P(ConnectorConformance, ServerErrorIsRetryable) {
  Kind kind = harness_->supports(Kind::kCollect) ? Kind::kCollect : Kind::kPayout;
  auto result = create(kind, Scenario::kServerError);
  ASSERT_TRUE(std::holds_alternative<ConnectorError>(result));
  EXPECT_TRUE(std::get<ConnectorError>(result).retryable);
  EXPECT_FALSE(std::get<ConnectorError>(result).outcome_unknown);
}

TEST_P(ConnectorConformance, PayoutPaid) {
  if (!harness_->supports(Kind::kPayout)) GTEST_SKIP() << "no payouts";
  auto result = create(Kind::kPayout, Scenario::kSuccess);
  EXPECT_EQ(payment(result).status, harness_->successStatus(Kind::kPayout));
}

TEST_P(ConnectorConformance, PayoutFailed) {
  if (!harness_->supports(Kind::kPayout)) GTEST_SKIP() << "no payouts";
  auto result = create(Kind::kPayout, Scenario::kDecline);
  EXPECT_EQ(payment(result).status, TxStatus::kFailed);
}

TEST_P(ConnectorConformance, SameIdempotencyKeyMakesOneProviderObject) {
  Kind kind = harness_->supports(Kind::kCollect) ? Kind::kCollect : Kind::kPayout;
  PaymentRequest req = harness_->request(kind, Scenario::kSuccess);
  long before = harness_->providerObjects();
  auto first = harness_->connector().create(req, harness_->executor());
  auto second = harness_->connector().create(req, harness_->executor());
  EXPECT_EQ(payment(first).provider_ref, payment(second).provider_ref);
  EXPECT_EQ(harness_->providerObjects(), before + 1);
}

TEST_P(ConnectorConformance, StatusFetchReturnsTheProvidersView) {
  if (!harness_->connector().capabilities().can_fetch_status) {
    GTEST_SKIP() << "connector declares no status fetch";
  }
  Kind kind = harness_->supports(Kind::kCollect) ? Kind::kCollect : Kind::kPayout;
  PaymentRequest req;
  auto created = create(kind, Scenario::kSuccess, &req);
  const auto& p = payment(created);
  auto fetched = harness_->connector().fetchStatus(kind, p.provider_ref, req.transaction_id,
                                                   harness_->executor());
  EXPECT_EQ(payment(fetched).provider_ref, p.provider_ref);
  EXPECT_EQ(payment(fetched).status, p.status);
}

TEST_P(ConnectorConformance, ValidWebhookVerifiesAndParses) {
  Kind kind = harness_->supports(Kind::kCollect) ? Kind::kCollect : Kind::kPayout;
  PaymentRequest req;
  auto created = create(kind, Scenario::kSuccess, &req);
  const auto& p = payment(created);
  auto hook = harness_->signedWebhook(req, p, harness_->successStatus(kind), now(), "evt_conf_1",
                                      false);
  hook.now_unix = now();
  auto verdict = harness_->connector().verifyWebhook(hook);
  EXPECT_TRUE(verdict.ok) << verdict.reason;
  auto events = harness_->connector().parseWebhook(hook);
  ASSERT_GE(events.size(), 1u);
  EXPECT_FALSE(events[0].event_id.empty());
  EXPECT_TRUE(events[0].provider_ref == p.provider_ref || events[0].our_id == req.transaction_id);
  ASSERT_TRUE(events[0].status.has_value());
  EXPECT_EQ(*events[0].status, harness_->successStatus(kind));
}

TEST_P(ConnectorConformance, TamperedWebhookIsRejected) {
  Kind kind = harness_->supports(Kind::kCollect) ? Kind::kCollect : Kind::kPayout;
  PaymentRequest req;
  auto created = create(kind, Scenario::kSuccess, &req);
  auto hook = harness_->signedWebhook(req, payment(created), harness_->successStatus(kind), now(),
                                      "evt_conf_2", false);
  hook.now_unix = now();
  // Change one byte of the body: a digit of the amount if there is one, else append a space.
  auto pos = hook.body.find_first_of("123456789");
  if (pos != std::string::npos) {
    hook.body[pos] = hook.body[pos] == '9' ? '8' : static_cast<char>(hook.body[pos] + 1);
  } else {
    hook.body += " ";
  }
  EXPECT_FALSE(harness_->connector().verifyWebhook(hook).ok);
}

TEST_P(ConnectorConformance, StaleWebhookIsRejected) {
  if (!harness_->signsTimestamp()) GTEST_SKIP() << "the scheme carries no timestamp";
  Kind kind = harness_->supports(Kind::kCollect) ? Kind::kCollect : Kind::kPayout;
  PaymentRequest req;
  auto created = create(kind, Scenario::kSuccess, &req);
  auto hook = harness_->signedWebhook(req, payment(created), harness_->successStatus(kind),
                                      now() - 3600, "evt_conf_3", false);
  hook.now_unix = now();
  EXPECT_FALSE(harness_->connector().verifyWebhook(hook).ok);
}

TEST_P(ConnectorConformance, WrongSecretWebhookIsRejected) {
  Kind kind = harness_->supports(Kind::kCollect) ? Kind::kCollect : Kind::kPayout;
  PaymentRequest req;
  auto created = create(kind, Scenario::kSuccess, &req);
  auto hook = harness_->signedWebhook(req, payment(created), harness_->successStatus(kind), now(),
                                      "evt_conf_4", true);
  hook.now_unix = now();
  EXPECT_FALSE(harness_->connector().verifyWebhook(hook).ok);
}

TEST_P(ConnectorConformance, DuplicateWebhookParsesToTheSameEventId) {
  Kind kind = harness_->supports(Kind::kCollect) ? Kind::kCollect : Kind::kPayout;
  PaymentRequest req;
  auto created = create(kind, Scenario::kSuccess, &req);
  auto hook = harness_->signedWebhook(req, payment(created), harness_->successStatus(kind), now(),
                                      "evt_conf_dup", false);
  hook.now_unix = now();
  auto first = harness_->connector().parseWebhook(hook);
  auto second = harness_->connector().parseWebhook(hook);
  ASSERT_FALSE(first.empty());
  ASSERT_EQ(first.size(), second.size());
  EXPECT_EQ(first[0].event_id, second[0].event_id);
}

TEST_P(ConnectorConformance, UnknownProviderStatusIsSafeAndNonFinal) {
  Kind kind = harness_->supports(Kind::kCollect) ? Kind::kCollect : Kind::kPayout;
  PaymentRequest req;
  auto created = create(kind, Scenario::kSuccess, &req);
  auto hook = harness_->unknownStatusWebhook(req, payment(created));
  hook.now_unix = now();
  std::vector<ProviderEvent> events;
  ASSERT_NO_THROW(events = harness_->connector().parseWebhook(hook));
  for (const auto& ev : events) {
    if (!ev.status) continue;  // ignoring an unknown event is also safe
    EXPECT_TRUE(*ev.status == TxStatus::kProcessing || *ev.status == TxStatus::kPending)
        << toString(*ev.status);
  }
  // The create flow too: an unknown status in a create answer must not be final.
  auto unknown = create(kind, Scenario::kUnknownStatus);
  if (const auto* p = std::get_if<ProviderPayment>(&unknown)) {
    EXPECT_TRUE(p->status == TxStatus::kProcessing || p->status == TxStatus::kPending);
  }
}

}  // namespace paymux::connectors::testing

#define INSTANTIATE_CONNECTOR_CONFORMANCE(Name, factory)                     \
  using ::paymux::connectors::testing::ConnectorConformance;                  \
  INSTANTIATE_TEST_SUITE_P(Name, ConnectorConformance,                        \
                           ::testing::Values(::paymux::connectors::testing::HarnessParam{        \
                               ::paymux::connectors::testing::HarnessFactory(factory)}),            \
                           [](const auto&) { return std::string("simulator"); })
