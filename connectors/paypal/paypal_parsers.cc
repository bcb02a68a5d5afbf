// Parsing half of paypal_transformers.h: PayPal answers and webhook events -> our types.
#include <algorithm>
#include <array>

#include "connectors/paypal/paypal_transformers.h"
#include "services/common/json.h"

namespace paymux::connectors::paypal {
namespace {

const rapidjson::Value* firstOf(const rapidjson::Value& obj, const char* array_name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(array_name);
  if (it == obj.MemberEnd() || !it->value.IsArray() || it->value.Empty()) return nullptr;
  return it->value[0].IsObject() ? &it->value[0] : nullptr;
}

std::string str(const rapidjson::Value& obj, const char* name) {
  return json::getString(obj, name).value_or("");
}

/// Reads {currency_code|currency, value} into the payment.
void readMoney(const rapidjson::Value* money, ProviderPayment& p) {
  if (money == nullptr) return;
  p.currency = str(*money, "currency_code");
  if (p.currency.empty()) p.currency = str(*money, "currency");
  p.amount_minor = fromPayPalValue(str(*money, "value"), p.currency);
}

rapidjson::Document parseObject(std::string_view text, const char* what) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    throw WebhookParseError(std::string(what) + " is not a JSON object");
  }
  return doc;
}

void applyCapture(const rapidjson::Value& capture, ProviderPayment& p) {
  std::string status = str(capture, "status");
  CaptureStatus cs = captureStatusFromString(status);
  p.provider_status = status;
  p.status = toTxStatus(cs);
  if (p.status == TxStatus::kFailed) {
    std::string reason;
    if (const auto* details = json::getObject(capture, "status_details")) {
      reason = str(*details, "reason");
    }
    p.failure = Failure{reason.empty() ? "CAPTURE_" + status : reason,
                        "PayPal did not complete the capture (" + status + ")"};
  }
}

}  // namespace

ProviderPayment parseOrder(const rapidjson::Value& order) {
  ProviderPayment p;
  p.provider_ref = str(order, "id");
  if (p.provider_ref.empty()) throw WebhookParseError("order has no id");
  p.provider_status = str(order, "status");
  p.status = toTxStatus(orderStatusFromString(p.provider_status));
  if (const auto* unit = firstOf(order, "purchase_units")) {
    readMoney(json::getObject(*unit, "amount"), p);
    if (const auto* payments = json::getObject(*unit, "payments")) {
      if (const auto* capture = firstOf(*payments, "captures")) {
        // why: COMPLETED says only that the order was captured; the capture may still be
        // PENDING (eCheck) or DECLINED.
        applyCapture(*capture, p);
        if (!p.amount_minor) readMoney(json::getObject(*capture, "amount"), p);
      }
    }
  }
  if (p.status == TxStatus::kRequiresAction) {
    auto links = order.FindMember("links");
    if (links != order.MemberEnd() && links->value.IsArray()) {
      for (const auto& link : links->value.GetArray()) {
        std::string rel = str(link, "rel");
        if (rel == "payer-action" || rel == "approve") {
          p.redirect_url = str(link, "href");
          break;
        }
      }
    }
  }
  return p;
}

ProviderPayment parseOrder(std::string_view json) { return parseOrder(parseObject(json, "order")); }

ProviderPayment parseCapture(const rapidjson::Value& capture) {
  ProviderPayment p;
  if (str(capture, "id").empty()) throw WebhookParseError("capture has no id");
  if (const auto* data = json::getObject(capture, "supplementary_data")) {
    if (const auto* related = json::getObject(*data, "related_ids")) {
      p.provider_ref = str(*related, "order_id");
    }
  }
  auto links = capture.FindMember("links");
  if (p.provider_ref.empty() && links != capture.MemberEnd() && links->value.IsArray()) {
    // The "up" link names the order the capture belongs to.
    const std::string marker = "/v2/checkout/orders/";
    for (const auto& link : links->value.GetArray()) {
      std::string href = str(link, "href");
      size_t at = href.find(marker);
      if (str(link, "rel") == "up" && at != std::string::npos) {
        p.provider_ref = href.substr(at + marker.size());
        p.provider_ref = p.provider_ref.substr(0, p.provider_ref.find_first_of("/?#"));
      }
    }
  }
  applyCapture(capture, p);
  readMoney(json::getObject(capture, "amount"), p);
  return p;
}

ProviderPayment parsePayoutItem(const rapidjson::Value& item) {
  ProviderPayment p;
  p.provider_ref = str(item, "payout_item_id");
  if (p.provider_ref.empty()) throw WebhookParseError("payout item has no payout_item_id");
  p.provider_status = str(item, "transaction_status");
  p.status = toTxStatus(itemStatusFromString(p.provider_status));
  if (const auto* detail = json::getObject(item, "payout_item")) {
    readMoney(json::getObject(*detail, "amount"), p);
  }
  if (p.status == TxStatus::kFailed || p.status == TxStatus::kReturned) {
    std::string code = "PAYOUT_" + p.provider_status, message;
    if (const auto* errors = json::getObject(item, "errors")) {
      if (auto name = json::getString(*errors, "name")) code = *name;
      message = str(*errors, "message");
    }
    if (message.empty()) message = "PayPal payout item " + p.provider_status;
    p.failure = Failure{code, message};
  }
  return p;
}

ProviderPayment parsePayoutItem(std::string_view json) {
  return parsePayoutItem(parseObject(json, "payout item"));
}

PayoutBatch parsePayoutBatch(std::string_view json) {
  rapidjson::Document doc = parseObject(json, "payout batch");
  PayoutBatch batch;
  if (const auto* header = json::getObject(doc, "batch_header")) {
    batch.batch_id = str(*header, "payout_batch_id");
    batch.batch_status = str(*header, "batch_status");
  }
  if (batch.batch_id.empty()) throw WebhookParseError("payout batch has no payout_batch_id");
  if (const auto* item = firstOf(doc, "items")) batch.item = parsePayoutItem(*item);
  return batch;
}

ProviderPayment batchPayment(const PayoutBatch& batch) {
  if (batch.item) return *batch.item;
  ProviderPayment p;
  p.provider_ref = batch.batch_id;
  p.provider_status = batch.batch_status;
  p.status = toTxStatus(batchStatusFromString(batch.batch_status));
  if (p.status == TxStatus::kFailed) {
    p.failure = Failure{"BATCH_" + batch.batch_status, "PayPal denied the payout batch"};
  }
  return p;
}

ApiError parseApiError(std::string_view body) {
  ApiError e;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return e;
  e.name = str(doc, "name");
  // why: the OAuth endpoint answers {"error", "error_description"} instead.
  if (e.name.empty()) e.name = str(doc, "error");
  e.message = str(doc, "message");
  if (e.message.empty()) e.message = str(doc, "error_description");
  e.debug_id = str(doc, "debug_id");
  auto find_link = [&e](const rapidjson::Value& obj, const char* member) {
    auto it = obj.FindMember(member);
    if (!e.link_href.empty() || it == obj.MemberEnd() || !it->value.IsArray()) return;
    for (const auto& link : it->value.GetArray()) {
      std::string rel = str(link, "rel");
      if (rel != "information_link") {
        e.link_href = str(link, "href");
        if (!e.link_href.empty()) return;
      }
    }
  };
  if (const auto* detail = firstOf(doc, "details")) {
    e.issue = str(*detail, "issue");
    e.description = str(*detail, "description");
    e.field = str(*detail, "field");
  }
  auto details = doc.FindMember("details");
  if (details != doc.MemberEnd() && details->value.IsArray()) {
    for (const auto& detail : details->value.GetArray()) {
      if (detail.IsObject()) find_link(detail, "link");
    }
  }
  find_link(doc, "links");
  return e;
}

bool isDeclineIssue(std::string_view issue) {
  static constexpr std::array<std::string_view, 14> kDeclines = {
      "INSTRUMENT_DECLINED",
      "PAYER_CANNOT_PAY",
      "PAYER_ACCOUNT_RESTRICTED",
      "PAYER_ACCOUNT_LOCKED_OR_CLOSED",
      "PAYEE_BLOCKED_TRANSACTION",
      "TRANSACTION_REFUSED",
      "TRANSACTION_BLOCKED_BY_PAYEE",
      "TRANSACTION_LIMIT_EXCEEDED",
      "TRANSACTION_RECEIVING_LIMIT_EXCEEDED",
      "COMPLIANCE_VIOLATION",
      "CARD_EXPIRED",
      "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
      "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
      "PAYMENT_DENIED",
  };
  return std::find(kDeclines.begin(), kDeclines.end(), issue) != kDeclines.end();
}

std::vector<ProviderEvent> parseEvent(std::string_view body) {
  rapidjson::Document doc = parseObject(body, "webhook body");
  ProviderEvent ev;
  ev.event_id = str(doc, "id");
  ev.event_type = str(doc, "event_type");
  if (ev.event_id.empty() || ev.event_type.empty()) {
    throw WebhookParseError("event has no id or event_type");
  }
  ev.occurred_at_unix = parseRfc3339(str(doc, "create_time")).value_or(0);
  const auto* resource = json::getObject(doc, "resource");
  if (resource == nullptr) throw WebhookParseError("event has no resource object");
  const std::string& type = ev.event_type;
  auto starts = [&type](std::string_view prefix) { return type.rfind(prefix, 0) == 0; };

  std::optional<ProviderPayment> p;
  if (starts("CHECKOUT.")) {
    // CHECKOUT.ORDER.* and CHECKOUT.PAYMENT-APPROVAL.REVERSED carry the order.
    p = parseOrder(*resource);
    if (const auto* unit = firstOf(*resource, "purchase_units"))
      ev.our_id = str(*unit, "custom_id");
  } else if (type == "PAYMENT.CAPTURE.COMPLETED" || type == "PAYMENT.CAPTURE.DENIED" ||
             type == "PAYMENT.CAPTURE.DECLINED" || type == "PAYMENT.CAPTURE.PENDING") {
    p = parseCapture(*resource);
    ev.our_id = str(*resource, "custom_id");
  } else if (starts("PAYMENT.PAYOUTS-ITEM.")) {
    p = parsePayoutItem(*resource);
    if (const auto* detail = json::getObject(*resource, "payout_item")) {
      ev.our_id = str(*detail, "sender_item_id");
    }
  } else if (starts("PAYMENT.PAYOUTSBATCH.")) {
    // why: item events carry each payout's outcome; only a denied batch settles its items.
    const auto* header = json::getObject(*resource, "batch_header");
    if (header == nullptr) throw WebhookParseError("payout batch event has no batch_header");
    ev.provider_ref = str(*header, "payout_batch_id");
    if (const auto* sender = json::getObject(*header, "sender_batch_header")) {
      ev.our_id = str(*sender, "sender_batch_id");
    }
    if (batchStatusFromString(str(*header, "batch_status")) == BatchStatus::kDenied) {
      ev.status = TxStatus::kFailed;
      ev.failure = Failure{"BATCH_DENIED", "PayPal denied the payout batch"};
    }
    return {ev};
  } else {
    // Refunds (PAYMENT.CAPTURE.REFUNDED/REVERSED carry a refund, whose COMPLETED is not the
    // capture's), disputes, authorizations...: recorded, no status change.
    ev.provider_ref = str(*resource, "id");
    return {ev};
  }
  ev.provider_ref = p->provider_ref;
  ev.status = p->status;
  ev.amount_minor = p->amount_minor;
  ev.currency = p->currency;
  ev.failure = p->failure;
  return {ev};
}

}  // namespace paymux::connectors::paypal
