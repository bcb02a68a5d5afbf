#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "connectors/simkit/sim_options.h"

namespace paymux::connectors::stripe {

/// A local stand-in for api.stripe.com speaking Stripe's formats: form-encoded
/// POST /v1/payment_intents and /v1/payouts (Bearer key, Idempotency-Key replay and
/// idempotency_error), GET /v1/payment_intents/{id} and /v1/payouts/{id}, Stripe's error shape,
/// and events signed with Stripe-Signature. GET /health answers 200.
///
/// The scenario comes from payment_method (collections) or destination (payouts): tok_success,
/// tok_decline (402 card_error / payout failed), tok_timeout (answer after timeout_ms), tok_error
/// (500 api_error), tok_slow (after slow_ms), tok_async (processing / pending, then succeeded /
/// paid after async_ms with a signed event POSTed to webhook_url), tok_action (requires_action
/// with a redirect), tok_unknown (status "some_future_status").
///
/// Test hooks: POST /sim/webhooks {object_id, type, status, event_id?, deliver?} answers
/// {body, signature, delivery_status}; GET /sim/stats answers {objects_created, webhooks_sent}.
/// Defaults: api_key "sk_test_sim", webhook_secret "whsec_sim".
class StripeSimulator {
 public:
  explicit StripeSimulator(simkit::SimOptions options);
  ~StripeSimulator();
  StripeSimulator(const StripeSimulator&) = delete;
  StripeSimulator& operator=(const StripeSimulator&) = delete;

  std::string baseUrl() const;
  int port() const;
  /// Distinct PaymentIntents and Payouts created (idempotent replays are not counted).
  long objectsCreated() const;

  struct SignedWebhook {
    std::string body;
    std::string signature;     // Stripe-Signature header value
    long delivery_status = 0;  // HTTP status from the receiver; 0 when not sent
  };
  /// Builds a Stripe event envelope around the object (its status replaced by `status` unless
  /// empty), signed as Stripe signs at `timestamp` (0 = now), and POSTs it to webhook_url when
  /// `deliver`. An unknown object_id gets a minimal object of the event's kind.
  SignedWebhook event(const std::string& object_id, const std::string& event_type,
                      const std::string& status, bool deliver, const std::string& event_id = "",
                      int64_t timestamp = 0);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paymux::connectors::stripe
