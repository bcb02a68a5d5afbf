// The PayPal simulator's resources as PayPal writes them: orders, captures, payout items and
// batches (the JSON of API answers and of webhook resources).
#include <ctime>

#include "connectors/paypal/paypal_sim_internal.h"
#include "connectors/paypal/paypal_transformers.h"
#include "services/common/json.h"

namespace paymux::connectors::paypal {
namespace {

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

void money(json::Writer& w, const char* currency_key, const std::string& currency,
           const std::string& value) {
  w.StartObject();
  json::kv(w, currency_key, currency);
  json::kv(w, "value", value);
  w.EndObject();
}

std::string done(const rapidjson::StringBuffer& sb) {
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace

void writeLink(json::Writer& w, const std::string& href, const char* rel, const char* method) {
  w.StartObject();
  json::kv(w, "href", href);
  json::kv(w, "rel", rel);
  json::kv(w, "method", method);
  w.EndObject();
}

std::string PayPalSimulator::Impl::orderJson(const SimOrder& o) const {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "id", o.id);
  json::kv(w, "intent", "CAPTURE");
  json::kv(w, "status", o.status);
  json::key(w, "payment_source");
  w.StartObject();
  json::key(w, "paypal");
  w.StartObject();
  if (!o.payer_email.empty()) json::kv(w, "email_address", o.payer_email);
  json::kv(w, "account_id", "SIMPAYER0001");
  json::kv(w, "account_status", "VERIFIED");
  w.EndObject();
  w.EndObject();
  json::key(w, "purchase_units");
  w.StartArray();
  w.StartObject();
  json::kv(w, "reference_id", o.reference_id);
  if (!o.custom_id.empty()) json::kv(w, "custom_id", o.custom_id);
  if (!o.description.empty()) json::kv(w, "description", o.description);
  json::key(w, "amount");
  money(w, "currency_code", o.currency, o.value);
  if (!o.capture_id.empty()) {
    json::key(w, "payments");
    w.StartObject();
    json::key(w, "captures");
    w.StartArray();
    json::raw(w, captureJson(o));
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
  w.EndArray();
  json::kv(w, "create_time", formatRfc3339(o.created_unix));
  json::key(w, "links");
  w.StartArray();
  writeLink(w, base_url + "/v2/checkout/orders/" + o.id, "self", "GET");
  if (o.status == "CREATED")
    writeLink(w, base_url + "/checkoutnow?token=" + o.id, "approve", "GET");
  if (o.status == "PAYER_ACTION_REQUIRED") {
    writeLink(w, base_url + "/checkoutnow?token=" + o.id, "payer-action", "GET");
  }
  if (o.status == "APPROVED") {
    writeLink(w, base_url + "/v2/checkout/orders/" + o.id + "/capture", "capture", "POST");
  }
  w.EndArray();
  w.EndObject();
  return done(sb);
}

std::string PayPalSimulator::Impl::captureJson(const SimOrder& o) const {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "id", o.capture_id);
  json::kv(w, "status", o.capture_status);
  if (o.capture_status == "PENDING") {
    json::key(w, "status_details");
    w.StartObject();
    json::kv(w, "reason", "PENDING_REVIEW");
    w.EndObject();
  }
  json::key(w, "amount");
  money(w, "currency_code", o.currency, o.value);
  json::key(w, "final_capture");
  w.Bool(true);
  if (!o.custom_id.empty()) json::kv(w, "custom_id", o.custom_id);
  json::key(w, "supplementary_data");
  w.StartObject();
  json::key(w, "related_ids");
  w.StartObject();
  json::kv(w, "order_id", o.id);
  w.EndObject();
  w.EndObject();
  json::kv(w, "create_time", formatRfc3339(now()));
  json::key(w, "links");
  w.StartArray();
  writeLink(w, base_url + "/v2/payments/captures/" + o.capture_id, "self", "GET");
  writeLink(w, base_url + "/v2/checkout/orders/" + o.id, "up", "GET");
  w.EndArray();
  w.EndObject();
  return done(sb);
}

std::string PayPalSimulator::Impl::itemJson(const SimPayoutItem& item) const {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "payout_item_id", item.id);
  if (item.status == "SUCCESS") json::kv(w, "transaction_id", "TX" + item.id);
  json::kv(w, "transaction_status", item.status);
  json::key(w, "payout_item_fee");
  money(w, "currency", item.currency, "0.00");
  json::kv(w, "payout_batch_id", item.batch_id);
  json::key(w, "payout_item");
  w.StartObject();
  json::kv(w, "recipient_type", item.recipient_type);
  json::key(w, "amount");
  money(w, "currency", item.currency, item.value);
  json::kv(w, "receiver", item.receiver);
  json::kv(w, "sender_item_id", item.sender_item_id);
  json::kv(w, "recipient_wallet", "PAYPAL");
  w.EndObject();
  json::kv(w, "time_processed", formatRfc3339(now()));
  if (!item.error_name.empty()) {
    json::key(w, "errors");
    w.StartObject();
    json::kv(w, "name", item.error_name);
    json::kv(w, "message", item.error_message);
    w.EndObject();
  }
  json::key(w, "links");
  w.StartArray();
  writeLink(w, base_url + "/v1/payments/payouts-item/" + item.id, "item", "GET");
  w.EndArray();
  w.EndObject();
  return done(sb);
}

std::string PayPalSimulator::Impl::batchJson(const SimBatch& batch, bool with_items) const {
  std::string status = "PENDING";  // what the create answer always says
  if (with_items) {
    status = "SUCCESS";
    for (const auto& id : batch.item_ids) {
      const std::string& s = items.at(id).status;
      if (s == "PENDING" || s == "ONHOLD" || s == "IN_REVIEW") status = "PROCESSING";
    }
  }
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "batch_header");
  w.StartObject();
  json::kv(w, "payout_batch_id", batch.id);
  json::kv(w, "batch_status", status);
  json::kv(w, "time_created", formatRfc3339(batch.created_unix));
  json::key(w, "sender_batch_header");
  w.StartObject();
  json::kv(w, "sender_batch_id", batch.sender_batch_id);
  json::kv(w, "email_subject", batch.email_subject);
  w.EndObject();
  w.EndObject();
  if (with_items) {
    json::key(w, "items");
    w.StartArray();
    for (const auto& id : batch.item_ids) json::raw(w, itemJson(items.at(id)));
    w.EndArray();
  }
  json::key(w, "links");
  w.StartArray();
  writeLink(w, base_url + "/v1/payments/payouts/" + batch.id, "self", "GET");
  w.EndArray();
  w.EndObject();
  return done(sb);
}

std::string PayPalSimulator::orderResource(const std::string& order_id) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->orderJson(impl_->orders.at(order_id));
}

std::string PayPalSimulator::captureResource(const std::string& order_id,
                                             const std::string& status) {
  std::lock_guard lock(impl_->mutex);
  SimOrder& order = impl_->orders.at(order_id);
  if (order.capture_id.empty()) order.capture_id = paypalId(17);
  if (!status.empty()) {
    order.capture_status = status;
    order.status = "COMPLETED";
  }
  if (order.capture_status.empty()) order.capture_status = "COMPLETED";
  return impl_->captureJson(order);
}

std::string PayPalSimulator::payoutItemResource(const std::string& item_id,
                                                const std::string& status) {
  std::lock_guard lock(impl_->mutex);
  SimPayoutItem& item = impl_->items.at(item_id);
  if (!status.empty()) item.status = status;
  return impl_->itemJson(item);
}

}  // namespace paymux::connectors::paypal
