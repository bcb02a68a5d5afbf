#pragma once
#include <map>
#include <string>

namespace paymux::simkit {

/// Options every provider simulator takes (paymux-sim --provider NAME ... fills them).
/// Scenario tokens are shared by all simulators: tok_success, tok_decline, tok_timeout (answer
/// only after timeout_ms), tok_error (5xx), tok_slow (after slow_ms), tok_async (processing,
/// outcome by webhook after async_ms), tok_action (requires the customer's action),
/// tok_unknown (a status value paymux has never seen).
struct SimOptions {
  std::string host = "127.0.0.1";
  int port = 0;                 // 0 = ephemeral
  std::string api_key;          // credential the simulator expects ("" = provider default)
  std::string webhook_url;      // where signed webhooks go ("" = none)
  std::string webhook_secret;   // HMAC secret / key material for signing webhooks
  int latency_ms = 0;           // added to every answer
  int slow_ms = 1000;
  int timeout_ms = 30000;
  int async_ms = 200;
  int threads = 2;
  std::map<std::string, std::string> extra;  // provider-specific (merchant account, ...)
};

}  // namespace paymux::simkit
