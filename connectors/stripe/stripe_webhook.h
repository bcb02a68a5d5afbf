#pragma once
// Stripe webhooks: the Stripe-Signature scheme and event parsing. Pure, like the transformers;
// kept apart because signature checking is the security boundary and deserves its own file.
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/api/connector.h"

namespace paymux::connectors::stripe {

/// Stripe-Signature value "t=<unix>,v1=<hex HMAC-SHA256(secret bytes, "<t>.<body>")>".
std::string signatureHeader(std::string_view secret, int64_t timestamp, std::string_view body);

/// Verifies a Stripe-Signature header over the raw body: any v1 entry may match (Stripe sends
/// several while a secret is being rolled), compared in constant time; v0 and unknown schemes are
/// ignored; |now - t| > tolerance_s is rejected (replay window). Reasons never contain secrets.
WebhookVerdict verifySignature(std::string_view header, std::string_view body,
                               std::string_view secret, int64_t now_unix, int64_t tolerance_s);

/// Whether paymux tracks this event type (payment_intent.* and payout.* status changes).
bool isTrackedEventType(std::string_view type);

/// Parses one Stripe event. Tracked types carry the object's status, amount and our id (from
/// metadata.paymux_id); other types come back with status nullopt (ignored, not an error).
/// Stripe sends one event per body. `provider_status`, when given, receives the object's own
/// status word (for logging values this code does not know). Throws WebhookParseError when the
/// body is not an event.
ProviderEvent parseEvent(std::string_view body, std::string* provider_status = nullptr);

}  // namespace paymux::connectors::stripe
