#include "connectors/wise/wise_transformers.h"

#include <openssl/evp.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "services/common/crypto.h"
#include "services/common/currency.h"
#include "services/common/json.h"
#include "services/common/rfc3339.h"

namespace paymux::connectors::wise {
namespace {

// why: Wise ids and amounts are JSON numbers; reading them as text keeps ids exact and amounts
// free of floating point.
constexpr unsigned kParseFlags = rapidjson::kParseNumbersAsStringsFlag;

std::string toString(const rapidjson::StringBuffer& sb) {
  return std::string(sb.GetString(), sb.GetSize());
}

void rawNumber(json::Writer& w, std::string_view key, std::string_view digits) {
  json::key(w, key);
  w.RawValue(digits.data(), digits.size(), rapidjson::kNumberType);
}

bool isDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

/// Wise writes amounts as numbers that may carry fewer or more fraction digits than the currency
/// ("12.3", "110.0" for JPY): trailing zeros are dropped before the exact parse.
std::optional<int64_t> amountMinor(std::string value, const std::string& currency) {
  auto info = findCurrency(currency);
  if (!info) return std::nullopt;
  if (value.find('.') != std::string::npos) {
    while (value.back() == '0') value.pop_back();
    if (value.back() == '.') value.pop_back();
  }
  return parseMinorUnits(value, info->exponent);
}

}  // namespace

TransferState transferStateFromString(std::string_view s) {
  if (s == "incoming_payment_waiting") return TransferState::kIncomingPaymentWaiting;
  if (s == "incoming_payment_initiated") return TransferState::kIncomingPaymentInitiated;
  if (s == "waiting_recipient_input_to_proceed") return TransferState::kWaitingRecipientInput;
  if (s == "processing") return TransferState::kProcessing;
  if (s == "funds_converted") return TransferState::kFundsConverted;
  if (s == "outgoing_payment_sent") return TransferState::kOutgoingPaymentSent;
  if (s == "cancelled") return TransferState::kCancelled;
  if (s == "funds_refunded") return TransferState::kFundsRefunded;
  if (s == "bounced_back") return TransferState::kBouncedBack;
  if (s == "charged_back") return TransferState::kChargedBack;
  return TransferState::kUnknown;
}

TxStatus toTxStatus(TransferState state) {
  switch (state) {
    // Before funding, or funded and being worked on by Wise: nothing has left Wise yet.
    case TransferState::kIncomingPaymentWaiting:
    case TransferState::kIncomingPaymentInitiated:
    case TransferState::kWaitingRecipientInput:
    case TransferState::kProcessing:
      return TxStatus::kProcessing;
    // why: converted money is committed to this payout; only the send to the recipient remains.
    case TransferState::kFundsConverted:
      return TxStatus::kInTransit;
    // Wise: "the final state of the transfer, assuming funds will not be returned".
    case TransferState::kOutgoingPaymentSent:
      return TxStatus::kPaid;
    case TransferState::kCancelled:
      return TxStatus::kCanceled;
    // The recipient's bank sent the money back after it left Wise.
    case TransferState::kBouncedBack:
      return TxStatus::kReturned;
    // Refunded to our balance (never delivered) or the funding was reversed.
    case TransferState::kFundsRefunded:
    case TransferState::kChargedBack:
      return TxStatus::kFailed;
    case TransferState::kUnknown:
      return TxStatus::kProcessing;
  }
  return TxStatus::kProcessing;
}

std::optional<Failure> failureFor(TransferState state) {
  switch (state) {
    case TransferState::kFundsRefunded:
      return Failure{"funds_refunded", "Wise could not deliver the transfer and refunded it"};
    case TransferState::kChargedBack:
      return Failure{"charged_back", "the transfer's funding was charged back"};
    case TransferState::kBouncedBack:
      return Failure{"bounced_back", "the recipient's bank returned the payment"};
    case TransferState::kIncomingPaymentWaiting:
    case TransferState::kIncomingPaymentInitiated:
    case TransferState::kWaitingRecipientInput:
    case TransferState::kProcessing:
    case TransferState::kFundsConverted:
    case TransferState::kOutgoingPaymentSent:
    case TransferState::kCancelled:
    case TransferState::kUnknown:
      return std::nullopt;
  }
  return std::nullopt;
}

std::string customerTransactionId(std::string_view transaction_id) {
  // RFC 4122 NameSpace_URL, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
  static constexpr unsigned char kNamespace[16] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
                                                   0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  std::string data(reinterpret_cast<const char*>(kNamespace), sizeof(kNamespace));
  data += "paymux://wise/transfers/";
  data += transaction_id;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("SHA-1 failed");
  }
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);  // version 5
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = crypto::hexEncode(std::string_view(reinterpret_cast<char*>(digest), 16));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string buildQuoteBody(const PaymentRequest& r, std::string_view source_currency) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "sourceCurrency", source_currency);
  json::kv(w, "targetCurrency", r.currency);
  rawNumber(w, "targetAmount", formatMinorUnits(r.amount_minor, r.currency_exponent));
  json::kv(w, "payOut", "BANK_TRANSFER");
  json::kv(w, "preferredPayIn", "BALANCE");
  w.EndObject();
  return toString(sb);
}

std::string buildRecipientBody(const PaymentRequest& r, std::string_view profile_id,
                               std::string_view legal_type) {
  const Beneficiary& b = r.beneficiary;
  bool iban = !b.iban.empty();
  if (!iban && (b.sort_code.empty() || b.account_number.empty())) return "";
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "currency", r.currency);
  json::kv(w, "type", iban ? "iban" : "sort_code");
  rawNumber(w, "profile", profile_id);
  json::kv(w, "accountHolderName", b.name);
  json::key(w, "details");
  w.StartObject();
  json::kv(w, "legalType", legal_type);
  if (iban) {
    json::kv(w, "iban", b.iban);
  } else {
    json::kv(w, "sortCode", b.sort_code);
    json::kv(w, "accountNumber", b.account_number);
  }
  w.EndObject();
  w.EndObject();
  return toString(sb);
}

std::string buildTransferBody(const PaymentRequest& r, std::string_view recipient_id,
                              std::string_view quote_id) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  if (isDigits(recipient_id)) {
    rawNumber(w, "targetAccount", recipient_id);
  } else {
    json::kv(w, "targetAccount", recipient_id);
  }
  json::kv(w, "quoteUuid", quote_id);
  json::kv(w, "customerTransactionId", customerTransactionId(r.transaction_id));
  json::key(w, "details");
  w.StartObject();
  if (!r.reference.empty()) json::kv(w, "reference", r.reference);
  w.EndObject();
  w.EndObject();
  return toString(sb);
}

std::string buildFundingBody() { return R"({"type":"BALANCE"})"; }

std::optional<std::string> parseId(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(text.data(), text.size());
  if (doc.HasParseError()) return std::nullopt;
  auto id = json::getString(doc, "id");
  if (!id || id->empty()) return std::nullopt;
  return id;
}

ProviderPayment parseTransfer(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) throw WebhookParseError("transfer is not JSON");
  ProviderPayment p;
  p.provider_ref = json::getString(doc, "id").value_or("");
  if (p.provider_ref.empty()) throw WebhookParseError("transfer has no id");
  p.provider_status = json::getString(doc, "status").value_or("");
  TransferState state = transferStateFromString(p.provider_status);
  p.status = toTxStatus(state);
  p.failure = failureFor(state);
  p.currency = json::getString(doc, "targetCurrency").value_or("");
  if (auto value = json::getString(doc, "targetValue"))
    p.amount_minor = amountMinor(*value, p.currency);
  return p;
}

std::optional<FundingResult> parseFunding(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  auto status = json::getString(doc, "status");
  if (!status) return std::nullopt;
  return FundingResult{*status, json::getString(doc, "errorCode").value_or("")};
}

std::string errorCode(std::string_view body, const std::string& fallback) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return fallback;
  auto errors = doc.FindMember("errors");
  if (errors != doc.MemberEnd() && errors->value.IsArray() && !errors->value.Empty()) {
    if (auto code = json::getString(errors->value[0], "code")) return *code;
  }
  if (auto code = json::getString(doc, "errorCode")) return *code;
  if (auto code = json::getString(doc, "error")) return *code;
  return fallback;
}

std::vector<ProviderEvent> parseWebhookBody(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) throw WebhookParseError("body is not a JSON object");
  ProviderEvent ev;
  ev.event_type = json::getString(doc, "event_type").value_or("");
  const auto* data = json::getObject(doc, "data");
  if (ev.event_type.empty() || data == nullptr) throw WebhookParseError("no event_type or data");
  if (ev.event_type != "transfers#state-change") {
    // Not a status change we track; recorded under a content-derived id.
    ev.event_id = "wise:" + crypto::sha256Hex(body);
    return {ev};
  }
  const auto* resource = json::getObject(*data, "resource");
  auto state = json::getString(*data, "current_state");
  auto occurred = json::getString(*data, "occurred_at");
  if (resource == nullptr || !state || !occurred) {
    throw WebhookParseError("state change without resource, current_state or occurred_at");
  }
  ev.provider_ref = json::getString(*resource, "id").value_or("");
  if (ev.provider_ref.empty()) throw WebhookParseError("state change without resource.id");
  TransferState ts = transferStateFromString(*state);
  ev.status = toTxStatus(ts);
  ev.failure = failureFor(ts);
  ev.occurred_at_unix = parseRfc3339(*occurred).value_or(0);
  // why: one state change is one fact whichever delivery carries it; sent_at (and any per-delivery
  // header) may differ between Wise's retries, the transfer, state and time do not.
  ev.event_id = "wise:" + ev.provider_ref + ":" + *state + ":" + *occurred;
  return {ev};
}


}  // namespace paymux::connectors::wise
