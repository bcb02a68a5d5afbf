#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connectors/simkit/sim_options.h"

namespace paymux::connectors::adyen {

/// Stand-in for Adyen's Checkout (POST /v71/payments) and Transfers (POST /btl/v4/transfers)
/// APIs. Every request body is validated against the official schemas (schemas/); a body that
/// does not validate answers 422 errorCode "702" and counts in schemaFailures(), so a test fails
/// when the connector sends something Adyen would reject.
///
/// Scenarios by paymentMethod.storedPaymentMethodId (payments) or by the counterparty's
/// accountHolder.fullName / transferInstrumentId (transfers): tok_success (Authorised; transfer
/// received, then booked and credited by webhook), tok_decline (Refused "2"; transfer refused),
/// tok_timeout (answers after timeout_ms), tok_error (500), tok_slow (after slow_ms), tok_async
/// (Received, then an AUTHORISATION notification after async_ms), tok_action (RedirectShopper),
/// tok_unknown (resultCode "SomethingNew" / transfer status "somethingNew").
///
/// Options: api_key (default kDefaultApiKey, sent as X-API-Key), webhook_secret (the hex HMAC
/// key, default kDefaultHmacKey), webhook_url; extra["schema_dir"] (default: the source tree's
/// schemas/), extra["merchant_account"] (when set, other merchant accounts answer 403).
/// Also serves GET /health, GET /sim/stats and POST /sim/webhooks (see simWebhook in the .cc).
class AdyenSimulator {
 public:
  static constexpr const char* kDefaultApiKey = "adyen_sim_key";
  static constexpr const char* kDefaultHmacKey =
      "5EA8A7C3F1B24D0E9C6B8A7F3E2D1C0B5A49382716F5E4D3C2B1A09F8E7D6C5B";

  explicit AdyenSimulator(simkit::SimOptions options);
  ~AdyenSimulator();
  AdyenSimulator(const AdyenSimulator&) = delete;
  AdyenSimulator& operator=(const AdyenSimulator&) = delete;

  std::string baseUrl() const;
  int port() const;
  /// The hex HMAC key webhooks are signed with.
  const std::string& hmacKey() const;
  /// Distinct payments and transfers created (idempotent replays excluded).
  long objectsCreated() const;
  /// Request bodies rejected by the schema check.
  long schemaFailures() const;
  long webhooksSent() const;

  struct SignedWebhook {
    std::string body;
    std::string signature;     // HmacSignature header (transfer webhooks); "" when per item
    long delivery_status = 0;  // HTTP status from the receiver, 0 if not sent
  };
  /// One item of a standard notification. Empty / negative fields are taken from the payment
  /// the simulator recorded under psp_reference (the payment's own reference for modifications
  /// is original_reference).
  struct NotificationSpec {
    std::string psp_reference;
    std::string event_code = "AUTHORISATION";
    bool success = true;
    std::string original_reference;
    std::string reason;
    std::string merchant_reference;
    int64_t amount = -1;
    std::string currency;
  };
  /// Builds (and, when deliver and webhook_url is set, sends) a standard notification.
  SignedWebhook notification(const std::string& psp_reference, const std::string& event_code,
                             bool success, bool deliver);
  SignedWebhook notificationBatch(const std::vector<NotificationSpec>& items, bool deliver);
  /// A balancePlatform.transfer.updated webhook for a transfer; tracking_status "credited" adds
  /// a confirmation tracking object. Each call takes the transfer's next sequenceNumber.
  SignedWebhook transferWebhook(const std::string& transfer_id, const std::string& status,
                                bool deliver, const std::string& tracking_status = "");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paymux::connectors::adyen
