#include "connectors/paypal/paypal_transformers.h"

#include <array>
#include <ctime>

#include "services/common/currency.h"
#include "services/common/json.h"

namespace paymux::connectors::paypal {
namespace {

/// At most `max_chars` UTF-8 characters (PayPal counts characters, and a cut inside a
/// multi-byte sequence would make the body invalid UTF-8).
std::string truncateUtf8(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return std::string(text.substr(0, i));
      ++chars;
    }
  }
  return std::string(text);
}

}  // namespace

OrderStatus orderStatusFromString(std::string_view s) {
  if (s == "CREATED") return OrderStatus::kCreated;
  if (s == "SAVED") return OrderStatus::kSaved;
  if (s == "APPROVED") return OrderStatus::kApproved;
  if (s == "VOIDED") return OrderStatus::kVoided;
  if (s == "COMPLETED") return OrderStatus::kCompleted;
  if (s == "PAYER_ACTION_REQUIRED") return OrderStatus::kPayerActionRequired;
  return OrderStatus::kUnknown;
}

CaptureStatus captureStatusFromString(std::string_view s) {
  if (s == "COMPLETED") return CaptureStatus::kCompleted;
  if (s == "DECLINED") return CaptureStatus::kDeclined;
  if (s == "PARTIALLY_REFUNDED") return CaptureStatus::kPartiallyRefunded;
  if (s == "PENDING") return CaptureStatus::kPending;
  if (s == "REFUNDED") return CaptureStatus::kRefunded;
  if (s == "FAILED") return CaptureStatus::kFailed;
  return CaptureStatus::kUnknown;
}

BatchStatus batchStatusFromString(std::string_view s) {
  if (s == "DENIED") return BatchStatus::kDenied;
  if (s == "PENDING") return BatchStatus::kPending;
  if (s == "PROCESSING") return BatchStatus::kProcessing;
  if (s == "SUCCESS") return BatchStatus::kSuccess;
  if (s == "CANCELED") return BatchStatus::kCanceled;
  return BatchStatus::kUnknown;
}

ItemStatus itemStatusFromString(std::string_view s) {
  if (s == "SUCCESS") return ItemStatus::kSuccess;
  if (s == "FAILED") return ItemStatus::kFailed;
  if (s == "PENDING") return ItemStatus::kPending;
  if (s == "UNCLAIMED") return ItemStatus::kUnclaimed;
  if (s == "RETURNED") return ItemStatus::kReturned;
  if (s == "ONHOLD") return ItemStatus::kOnHold;
  if (s == "BLOCKED") return ItemStatus::kBlocked;
  if (s == "REFUNDED") return ItemStatus::kRefunded;
  if (s == "REVERSED") return ItemStatus::kReversed;
  return ItemStatus::kUnknown;
}

TxStatus toTxStatus(OrderStatus status) {
  switch (status) {
    case OrderStatus::kCreated:
      return TxStatus::kRequiresAction;  // payer must approve
    case OrderStatus::kSaved:
      return TxStatus::kProcessing;  // kept for a later capture
    case OrderStatus::kApproved:
      return TxStatus::kProcessing;  // our capture follows
    case OrderStatus::kVoided:
      return TxStatus::kCanceled;
    case OrderStatus::kCompleted:
      return TxStatus::kSucceeded;  // the capture's status wins
    case OrderStatus::kPayerActionRequired:
      return TxStatus::kRequiresAction;
    case OrderStatus::kUnknown:
      return TxStatus::kProcessing;
  }
  return TxStatus::kProcessing;
}

TxStatus toTxStatus(CaptureStatus status) {
  switch (status) {
    case CaptureStatus::kCompleted:
      return TxStatus::kSucceeded;
    case CaptureStatus::kDeclined:
      return TxStatus::kFailed;
    // why: the money was collected; a refund is its own record, not a collection status.
    case CaptureStatus::kPartiallyRefunded:
      return TxStatus::kSucceeded;
    case CaptureStatus::kPending:
      return TxStatus::kProcessing;
    case CaptureStatus::kRefunded:
      return TxStatus::kSucceeded;
    case CaptureStatus::kFailed:
      return TxStatus::kFailed;
    case CaptureStatus::kUnknown:
      return TxStatus::kProcessing;
  }
  return TxStatus::kProcessing;
}

TxStatus toTxStatus(BatchStatus status) {
  switch (status) {
    case BatchStatus::kDenied:
      return TxStatus::kFailed;
    case BatchStatus::kPending:
      return TxStatus::kProcessing;
    case BatchStatus::kProcessing:
      return TxStatus::kProcessing;
    // why: a processed batch can still hold an UNCLAIMED or FAILED item; only the item's
    // status says the money arrived.
    case BatchStatus::kSuccess:
      return TxStatus::kProcessing;
    case BatchStatus::kCanceled:
      return TxStatus::kCanceled;
    case BatchStatus::kUnknown:
      return TxStatus::kProcessing;
  }
  return TxStatus::kProcessing;
}

TxStatus toTxStatus(ItemStatus status) {
  switch (status) {
    case ItemStatus::kSuccess:
      return TxStatus::kPaid;
    case ItemStatus::kFailed:
      return TxStatus::kFailed;
    case ItemStatus::kPending:
      return TxStatus::kProcessing;
    // why: PayPal has debited us and holds the money for a receiver without an account: it
    // has left (in transit), becomes SUCCESS when claimed or RETURNED after 30 days. As
    // processing, the engine would call that RETURNED a conflict (money never left).
    case ItemStatus::kUnclaimed:
      return TxStatus::kInTransit;
    case ItemStatus::kReturned:
      return TxStatus::kReturned;
    case ItemStatus::kOnHold:
      return TxStatus::kProcessing;  // under PayPal review
    case ItemStatus::kBlocked:
      return TxStatus::kFailed;
    case ItemStatus::kRefunded:
      return TxStatus::kReturned;
    case ItemStatus::kReversed:
      return TxStatus::kReturned;
    case ItemStatus::kUnknown:
      return TxStatus::kProcessing;
  }
  return TxStatus::kProcessing;
}

std::optional<std::string> toPayPalValue(int64_t minor, std::string_view currency, int exponent) {
  if (exponent < 0 || exponent > kMaxExponent) return std::nullopt;
  if ((currency == "HUF" || currency == "TWD") && exponent > 0) {
    int64_t scale = 1;
    for (int i = 0; i < exponent; ++i) scale *= 10;
    if (minor % scale != 0) return std::nullopt;
    minor /= scale;
    exponent = 0;
  }
  std::string value = formatMinorUnits(minor, exponent);
  if (value.empty()) return std::nullopt;
  return value;
}

std::optional<int64_t> fromPayPalValue(std::string_view value, std::string_view currency) {
  auto info = findCurrency(currency);
  if (!info) return std::nullopt;
  return parseMinorUnits(value, info->exponent);
}

std::string buildOrderBody(const PaymentRequest& r, const std::string& value,
                           const OrderOptions& options) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "intent", "CAPTURE");
  json::key(w, "purchase_units");
  w.StartArray();
  w.StartObject();
  json::kv(w, "reference_id", truncateUtf8(r.transaction_id, 256));
  json::kv(w, "custom_id", truncateUtf8(r.transaction_id, 127));
  std::string description = r.description.empty() ? r.reference : r.description;
  if (!description.empty()) json::kv(w, "description", truncateUtf8(description, 127));
  json::key(w, "amount");
  w.StartObject();
  json::kv(w, "currency_code", r.currency);
  json::kv(w, "value", value);
  w.EndObject();
  w.EndObject();
  w.EndArray();
  json::key(w, "payment_source");
  w.StartObject();
  json::key(w, "paypal");
  w.StartObject();
  if (!r.payment_method.token.empty()) json::kv(w, "vault_id", r.payment_method.token);
  const std::string& email =
      r.payment_method.email.empty() ? r.customer.email : r.payment_method.email;
  if (!email.empty()) json::kv(w, "email_address", email);
  json::key(w, "experience_context");
  w.StartObject();
  if (!options.brand_name.empty()) json::kv(w, "brand_name", truncateUtf8(options.brand_name, 127));
  json::kv(w, "shipping_preference", "NO_SHIPPING");
  json::kv(w, "user_action", "PAY_NOW");
  if (!options.return_url.empty()) json::kv(w, "return_url", options.return_url);
  if (!options.cancel_url.empty()) json::kv(w, "cancel_url", options.cancel_url);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::optional<Receiver> payoutReceiver(const Beneficiary& b) {
  if (!b.email.empty()) return Receiver{"EMAIL", b.email};
  if (!b.account_id.empty()) return Receiver{"PAYPAL_ID", b.account_id};
  return std::nullopt;
}

std::string buildPayoutBody(const PaymentRequest& r, const std::string& value,
                            const Receiver& receiver, const std::string& email_subject) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "sender_batch_header");
  w.StartObject();
  json::kv(w, "sender_batch_id", r.transaction_id);
  json::kv(w, "email_subject", truncateUtf8(email_subject, 255));
  w.EndObject();
  json::key(w, "items");
  w.StartArray();
  w.StartObject();
  json::kv(w, "recipient_type", receiver.type);
  json::key(w, "amount");
  w.StartObject();
  json::kv(w, "value", value);
  json::kv(w, "currency", r.currency);
  w.EndObject();
  json::kv(w, "receiver", receiver.id);
  json::kv(w, "sender_item_id", r.transaction_id);
  std::string note = r.description.empty() ? r.reference : r.description;
  if (!note.empty()) json::kv(w, "note", truncateUtf8(note, 1000));
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

uint32_t crc32(std::string_view data) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return table;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) crc = kTable[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

std::optional<int64_t> parseRfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > text.size()) return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || pos + 3 >= text.size() || text[pos + 3] != ':') return std::nullopt;
    offset = (int64_t{*oh} * 3600 + int64_t{*om} * 60) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

std::string formatRfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace paymux::connectors::paypal
