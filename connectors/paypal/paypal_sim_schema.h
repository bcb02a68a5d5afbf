#pragma once
#include <string>
#include <string_view>

namespace paymux::connectors::paypal {

// PayPal's published request schemas (schemas/*.schema.json, extracted from PayPal's OpenAPI
// documents and embedded at build time), so the simulator refuses what PayPal would refuse.

enum class RequestSchema {
  kOrderRequest,         // POST /v2/checkout/orders
  kCreatePayoutRequest,  // POST /v1/payments/payouts
};

/// "" when `body` is JSON valid against the schema, else a short account of the first
/// violation (keyword, schema path, document path).
std::string validateRequest(RequestSchema schema, std::string_view body);

namespace schemas {
// Defined in the generated paypal_schemas.cc (see CMakeLists.txt).
extern const char kOrderRequest[];
extern const char kCreatePayoutRequest[];
}  // namespace schemas

}  // namespace paymux::connectors::paypal
