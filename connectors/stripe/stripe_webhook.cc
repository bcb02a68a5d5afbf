#include "connectors/stripe/stripe_webhook.h"

#include <array>
#include <charconv>
#include <optional>
#include <vector>

#include "connectors/stripe/stripe_transformers.h"
#include "services/common/crypto.h"
#include "services/common/json.h"

namespace paymux::connectors::stripe {
namespace {

constexpr std::array<std::string_view, 6> kIntentEvents = {
    "payment_intent.succeeded",       "payment_intent.processing",
    "payment_intent.payment_failed",  "payment_intent.canceled",
    "payment_intent.requires_action", "payment_intent.amount_capturable_updated"};
constexpr std::array<std::string_view, 5> kPayoutEvents = {
    "payout.created", "payout.updated", "payout.paid", "payout.failed", "payout.canceled"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view value) {
  for (auto item : list) {
    if (item == value) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string signatureHeader(std::string_view secret, int64_t timestamp, std::string_view body) {
  std::string payload = std::to_string(timestamp);
  payload += '.';
  payload += body;
  return "t=" + std::to_string(timestamp) +
         ",v1=" + crypto::hexEncode(crypto::hmacSha256(secret, payload));
}

WebhookVerdict verifySignature(std::string_view header, std::string_view body,
                               std::string_view secret, int64_t now_unix, int64_t tolerance_s) {
  if (secret.empty()) return {false, "webhook secret not configured"};
  if (header.empty()) return {false, "missing Stripe-Signature header"};
  std::optional<int64_t> timestamp;
  std::vector<std::string_view> signatures;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view part = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = part.substr(0, eq);
    std::string_view value = part.substr(eq + 1);
    if (name == "t") {
      int64_t t = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), t);
      // why: two timestamps would let an attacker pair a fresh t with an old signature's t.
      if (ec != std::errc() || end != value.data() + value.size() || timestamp) {
        return {false, "malformed timestamp in Stripe-Signature"};
      }
      timestamp = t;
    } else if (name == "v1") {
      signatures.push_back(value);
    }
  }
  if (!timestamp) return {false, "no timestamp in Stripe-Signature"};
  if (signatures.empty()) return {false, "no v1 signature in Stripe-Signature"};
  // why: checked before the HMAC so that a replayed (captured) request is refused cheaply.
  // why: compare without subtracting an attacker-chosen timestamp (t=-2^63 would overflow).
  if (*timestamp < now_unix - tolerance_s || *timestamp > now_unix + tolerance_s) {
    return {false, "timestamp outside tolerance"};
  }
  std::string expected = signatureHeader(secret, *timestamp, body);
  expected.erase(0, expected.find(",v1=") + 4);
  bool match = false;
  for (auto sig : signatures) {
    // why: no early exit, so timing does not reveal which entry matched.
    match = crypto::constantTimeEquals(sig, expected) || match;
  }
  return match ? WebhookVerdict{true, ""} : WebhookVerdict{false, "signature mismatch"};
}

bool isTrackedEventType(std::string_view type) {
  return contains(kIntentEvents, type) || contains(kPayoutEvents, type);
}

ProviderEvent parseEvent(std::string_view body, std::string* provider_status) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) throw WebhookParseError("body is not a JSON object");
  ProviderEvent ev;
  ev.event_id = json::getString(doc, "id").value_or("");
  ev.event_type = json::getString(doc, "type").value_or("");
  if (ev.event_id.empty() || ev.event_type.empty()) {
    throw WebhookParseError("event has no id or type");
  }
  ev.occurred_at_unix = json::getInt(doc, "created").value_or(0);
  if (!isTrackedEventType(ev.event_type)) return ev;

  const auto* data = json::getObject(doc, "data");
  const auto* object = data ? json::getObject(*data, "object") : nullptr;
  if (object == nullptr) throw WebhookParseError("event has no data.object");
  bool payout = contains(kPayoutEvents, ev.event_type);
  ProviderPayment p = payout ? parsePayout(*object) : parsePaymentIntent(*object);
  if (ev.event_type == "payment_intent.payment_failed" && p.status != TxStatus::kFailed) {
    // The event itself says the attempt failed, whatever the snapshot's status field holds.
    p.status = TxStatus::kFailed;
    p.failure = Failure{"payment_failed", ""};
    if (const auto* error = json::getObject(*object, "last_payment_error")) {
      p.failure->code = json::getString(*error, "decline_code")
                            .value_or(json::getString(*error, "code").value_or("payment_failed"));
      p.failure->message = json::getString(*error, "message").value_or("");
    }
    p.redirect_url.clear();
  }
  ev.provider_ref = p.provider_ref;
  if (const auto* metadata = json::getObject(*object, "metadata")) {
    ev.our_id = json::getString(*metadata, "paymux_id").value_or("");
  }
  ev.status = p.status;
  ev.amount_minor = p.amount_minor;
  ev.currency = p.currency;
  ev.failure = p.failure;
  if (provider_status) *provider_status = p.provider_status;
  return ev;
}

}  // namespace paymux::connectors::stripe
