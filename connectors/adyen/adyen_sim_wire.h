#pragma once
#include <rapidjson/document.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "connectors/simkit/sim_server.h"

// The simulator's side of Adyen's wire format: its records and the JSON it answers with.
namespace paymux::connectors::adyen::sim {

struct Payment {
  std::string psp, merchant_account, reference, currency, result_code;
  int64_t amount = 0;
};

struct Transfer {
  std::string id, reference, currency, status, reason, balance_account, counterparty_json;
  int64_t amount = 0;
  int sequence = 1;  // the transfer.created webhook carries 1
};

/// A new pspReference / transfer id: 16 upper-case alphanumerics, like Adyen's.
std::string newReference();

/// Checkout's ServiceError {status, errorCode, message, errorType} (also the Transfers 401).
simkit::SimResponse serviceError(int status, const std::string& code, const std::string& message,
                                 const std::string& type);
/// The Transfers API's RestServiceError (RFC 7807 problem details with errorCode).
simkit::SimResponse problem(int status, const std::string& code, const std::string& title,
                            const std::string& detail);

/// The string at a member path, or "".
std::string stringAt(const rapidjson::Value& root, std::initializer_list<const char*> path);
/// The first candidate that is a scenario token (tok_...), else "tok_success".
std::string scenario(std::initializer_list<std::string> candidates);
/// A boolean member given as JSON true/false or "true"/"false".
bool flag(const rapidjson::Value& v, const char* name, bool fallback);

/// The PaymentResponse for a payment (refusal fields and redirect action by resultCode).
std::string paymentJson(const Payment& p);
/// A Transfer; sequence > 0 and tracking_status add the webhook-only fields.
std::string transferJson(const Transfer& t, int sequence, const std::string& tracking_status);
/// A balancePlatform.transfer.updated body around a transferJson.
std::string transferWebhookBody(const std::string& transfer_json);

}  // namespace paymux::connectors::adyen::sim
