#include "connectors/sandbox/sandbox_transformers.h"

#include "services/common/crypto.h"
#include "services/common/json.h"

namespace paymux::connectors::sandbox {

WireStatus wireStatusFromString(std::string_view s) {
  if (s == "pending") return WireStatus::kPending;
  if (s == "processing") return WireStatus::kProcessing;
  if (s == "requires_action") return WireStatus::kRequiresAction;
  if (s == "succeeded") return WireStatus::kSucceeded;
  if (s == "failed") return WireStatus::kFailed;
  if (s == "canceled") return WireStatus::kCanceled;
  if (s == "in_transit") return WireStatus::kInTransit;
  if (s == "paid") return WireStatus::kPaid;
  if (s == "returned") return WireStatus::kReturned;
  return WireStatus::kUnknown;
}

TxStatus toTxStatus(WireStatus status) {
  switch (status) {
    case WireStatus::kPending: return TxStatus::kPending;
    case WireStatus::kProcessing: return TxStatus::kProcessing;
    case WireStatus::kRequiresAction: return TxStatus::kRequiresAction;
    case WireStatus::kSucceeded: return TxStatus::kSucceeded;
    case WireStatus::kFailed: return TxStatus::kFailed;
    case WireStatus::kCanceled: return TxStatus::kCanceled;
    case WireStatus::kInTransit: return TxStatus::kInTransit;
    case WireStatus::kPaid: return TxStatus::kPaid;
    case WireStatus::kReturned: return TxStatus::kReturned;
    case WireStatus::kUnknown: return TxStatus::kProcessing;
  }
  return TxStatus::kProcessing;
}

std::string buildPaymentBody(const PaymentRequest& r) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "kind", toString(r.kind));
  json::kvInt(w, "amount", r.amount_minor);
  json::kv(w, "currency", r.currency);
  json::kv(w, "reference", r.transaction_id);
  json::kv(w, "merchant_reference", r.reference);
  std::string token = r.kind == Kind::kCollect ? r.payment_method.token : r.beneficiary.account_id;
  if (token.empty() && r.kind == Kind::kPayout) token = r.beneficiary.name;
  json::kv(w, "token", token);
  if (!r.description.empty()) json::kv(w, "description", r.description);
  json::key(w, "metadata");
  w.StartObject();
  json::kv(w, "paymux_id", r.transaction_id);
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

ProviderPayment parsePayment(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) throw WebhookParseError("payment is not a JSON object");
  ProviderPayment p;
  p.provider_ref = json::getString(doc, "id").value_or("");
  if (p.provider_ref.empty()) throw WebhookParseError("payment has no id");
  p.provider_status = json::getString(doc, "status").value_or("");
  p.status = toTxStatus(wireStatusFromString(p.provider_status));
  p.amount_minor = json::getInt(doc, "amount");
  p.currency = json::getString(doc, "currency").value_or("");
  p.redirect_url = json::getString(doc, "redirect_url").value_or("");
  if (auto code = json::getString(doc, "failure_code")) {
    p.failure = Failure{*code, json::getString(doc, "failure_message").value_or("")};
  }
  return p;
}

std::string signatureHeader(std::string_view secret, int64_t timestamp, std::string_view body) {
  std::string payload = std::to_string(timestamp) + "." + std::string(body);
  return "t=" + std::to_string(timestamp) + ",v1=" +
         crypto::hexEncode(crypto::hmacSha256(secret, payload));
}

}  // namespace paymux::connectors::sandbox
