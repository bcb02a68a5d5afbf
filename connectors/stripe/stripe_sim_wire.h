#pragma once
// Stripe's wire shapes as the simulator writes and reads them (objects, errors, form bodies).
// Simulator-only: the connector parses with stripe_transformers.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "connectors/simkit/sim_server.h"
#include "services/common/json.h"

namespace paymux::connectors::stripe::sim {

using Params = std::map<std::string, std::string>;

/// A PaymentIntent or a Payout as the simulator keeps it.
struct SimObject {
  bool payout = false;
  std::string id, status, currency, description, method;  // method: payment_method/destination
  int64_t amount = 0;
  int64_t created = 0;
  Params metadata;
  std::string redirect_url, return_url;
  std::string error_code, decline_code, error_message;  // intent's last_payment_error
  std::string failure_code, failure_message;            // payout failure
};

/// Decodes an application/x-www-form-urlencoded body ('+' is a space; the last duplicate wins).
Params parseForm(std::string_view body);

/// Writes the object as Stripe serialises a PaymentIntent or a Payout.
void writeObject(json::Writer& w, const SimObject& o);
std::string objectJson(const SimObject& o);

/// Stripe's error shape {"error": {"code", "message", "type", ...}}; a card error carries the
/// declined intent (decline_code, payment_intent) when `intent` is given.
simkit::SimResponse stripeError(int status, std::string_view type, std::string_view code,
                                std::string_view message, const SimObject* intent = nullptr);

}  // namespace paymux::connectors::stripe::sim
