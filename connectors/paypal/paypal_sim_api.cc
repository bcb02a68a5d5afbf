// The PayPal simulator's REST API: Orders v2 and Payouts v1 (see paypal_simulator.h).
#include <ctime>
#include <stdexcept>

#include "connectors/paypal/paypal_sim_internal.h"
#include "connectors/paypal/paypal_sim_schema.h"
#include "connectors/paypal/paypal_transformers.h"
#include "services/common/currency.h"
#include "services/common/json.h"

namespace paymux::connectors::paypal {
namespace {

using simkit::SimResponse;

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

SimResponse notFound() {
  return {404, paypalError("RESOURCE_NOT_FOUND", "The specified resource does not exist.",
                           "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")};
}

SimResponse unprocessable(const std::string& issue, const std::string& description) {
  return {422, paypalError("UNPROCESSABLE_ENTITY",
                           "The requested action could not be performed, semantically incorrect, "
                           "or failed business validation.",
                           issue, description)};
}

/// PayPal's own precision check (422 DECIMAL_PRECISION), beyond what the schema says.
std::string amountProblem(const std::string& currency, const std::string& value) {
  auto info = findCurrency(currency);
  if (!info) return "CURRENCY_NOT_SUPPORTED";
  size_t dot = value.find('.');
  int decimals = dot == std::string::npos ? 0 : static_cast<int>(value.size() - dot - 1);
  int allowed = currency == "HUF" || currency == "TWD" ? 0 : info->exponent;
  if (decimals > allowed || !fromPayPalValue(value, currency)) return "DECIMAL_PRECISION";
  if (value.front() == '-' || *fromPayPalValue(value, currency) == 0) return "AMOUNT_NOT_POSITIVE";
  return "";
}

}  // namespace

SimResponse PayPalSimulator::Impl::api(const simkit::SimRequest& req) {
  const std::string orders_prefix = "/v2/checkout/orders/";
  if (req.method == "POST" && req.path == "/v2/checkout/orders") return createOrder(req);
  if (req.path.rfind(orders_prefix, 0) == 0) {
    std::string rest = req.path.substr(orders_prefix.size());
    const std::string capture = "/capture";
    if (req.method == "POST" && rest.size() > capture.size() &&
        rest.compare(rest.size() - capture.size(), capture.size(), capture) == 0) {
      return captureOrder(req, rest.substr(0, rest.size() - capture.size()));
    }
    std::lock_guard lock(mutex);
    auto it = orders.find(rest);
    if (req.method != "GET" || it == orders.end()) return notFound();
    return {200, orderJson(it->second)};
  }
  if (req.method == "POST" && req.path == "/v1/payments/payouts") return createPayout(req);
  const std::string batch_prefix = "/v1/payments/payouts/",
                    item_prefix = "/v1/payments/payouts-item/";
  if (req.method == "GET" && req.path.rfind(batch_prefix, 0) == 0) {
    std::lock_guard lock(mutex);
    auto it = batches.find(req.path.substr(batch_prefix.size()));
    return it == batches.end() ? notFound() : SimResponse{200, batchJson(it->second, true)};
  }
  if (req.method == "GET" && req.path.rfind(item_prefix, 0) == 0) {
    std::lock_guard lock(mutex);
    auto it = items.find(req.path.substr(item_prefix.size()));
    return it == items.end() ? notFound() : SimResponse{200, itemJson(it->second)};
  }
  return notFound();
}

SimResponse PayPalSimulator::Impl::createOrder(const simkit::SimRequest& req) {
  std::string replay_key = "orders|" + req.header("paypal-request-id");
  {
    std::lock_guard lock(mutex);
    if (auto it = replies.find(replay_key);
        it != replies.end() && !req.header("paypal-request-id").empty()) {
      return it->second;
    }
  }
  if (std::string violation = validateRequest(RequestSchema::kOrderRequest, req.body);
      !violation.empty()) {
    std::lock_guard lock(mutex);
    ++schema_failures;
    return {400, paypalError("INVALID_REQUEST",
                             "Request is not well-formed, syntactically incorrect, or violates "
                             "schema.",
                             "INVALID_PARAMETER_SYNTAX", violation)};
  }
  rapidjson::Document doc;
  doc.Parse(req.body.c_str(), req.body.size());
  const rapidjson::Value& unit = doc["purchase_units"][0];
  SimOrder order;
  order.reference_id = json::getString(unit, "reference_id").value_or("default");
  order.custom_id = json::getString(unit, "custom_id").value_or("");
  order.description = json::getString(unit, "description").value_or("");
  order.currency = json::getString(unit["amount"], "currency_code").value_or("");
  order.value = json::getString(unit["amount"], "value").value_or("");
  if (std::string problem = amountProblem(order.currency, order.value); !problem.empty()) {
    return unprocessable(
        problem, "The amount " + order.value + " " + order.currency + " cannot be accepted.");
  }
  const rapidjson::Value* wallet = nullptr;
  if (const auto* source = json::getObject(doc, "payment_source")) {
    wallet = json::getObject(*source, "paypal");
  }
  std::string vault_id;
  if (wallet != nullptr) {
    vault_id = json::getString(*wallet, "vault_id").value_or("");
    order.payer_email = json::getString(*wallet, "email_address").value_or("");
    if (const auto* context = json::getObject(*wallet, "experience_context")) {
      order.return_url = json::getString(*context, "return_url").value_or("");
      order.cancel_url = json::getString(*context, "cancel_url").value_or("");
    }
  }
  order.scenario = scenarioOf(vault_id.empty() ? order.payer_email : vault_id);
  if (order.scenario == "tok_error") {
    return {500, paypalError("INTERNAL_SERVER_ERROR", "An internal server error has occurred.")};
  }
  SimResponse resp;
  if (order.scenario == "tok_decline") {
    resp = unprocessable("INSTRUMENT_DECLINED",
                         "The instrument presented was either declined by the processor or bank, "
                         "or it can't be used for this payment.");
  } else {
    order.id = paypalId(17);
    order.created_unix = now();
    // PayPal asks for payer action when a payment source is given, else for approval.
    order.status = order.scenario == "tok_unknown" ? "IN_REVIEW"
                   : wallet != nullptr             ? "PAYER_ACTION_REQUIRED"
                                                   : "CREATED";
    resp = {201, orderJson(order)};
  }
  std::lock_guard lock(mutex);
  // why: a concurrent request with the same PayPal-Request-Id may have finished meanwhile.
  if (auto it = replies.find(replay_key);
      it != replies.end() && !req.header("paypal-request-id").empty()) {
    return it->second;
  }
  if (!order.id.empty()) {
    orders[order.id] = order;
    ++objects;
  }
  if (!req.header("paypal-request-id").empty()) replies[replay_key] = resp;
  if (order.scenario == "tok_timeout") resp.delay = std::chrono::milliseconds(options.timeout_ms);
  if (order.scenario == "tok_slow") resp.delay = std::chrono::milliseconds(options.slow_ms);
  return resp;
}

SimResponse PayPalSimulator::Impl::captureOrder(const simkit::SimRequest& req,
                                                const std::string& id) {
  std::string request_id = req.header("paypal-request-id");
  std::string replay_key = "capture|" + id + "|" + request_id;
  bool async = false;
  SimResponse resp;
  {
    std::lock_guard lock(mutex);
    if (auto it = replies.find(replay_key); it != replies.end() && !request_id.empty()) {
      return it->second;
    }
    auto it = orders.find(id);
    if (it == orders.end()) return notFound();
    SimOrder& order = it->second;
    if (order.status == "COMPLETED") {
      return unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.");
    }
    if (order.status != "APPROVED") {
      return unprocessable("ORDER_NOT_APPROVED",
                           "Payer has not yet approved the Order for payment.");
    }
    order.capture_id = paypalId(17);
    order.capture_status = order.scenario == "tok_capture_decline" ? "DECLINED"
                           : order.scenario == "tok_async"         ? "PENDING"
                                                                   : "COMPLETED";
    order.status = "COMPLETED";
    async = order.scenario == "tok_async";
    resp = {201, orderJson(order)};
    if (!request_id.empty()) replies[replay_key] = resp;
  }
  if (async) {
    schedule(std::chrono::milliseconds(options.async_ms), [this, id] {
      std::string capture;
      {
        std::lock_guard lock(mutex);
        SimOrder& order = orders.at(id);
        order.capture_status = "COMPLETED";
        capture = captureJson(order);
      }
      deliver(owner->event("PAYMENT.CAPTURE.COMPLETED", "capture", capture));
    });
  }
  return resp;
}

SimResponse PayPalSimulator::Impl::createPayout(const simkit::SimRequest& req) {
  std::string request_id = req.header("paypal-request-id");
  std::string replay_key = "payouts|" + request_id;
  {
    std::lock_guard lock(mutex);
    if (auto it = replies.find(replay_key); it != replies.end() && !request_id.empty()) {
      return it->second;
    }
  }
  if (std::string violation = validateRequest(RequestSchema::kCreatePayoutRequest, req.body);
      !violation.empty()) {
    std::lock_guard lock(mutex);
    ++schema_failures;
    return {400, paypalError("VALIDATION_ERROR", "Invalid request - see details.",
                             "INVALID_PARAMETER_SYNTAX", violation)};
  }
  rapidjson::Document doc;
  doc.Parse(req.body.c_str(), req.body.size());
  SimBatch batch;
  const auto* header = json::getObject(doc, "sender_batch_header");
  batch.sender_batch_id = json::getString(*header, "sender_batch_id").value_or("");
  batch.email_subject = json::getString(*header, "email_subject").value_or("");
  std::vector<SimPayoutItem> new_items;
  for (const auto& in : doc["items"].GetArray()) {
    SimPayoutItem item;
    item.recipient_type = json::getString(in, "recipient_type").value_or("EMAIL");
    item.receiver = json::getString(in, "receiver").value_or("");
    item.sender_item_id = json::getString(in, "sender_item_id").value_or("");
    item.currency = json::getString(in["amount"], "currency").value_or("");
    item.value = json::getString(in["amount"], "value").value_or("");
    item.scenario = scenarioOf(item.receiver);
    if (std::string problem = amountProblem(item.currency, item.value); !problem.empty()) {
      return {422, paypalError("VALIDATION_ERROR", "Invalid request - see details.", problem,
                               "The amount cannot be accepted.")};
    }
    new_items.push_back(std::move(item));
  }
  if (new_items.front().scenario == "tok_error") {
    return {500, paypalError("INTERNAL_SERVER_ERROR", "An internal server error has occurred.")};
  }
  std::vector<std::string> async_items;
  SimResponse resp;
  {
    std::lock_guard lock(mutex);
    if (auto it = replies.find(replay_key); it != replies.end() && !request_id.empty()) {
      return it->second;  // a concurrent request with the same PayPal-Request-Id finished first
    }
    if (auto dup = batch_by_sender_id.find(batch.sender_batch_id);
        !batch.sender_batch_id.empty() && dup != batch_by_sender_id.end()) {
      rapidjson::StringBuffer sb;
      json::Writer w(sb);
      w.StartObject();
      json::kv(w, "name", "USER_BUSINESS_ERROR");
      json::kv(w, "message", "User business error.");
      json::kv(w, "debug_id", paypalId(13));
      json::kv(w, "information_link",
               "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors");
      json::key(w, "details");
      w.StartArray();
      w.StartObject();
      json::kv(w, "field", "SENDER_BATCH_ID");
      json::kv(w, "location", "body");
      json::kv(w, "issue", "Batch with given sender_batch_id already exists");
      json::key(w, "link");
      w.StartArray();
      writeLink(w, base_url + "/v1/payments/payouts/" + dup->second, "self", "GET");
      w.EndArray();
      w.EndObject();
      w.EndArray();
      w.EndObject();
      return {400, std::string(sb.GetString(), sb.GetSize())};
    }
    batch.id = paypalId(13);
    batch.created_unix = now();
    for (auto& item : new_items) {
      item.id = paypalId(13);
      item.batch_id = batch.id;
      if (item.scenario == "tok_decline") {
        item.status = "FAILED";
        item.error_name = "RECEIVER_ACCOUNT_LOCKED";
        item.error_message = "Receiver's account is locked or inactive.";
      } else if (item.scenario == "tok_unknown") {
        item.status = "IN_REVIEW";
      } else if (item.scenario == "tok_async") {
        item.status = "PENDING";
        async_items.push_back(item.id);
      } else if (item.scenario == "tok_action") {
        item.status = "UNCLAIMED";
      } else {
        item.status = "SUCCESS";
      }
      batch.item_ids.push_back(item.id);
      items[item.id] = item;
    }
    batches[batch.id] = batch;
    if (!batch.sender_batch_id.empty()) batch_by_sender_id[batch.sender_batch_id] = batch.id;
    ++objects;
    resp = {201, batchJson(batch, false)};
    if (!request_id.empty()) replies[replay_key] = resp;
  }
  for (const auto& item_id : async_items) {
    schedule(std::chrono::milliseconds(options.async_ms), [this, item_id] {
      std::string resource;
      {
        std::lock_guard lock(mutex);
        SimPayoutItem& item = items.at(item_id);
        item.status = "SUCCESS";
        resource = itemJson(item);
      }
      deliver(owner->event("PAYMENT.PAYOUTS-ITEM.SUCCEEDED", "payouts_item", resource));
    });
  }
  if (new_items.front().scenario == "tok_timeout") {
    resp.delay = std::chrono::milliseconds(options.timeout_ms);
  } else if (new_items.front().scenario == "tok_slow") {
    resp.delay = std::chrono::milliseconds(options.slow_ms);
  }
  return resp;
}

std::string PayPalSimulator::Impl::approveLocked(const std::string& order_id) {
  SimOrder& order = orders.at(order_id);
  if (order.status == "CREATED" || order.status == "PAYER_ACTION_REQUIRED") {
    order.status = "APPROVED";
  }
  return orderJson(order);
}

}  // namespace paymux::connectors::paypal
