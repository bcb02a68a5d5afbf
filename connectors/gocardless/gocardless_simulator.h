#pragma once
#include <memory>
#include <string>
#include <vector>

#include "connectors/simkit/sim_options.h"

namespace paymux::connectors::gocardless {

/// Stand-in for GoCardless's payments API: POST /payments (a reused Idempotency-Key answers 409
/// invalid_state / idempotent_creation_conflict with links.conflicting_resource_id, as GoCardless
/// does), GET /payments/{id}, the sandbox's POST /scenario_simulators/payment_<action>/actions/run;
/// POST /sim/webhooks and GET /sim/stats for e2e tests; GET /health. Bearer token:
/// options.api_key (default "gc_sim_token"); GoCardless-Version must be 2015-07-06.
///
/// Scenario by the mandate id (payment_method.mandate) containing: tok_success
/// (pending_submission), tok_decline (422 mandate_is_inactive), tok_timeout (created, answer after
/// timeout_ms), tok_error (500), tok_slow (answer after slow_ms), tok_async (pending_submission,
/// then submitted + confirmed in one webhook after async_ms), tok_unknown (a status paymux has
/// never seen).
/// Webhooks are {"events": [...]} batches signed with Webhook-Signature (hex HMAC-SHA256, key
/// options.webhook_secret, default "gc_sim_webhook_secret"), sent to options.webhook_url if set.
class GoCardlessSimulator {
 public:
  static constexpr const char* kDefaultApiKey = "gc_sim_token";
  static constexpr const char* kDefaultWebhookSecret = "gc_sim_webhook_secret";

  explicit GoCardlessSimulator(simkit::SimOptions options);
  ~GoCardlessSimulator();
  GoCardlessSimulator(const GoCardlessSimulator&) = delete;
  GoCardlessSimulator& operator=(const GoCardlessSimulator&) = delete;

  std::string baseUrl() const;
  int port() const;
  long objectsCreated() const;  // distinct payments
  long createRequests() const;  // POST /payments received
  long webhooksSent() const;

  struct Event {
    std::string payment_id;
    std::string action;    // GoCardless payment action: submitted, confirmed, failed, ...
    std::string event_id;  // "" = a fresh EV... id
  };
  struct SignedWebhook {
    std::string body;
    std::string signature;     // Webhook-Signature
    long delivery_status = 0;  // paymux's HTTP answer, 0 if not sent
  };
  /// One batch body carrying `events` (the payments' stored statuses are not changed); sent to
  /// webhook_url when `deliver`.
  SignedWebhook webhook(const std::vector<Event>& events, bool deliver);
  /// Applies `actions` to a payment in order and sends them as one batch webhook, as GoCardless
  /// does when a payment moves on. False when there is no such payment.
  bool advance(const std::string& payment_id, const std::vector<std::string>& actions);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paymux::connectors::gocardless
