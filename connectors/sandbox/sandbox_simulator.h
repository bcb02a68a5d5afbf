#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace paymux::connectors::sandbox {

struct SimulatorOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = ephemeral
  std::string api_key = "sk_sandbox_local";
  std::string webhook_url;     // where signed webhooks go ("" = none)
  std::string webhook_secret = "whsec_sandbox_local";
  int latency_ms = 0;          // added to every answer
  int slow_ms = 1000;          // tok_slow
  int timeout_ms = 30000;      // tok_timeout: answers only after this long
  int async_ms = 200;          // tok_async: outcome (and webhook) after this long
  int threads = 2;
  int fail_status = 0;         // when set, every create answers this status (a provider outage)
};

struct SimulatorStats {
  long create_requests = 0;
  long payments = 0;          // distinct provider objects created
  long webhooks_sent = 0;
  long status_requests = 0;   // GET /v1/payments/{id} and ?reference=
};

/// Stand-in for the sandbox provider's servers. Scenarios by payment_method.token (collections)
/// or beneficiary.account_id / name (payouts): tok_success, tok_decline, tok_timeout, tok_error
/// (503), tok_slow, tok_async (processing, then the outcome by webhook), tok_action
/// (requires_action), tok_unknown (a status value paymux has never seen), tok_slow_async
/// (processing, answered after slow_ms; the outcome comes only by webhook or status fetch).
class SandboxSimulator {
 public:
  explicit SandboxSimulator(SimulatorOptions options);
  ~SandboxSimulator();
  std::string baseUrl() const;
  int port() const;
  SimulatorStats stats() const;

  struct SignedWebhook {
    std::string body;
    std::string signature;  // Sandbox-Signature header value
    long delivery_status = 0;  // HTTP status from paymux, 0 if not sent
  };
  /// Builds (and, when deliver, sends) a webhook for a payment with the given status.
  /// Empty overrides keep the payment's own values.
  SignedWebhook webhook(const std::string& payment_id, const std::string& status, bool deliver,
                        const std::string& event_id = "", int64_t amount = -1,
                        const std::string& currency = "", int64_t timestamp = 0,
                        bool include_reference = true);
  /// Ids of the payments created so far, oldest first.
  std::vector<std::string> paymentIds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paymux::connectors::sandbox
