#pragma once
#include <memory>
#include <string>

#include "connectors/simkit/sim_options.h"

namespace paymux::connectors::wise {

/// Stand-in for Wise's payout API: POST /v3/profiles/{p}/quotes, POST /v1/accounts,
/// POST /v1/transfers (deduplicated by customerTransactionId), POST
/// /v3/profiles/{p}/transfers/{t}/payments (a second funding answers 422 transfer.invalid-state,
/// as Wise does), GET /v1/transfers/{t}, PUT /v1/transfers/{t}/cancel; Wise sandbox's GET|POST
/// /v1/simulation/transfers/{t}/{state}; for e2e tests POST /sim/webhooks, GET /sim/stats and
/// GET /sim/public_key (the webhook key's PEM); GET /health. Bearer token: options.api_key
/// (default "wise_sim_token").
///
/// Scenario by the recipient's accountHolderName containing: tok_success (funded, processing),
/// tok_decline (funding REJECTED), tok_timeout (funded, answer after timeout_ms), tok_error
/// (recipient creation answers 500), tok_slow (funding answer after slow_ms), tok_async (funded,
/// then outgoing_payment_sent by webhook after async_ms), tok_unknown (the transfer is created in
/// a state paymux has never seen).
/// Fault injection (options.extra): fail_funding_once=true (the first funding call answers 500
/// and funds nothing); crash_after_transfer_once=true (the first new transfer is created, then
/// the call answers 500, as if the answer was lost).
/// Webhooks (transfers#state-change) are signed with a key pair generated at start
/// (X-Signature-SHA256) and sent to options.webhook_url when it is set.
class WiseSimulator {
 public:
  static constexpr const char* kDefaultApiKey = "wise_sim_token";

  explicit WiseSimulator(simkit::SimOptions options);
  ~WiseSimulator();
  WiseSimulator(const WiseSimulator&) = delete;
  WiseSimulator& operator=(const WiseSimulator&) = delete;

  std::string baseUrl() const;
  int port() const;
  /// The public half of the webhook signing key (configure it as webhook.public_key).
  std::string publicKeyPem() const;

  long transfersCreated() const;  // distinct transfers
  long objectsCreated() const;    // payment objects, for the conformance suite: the transfers
  long fundingCalls() const;      // funding requests received, refused ones included
  long transfersFunded() const;   // fundings that moved money
  long webhooksSent() const;

  struct SignedWebhook {
    std::string body;
    std::string signature;    // X-Signature-SHA256
    std::string delivery_id;  // X-Delivery-Id
    long delivery_status = 0;  // paymux's HTTP answer, 0 if not sent
  };
  /// A transfers#state-change webhook announcing `state` for a transfer (its stored state is not
  /// changed); sent to webhook_url when `deliver`. Empty occurred_at = now.
  SignedWebhook webhook(const std::string& transfer_id, const std::string& state, bool deliver,
                        const std::string& delivery_id = "", const std::string& occurred_at = "");
  /// Moves a transfer to `state` and sends its webhook, as Wise sandbox's simulation calls do.
  /// False when there is no such transfer.
  bool advance(const std::string& transfer_id, const std::string& state);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paymux::connectors::wise
