#include "connectors/gocardless/gocardless_transformers.h"

#include <cstdio>
#include <ctime>

#include "services/common/crypto.h"
#include "services/common/json.h"
#include "services/common/rfc3339.h"

namespace paymux::connectors::gocardless {

PaymentStatus paymentStatusFromString(std::string_view s) {
  if (s == "pending_customer_approval") return PaymentStatus::kPendingCustomerApproval;
  if (s == "pending_submission") return PaymentStatus::kPendingSubmission;
  if (s == "submitted") return PaymentStatus::kSubmitted;
  if (s == "confirmed") return PaymentStatus::kConfirmed;
  if (s == "paid_out") return PaymentStatus::kPaidOut;
  if (s == "cancelled") return PaymentStatus::kCancelled;
  if (s == "customer_approval_denied") return PaymentStatus::kCustomerApprovalDenied;
  if (s == "failed") return PaymentStatus::kFailed;
  if (s == "charged_back") return PaymentStatus::kChargedBack;
  return PaymentStatus::kUnknown;
}

TxStatus toTxStatus(PaymentStatus status) {
  switch (status) {
    case PaymentStatus::kPendingCustomerApproval:
    case PaymentStatus::kPendingSubmission:
    case PaymentStatus::kSubmitted:
      return TxStatus::kProcessing;
    // why: confirmed means the money was collected from the customer's bank; paid_out only adds
    // that GoCardless has passed it on to the creditor.
    case PaymentStatus::kConfirmed:
    case PaymentStatus::kPaidOut:
      return TxStatus::kSucceeded;
    case PaymentStatus::kCancelled:
      return TxStatus::kCanceled;
    case PaymentStatus::kCustomerApprovalDenied:
    case PaymentStatus::kFailed:
      return TxStatus::kFailed;
    // A chargeback reverses a collection that had succeeded: a late succeeded -> failed.
    case PaymentStatus::kChargedBack:
      return TxStatus::kFailed;
    case PaymentStatus::kUnknown:
      return TxStatus::kProcessing;
  }
  return TxStatus::kProcessing;
}

std::optional<Failure> failureFor(PaymentStatus status) {
  switch (status) {
    case PaymentStatus::kCustomerApprovalDenied:
      return Failure{"customer_approval_denied", "the customer denied approval of the payment"};
    case PaymentStatus::kFailed:
      return Failure{"failed", "the payment failed"};
    case PaymentStatus::kChargedBack:
      return Failure{"charged_back", "the customer's bank charged the payment back"};
    case PaymentStatus::kPendingCustomerApproval:
    case PaymentStatus::kPendingSubmission:
    case PaymentStatus::kSubmitted:
    case PaymentStatus::kConfirmed:
    case PaymentStatus::kPaidOut:
    case PaymentStatus::kCancelled:
    case PaymentStatus::kUnknown:
      return std::nullopt;
  }
  return std::nullopt;
}

PaymentAction paymentActionFromString(std::string_view s) {
  if (s == "created") return PaymentAction::kCreated;
  if (s == "customer_approval_granted") return PaymentAction::kCustomerApprovalGranted;
  if (s == "customer_approval_denied") return PaymentAction::kCustomerApprovalDenied;
  if (s == "submitted") return PaymentAction::kSubmitted;
  if (s == "confirmed") return PaymentAction::kConfirmed;
  if (s == "chargeback_cancelled") return PaymentAction::kChargebackCancelled;
  if (s == "paid_out") return PaymentAction::kPaidOut;
  if (s == "late_failure_settled") return PaymentAction::kLateFailureSettled;
  if (s == "chargeback_settled") return PaymentAction::kChargebackSettled;
  if (s == "failed") return PaymentAction::kFailed;
  if (s == "charged_back") return PaymentAction::kChargedBack;
  if (s == "cancelled") return PaymentAction::kCancelled;
  if (s == "resubmission_requested") return PaymentAction::kResubmissionRequested;
  if (s == "surcharge_fee_debited") return PaymentAction::kSurchargeFeeDebited;
  return PaymentAction::kUnknown;
}

std::optional<TxStatus> toTxStatus(PaymentAction action) {
  switch (action) {
    case PaymentAction::kCreated:
    case PaymentAction::kSubmitted:
      return TxStatus::kProcessing;
    case PaymentAction::kConfirmed:
    case PaymentAction::kPaidOut:
      return TxStatus::kSucceeded;
    case PaymentAction::kFailed:
    case PaymentAction::kChargedBack:
    case PaymentAction::kCustomerApprovalDenied:
      return TxStatus::kFailed;
    case PaymentAction::kCancelled:
      return TxStatus::kCanceled;
    // why: these settle fees or reverse a chargeback/resubmit a failure: they are not a state
    // our collection can move to safely from an event alone; the status fetch tells the truth.
    case PaymentAction::kCustomerApprovalGranted:
    case PaymentAction::kChargebackCancelled:
    case PaymentAction::kLateFailureSettled:
    case PaymentAction::kChargebackSettled:
    case PaymentAction::kResubmissionRequested:
    case PaymentAction::kSurchargeFeeDebited:
    case PaymentAction::kUnknown:
      return std::nullopt;
  }
  return std::nullopt;
}

std::string buildPaymentBody(const PaymentRequest& r) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "payments");
  w.StartObject();
  json::kvInt(w, "amount", r.amount_minor);
  json::kv(w, "currency", r.currency);
  if (!r.reference.empty()) json::kv(w, "reference", r.reference);
  if (!r.description.empty()) json::kv(w, "description", r.description);
  json::key(w, "links");
  w.StartObject();
  json::kv(w, "mandate", r.payment_method.mandate);
  w.EndObject();
  json::key(w, "metadata");
  w.StartObject();
  json::kv(w, "paymux_id", r.transaction_id);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

ProviderPayment parsePayment(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) throw WebhookParseError("payment is not JSON");
  const auto* payment = json::getObject(doc, "payments");
  if (payment == nullptr) throw WebhookParseError("no payments object");
  ProviderPayment p;
  p.provider_ref = json::getString(*payment, "id").value_or("");
  if (p.provider_ref.empty()) throw WebhookParseError("payment has no id");
  p.provider_status = json::getString(*payment, "status").value_or("");
  PaymentStatus status = paymentStatusFromString(p.provider_status);
  p.status = toTxStatus(status);
  p.failure = failureFor(status);
  p.amount_minor = json::getInt(*payment, "amount");
  p.currency = json::getString(*payment, "currency").value_or("");
  return p;
}

std::optional<ApiError> parseError(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) return std::nullopt;
  const auto* error = json::getObject(doc, "error");
  if (error == nullptr) return std::nullopt;
  ApiError e;
  e.type = json::getString(*error, "type").value_or("");
  e.message = json::getString(*error, "message").value_or("");
  auto errors = error->FindMember("errors");
  if (errors != error->MemberEnd() && errors->value.IsArray() && !errors->value.Empty()) {
    const auto& first = errors->value[0];
    e.reason = json::getString(first, "reason").value_or("");
    if (const auto* links = json::getObject(first, "links")) {
      e.conflicting_resource_id = json::getString(*links, "conflicting_resource_id").value_or("");
    }
  }
  return e;
}

std::vector<ProviderEvent> parseEvents(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) throw WebhookParseError("body is not a JSON object");
  auto events = doc.FindMember("events");
  if (events == doc.MemberEnd() || !events->value.IsArray()) {
    throw WebhookParseError("body has no events array");
  }
  std::vector<ProviderEvent> out;
  for (const auto& e : events->value.GetArray()) {
    ProviderEvent ev;
    ev.event_id = json::getString(e, "id").value_or("");
    std::string resource = json::getString(e, "resource_type").value_or("");
    std::string action = json::getString(e, "action").value_or("");
    if (ev.event_id.empty() || resource.empty() || action.empty()) {
      throw WebhookParseError("event without id, resource_type or action");
    }
    ev.event_type = resource + "." + action;
    ev.occurred_at_unix = parseRfc3339(json::getString(e, "created_at").value_or("")).value_or(0);
    if (const auto* links = json::getObject(e, "links")) {
      ev.provider_ref = json::getString(*links, "payment").value_or("");
    }
    if (const auto* metadata = json::getObject(e, "resource_metadata")) {
      ev.our_id = json::getString(*metadata, "paymux_id").value_or("");
    }
    if (resource == "payments") {
      ev.status = toTxStatus(paymentActionFromString(action));
      if (ev.status == TxStatus::kFailed) {
        const auto* details = json::getObject(e, "details");
        std::string cause = details ? json::getString(*details, "cause").value_or("") : "";
        std::string description =
            details ? json::getString(*details, "description").value_or("") : "";
        // why: a chargeback keeps the code charged_back whatever the bank's cause, so a late
        // reversal stays recognisable; other failures carry GoCardless's cause.
        std::string code = action == "failed" && !cause.empty() ? cause : action;
        ev.failure = Failure{code, description};
        // GoCardless documents charged_back after confirmed/paid_out: money moving back.
        ev.documented_reversal = action == "charged_back";
      }
    }
    out.push_back(std::move(ev));
  }
  return out;
}

std::string webhookSignature(std::string_view secret, std::string_view body) {
  return crypto::hexEncode(crypto::hmacSha256(secret, body));
}


}  // namespace paymux::connectors::gocardless
