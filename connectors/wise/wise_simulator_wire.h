#pragma once
// Wise's wire format as the simulator writes it (objects, errors, webhook bodies).
#include <string>
#include <vector>

namespace paymux::connectors::wise::sim {

struct Quote {
  std::string profile_id, source_currency, target_currency, target_amount;
};
struct Recipient {
  std::string name, currency;
};
struct Transfer {
  std::string id, recipient_id, quote_id, customer_transaction_id, reference, status,
      previous_status, scenario;
  Quote quote;
};

/// The scenario token (tok_...) a recipient's name carries; tok_success when none.
std::string scenarioOf(const std::string& holder_name);
/// "/v1/transfers/7" -> {"v1", "transfers", "7"}.
std::vector<std::string> splitPath(const std::string& path);
std::string uuid4();
std::string nowRfc3339();

/// {"errors":[{"code","message","arguments"}]}, Wise's client error shape.
std::string errorJson(const std::string& code, const std::string& message);
std::string transferJson(const Transfer& t);
/// A transfers#state-change body (schema 2.0.0) for `t` entering `state`.
std::string stateChangeJson(const std::string& transfer_id, const Transfer& t,
                            const std::string& state, const std::string& occurred_at);

}  // namespace paymux::connectors::wise::sim
