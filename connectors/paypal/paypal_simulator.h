#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "connectors/api/connector.h"
#include "connectors/simkit/sim_options.h"

namespace paymux::connectors::paypal {

/// A webhook as the simulator signed it.
struct SignedWebhook {
  std::string event_id;
  std::string body;
  http::Headers headers;     // PAYPAL-TRANSMISSION-* etc., lower-case names as paymux sees them
  long delivery_status = 0;  // HTTP status from webhook_url; 0 when not (yet) delivered
  /// The webhook as paymux's endpoint hands it to the connector.
  WebhookRequest request(int64_t now_unix) const { return WebhookRequest{headers, body, now_unix}; }
};

struct EventOptions {
  std::string event_id;           // "" = a fresh WH-... id
  int64_t transmission_unix = 0;  // PAYPAL-TRANSMISSION-TIME and create_time; 0 = now
  std::string webhook_id;         // "" = the simulator's; another id = signed for another webhook
  bool deliver = false;           // POST it to webhook_url before returning
};

/// Stand-in for PayPal's REST API on loopback:
///   POST /v1/oauth2/token (Basic client_id:client_secret), POST /v2/checkout/orders,
///   GET /v2/checkout/orders/{id}, POST /v2/checkout/orders/{id}/capture,
///   POST /v1/payments/payouts, GET /v1/payments/payouts/{id},
///   GET /v1/payments/payouts-item/{id}, GET /certs/paypal.pem, GET /health,
///   GET /checkoutnow?token={order} (the payer approves; redirects to return_url),
///   POST /sim/approve {"order_id", "deliver"}, POST /sim/webhooks {"event_type", "id",
///   "status", "event_id", "deliver"}, GET /sim/stats.
/// API calls need a bearer token that has not expired (tokens live extra["token_ttl_s"]);
/// PayPal-Request-Id replays the first answer; order and payout bodies are validated against
/// PayPal's published schemas (400 INVALID_REQUEST / VALIDATION_ERROR, counted).
///
/// Scenarios (simkit tokens) come from payment_source.paypal.vault_id, else its email_address,
/// for orders; from items[0].receiver for payouts:
///   tok_success / none  order PAYER_ACTION_REQUIRED; the capture after approval COMPLETED.
///                       payout item SUCCESS.
///   tok_action          as tok_success for orders; payout item UNCLAIMED.
///   tok_decline         order create 422 INSTRUMENT_DECLINED; payout item FAILED.
///   tok_capture_decline order as tok_success, its capture DECLINED (PayPal-specific token).
///   tok_async           capture / payout item PENDING, then COMPLETED / SUCCESS with a
///                       PAYMENT.CAPTURE.COMPLETED / PAYMENT.PAYOUTS-ITEM.SUCCEEDED webhook
///                       after async_ms.
///   tok_timeout         answers after timeout_ms; tok_slow after slow_ms; tok_error 500.
///   tok_unknown         order / payout item status PayPal has never sent ("IN_REVIEW").
/// Webhooks are signed as PayPal signs them, with a key and self-signed certificate generated
/// at start and served at certificateUrl(). Options: extra["client_id"] ("sim_client"),
/// extra["client_secret"] ("sim_secret"), extra["token_ttl_s"] (3600), extra["webhook_id"]
/// (else webhook_secret, else "SIMWEBHOOK0001").
class PayPalSimulator {
 public:
  explicit PayPalSimulator(simkit::SimOptions options);
  ~PayPalSimulator();
  PayPalSimulator(const PayPalSimulator&) = delete;
  PayPalSimulator& operator=(const PayPalSimulator&) = delete;

  std::string baseUrl() const;
  int port() const;
  std::string certificateUrl() const;
  const std::string& certificatePem() const;
  std::string webhookId() const;

  /// Orders and payout batches created (replays and refused requests excluded).
  long objectsCreated() const;
  long tokensIssued() const;
  /// Requests refused because their body broke PayPal's schema.
  long schemaFailures() const;
  long webhooksSent() const;

  /// The next `count` bearer-authenticated API calls answer 401 (a revoked token).
  void rejectNextBearer(int count);

  /// The payer approves the order (it becomes APPROVED): a signed CHECKOUT.ORDER.APPROVED
  /// event, POSTed to webhook_url when `deliver`. Throws std::out_of_range for an unknown id.
  SignedWebhook approve(const std::string& order_id, bool deliver);

  /// A signed event around `resource_json` (one of the *Resource() answers, or any object).
  SignedWebhook event(const std::string& event_type, const std::string& resource_type,
                      const std::string& resource_json, const EventOptions& options = {});

  // Resources as PayPal puts them in webhooks. A status given is recorded, so later fetches
  // agree with the webhook. Throw std::out_of_range for unknown ids.
  std::string orderResource(const std::string& order_id) const;
  /// The order's capture; `status` "" keeps the capture's own (an uncaptured order gets one).
  std::string captureResource(const std::string& order_id, const std::string& status);
  /// `status` "" keeps the item's own transaction_status.
  std::string payoutItemResource(const std::string& item_id, const std::string& status);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paymux::connectors::paypal
