#include "connectors/adyen/adyen_webhooks.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "connectors/adyen/adyen_transfer_status.h"
#include "services/common/crypto.h"
#include "services/common/json.h"

namespace paymux::connectors::adyen {
namespace {

/// The event codes paymux acts on; every other code is recorded without a status change.
enum class EventCode { kAuthorisation, kCancellation, kOfferClosed, kOther };

EventCode eventCodeFromString(std::string_view s) {
  if (s == "AUTHORISATION") return EventCode::kAuthorisation;
  if (s == "CANCELLATION") return EventCode::kCancellation;
  if (s == "OFFER_CLOSED") return EventCode::kOfferClosed;
  return EventCode::kOther;
}

rapidjson::Document parseObject(std::string_view body) {
  rapidjson::Document doc;
  // why: this parse runs before any signature check, so it must survive hostile nesting.
  if (json::nestingExceeds(body, json::kMaxUntrustedDepth)) {
    throw WebhookParseError("body nests too deeply");
  }
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) throw WebhookParseError("body is not a JSON object");
  return doc;
}

// Adyen sends success as "true"/"false"; accept a JSON boolean too.
std::string successText(const rapidjson::Value& item) {
  auto it = item.FindMember("success");
  if (it == item.MemberEnd()) return "";
  if (it->value.IsBool()) return it->value.GetBool() ? "true" : "false";
  return it->value.IsString() ? it->value.GetString() : "";
}

NotificationItem readItem(const rapidjson::Value& v) {
  NotificationItem item;
  item.psp_reference = json::getString(v, "pspReference").value_or("");
  item.original_reference = json::getString(v, "originalReference").value_or("");
  item.merchant_account_code = json::getString(v, "merchantAccountCode").value_or("");
  item.merchant_reference = json::getString(v, "merchantReference").value_or("");
  if (const auto* amount = json::getObject(v, "amount")) {
    item.amount_value = json::getInt(*amount, "value");
    item.currency = json::getString(*amount, "currency").value_or("");
  }
  item.event_code = json::getString(v, "eventCode").value_or("");
  item.success = successText(v);
  item.reason = json::getString(v, "reason").value_or("");
  item.event_date = json::getString(v, "eventDate").value_or("");
  if (const auto* extra = json::getObject(v, "additionalData")) {
    item.hmac_signature = json::getString(*extra, "hmacSignature").value_or("");
  }
  return item;
}

ProviderEvent itemEvent(const NotificationItem& item) {
  ProviderEvent ev;
  ev.event_id = item.psp_reference + ":" + item.event_code + ":" + item.success;
  ev.event_type = item.event_code;
  // why: a modification (CANCELLATION, REFUND...) has its own pspReference; the payment's is in
  // originalReference.
  ev.provider_ref = item.original_reference.empty() ? item.psp_reference : item.original_reference;
  ev.our_id = item.merchant_reference;
  ev.amount_minor = item.amount_value;
  ev.currency = item.currency;
  ev.occurred_at_unix = parseIsoTime(item.event_date);
  bool success = item.success == "true";
  switch (eventCodeFromString(item.event_code)) {
    case EventCode::kAuthorisation:
      ev.status = success ? TxStatus::kSucceeded : TxStatus::kFailed;
      if (!success) ev.failure = Failure{"refused", item.reason.empty() ? "Refused" : item.reason};
      break;
    case EventCode::kCancellation:
      // A failed cancellation leaves the payment as it was.
      if (success) ev.status = TxStatus::kCanceled;
      break;
    case EventCode::kOfferClosed:
      // why: the shopper never completed the redirect/action in time: the payment is over
      // without money moving, the same outcome as resultCode Cancelled.
      if (success) ev.status = TxStatus::kCanceled;
      break;
    case EventCode::kOther:
      break;
  }
  return ev;
}

}  // namespace

std::string notificationSigningString(const NotificationItem& item) {
  std::string value = item.amount_value ? std::to_string(*item.amount_value) : "";
  return item.psp_reference + ":" + item.original_reference + ":" + item.merchant_account_code +
         ":" + item.merchant_reference + ":" + value + ":" + item.currency + ":" + item.event_code +
         ":" + item.success;
}

std::optional<std::string> hmacBase64(std::string_view hex_key, std::string_view data) {
  auto key = crypto::hexDecode(hex_key);
  if (!key || key->empty()) return std::nullopt;
  return crypto::base64Encode(crypto::hmacSha256(*key, data));
}

std::optional<std::string> itemSignature(std::string_view hex_key, const NotificationItem& item) {
  return hmacBase64(hex_key, notificationSigningString(item));
}

std::vector<NotificationItem> parseNotificationItems(std::string_view body) {
  auto doc = parseObject(body);
  auto it = doc.FindMember("notificationItems");
  if (it == doc.MemberEnd() || !it->value.IsArray()) {
    throw WebhookParseError("body has no notificationItems");
  }
  std::vector<NotificationItem> items;
  for (const auto& wrapper : it->value.GetArray()) {
    const auto* v = json::getObject(wrapper, "NotificationRequestItem");
    if (v == nullptr) {
      throw WebhookParseError("notificationItems entry has no NotificationRequestItem");
    }
    items.push_back(readItem(*v));
  }
  return items;
}

std::string buildNotificationBody(std::vector<NotificationItem> items, std::string_view hex_key) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "live", "false");
  json::key(w, "notificationItems");
  w.StartArray();
  for (auto& item : items) {
    if (!hex_key.empty()) item.hmac_signature = itemSignature(hex_key, item).value_or("");
    w.StartObject();
    json::key(w, "NotificationRequestItem");
    w.StartObject();
    if (item.amount_value) {
      json::key(w, "amount");
      w.StartObject();
      json::kv(w, "currency", item.currency);
      json::kvInt(w, "value", *item.amount_value);
      w.EndObject();
    }
    json::kv(w, "eventCode", item.event_code);
    json::kv(w, "success", item.success);
    json::kv(w, "pspReference", item.psp_reference);
    if (!item.original_reference.empty()) json::kv(w, "originalReference", item.original_reference);
    json::kv(w, "merchantAccountCode", item.merchant_account_code);
    json::kv(w, "merchantReference", item.merchant_reference);
    if (!item.reason.empty()) json::kv(w, "reason", item.reason);
    if (!item.event_date.empty()) json::kv(w, "eventDate", item.event_date);
    json::key(w, "additionalData");
    w.StartObject();
    json::kv(w, "hmacSignature", item.hmac_signature);
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

WebhookVerdict verifyNotificationItems(std::string_view body, std::string_view hex_key) {
  std::vector<NotificationItem> items;
  try {
    items = parseNotificationItems(body);
  } catch (const WebhookParseError& e) {
    return {false, e.what()};
  }
  if (items.empty()) return {false, "no notification items"};
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].hmac_signature.empty()) {
      return {false, "item " + std::to_string(i) + " has no hmacSignature"};
    }
    auto expected = itemSignature(hex_key, items[i]);
    if (!expected) return {false, "webhook secret is not a hex HMAC key"};
    // why: one forged item must reject the whole body: the provider signs every item.
    if (!crypto::constantTimeEquals(items[i].hmac_signature, *expected)) {
      return {false, "item " + std::to_string(i) + " signature mismatch"};
    }
  }
  return {true, ""};
}

WebhookVerdict verifyRawBody(std::string_view body, std::string_view signature,
                             std::string_view hex_key) {
  auto expected = hmacBase64(hex_key, body);
  if (!expected) return {false, "webhook secret is not a hex HMAC key"};
  if (!crypto::constantTimeEquals(signature, *expected)) return {false, "signature mismatch"};
  return {true, ""};
}

std::vector<ProviderEvent> notificationEvents(std::string_view body) {
  std::vector<ProviderEvent> events;
  for (const auto& item : parseNotificationItems(body)) {
    if (item.psp_reference.empty() || item.event_code.empty()) {
      throw WebhookParseError("notification item has no pspReference or eventCode");
    }
    events.push_back(itemEvent(item));
  }
  return events;
}

std::vector<ProviderEvent> transferEvents(std::string_view body) {
  auto doc = parseObject(body);
  const auto* data = json::getObject(doc, "data");
  if (data == nullptr) throw WebhookParseError("transfer webhook has no data");
  ProviderEvent ev;
  ev.provider_ref = json::getString(*data, "id").value_or("");
  auto status = json::getString(*data, "status");
  if (ev.provider_ref.empty() || !status) throw WebhookParseError("transfer has no id or status");
  ev.event_type = json::getString(doc, "type").value_or("balancePlatform.transfer");
  ev.our_id = json::getString(*data, "reference").value_or("");
  if (const auto* amount = json::getObject(*data, "amount")) {
    ev.amount_minor = json::getInt(*amount, "value");
    ev.currency = json::getString(*amount, "currency").value_or("");
  }
  ev.occurred_at_unix = parseIsoTime(json::getString(doc, "timestamp").value_or(""));
  std::string tracking_type, tracking_status, tracking_reason;
  if (const auto* tracking = json::getObject(*data, "tracking")) {
    tracking_type = json::getString(*tracking, "type").value_or("");
    tracking_status = json::getString(*tracking, "status").value_or("");
    tracking_reason = json::getString(*tracking, "reason").value_or("");
  }
  // why: every webhook of a transfer carries an increasing sequenceNumber, so it identifies the
  // update; without one, the status (and tracking) is the best stable key.
  auto sequence = json::getInt(*data, "sequenceNumber");
  ev.event_id = ev.provider_ref + ":" +
                (sequence ? std::to_string(*sequence)
                          : *status + (tracking_status.empty() ? "" : "." + tracking_status));
  if (json::getString(*data, "direction").value_or("outgoing") != "outgoing") {
    return {ev};  // money coming in (top-ups): not a payout of ours, no status
  }
  TxStatus tx = toTxStatus(transferStatusFromString(*status));
  // Tracking refines a booked payout: credited = the beneficiary's bank has the money.
  if (tx == TxStatus::kInTransit && tracking_type == "confirmation" &&
      tracking_status == "credited") {
    tx = TxStatus::kPaid;
  }
  if (tracking_status == "failed") tx = TxStatus::kFailed;
  ev.status = tx;
  if (tx == TxStatus::kFailed || tx == TxStatus::kReturned) {
    std::string reason = json::getString(*data, "reason").value_or("");
    if (tracking_status == "failed" && !tracking_reason.empty()) reason = tracking_reason;
    ev.failure = Failure{reason.empty() ? *status : reason,
                         "transfer " + *status + (reason.empty() ? "" : ": " + reason)};
  }
  return {ev};
}

int64_t parseIsoTime(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return 0;
  }
  size_t pos = static_cast<size_t>(consumed);
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int hours = 0, minutes = 0;
    if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &hours, &minutes) != 2) return 0;
    offset = (s[pos] == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
  } else if (pos >= s.size() || (s[pos] != 'Z' && s[pos] != 'z')) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

}  // namespace paymux::connectors::adyen
