#include "services/engine/webhooks.h"

#include <ctime>
#include <variant>

#include "services/common/api_error.h"
#include "services/common/json.h"
#include "services/common/log.h"
#include "services/engine/reconcile.h"

namespace paymux::engine {
namespace {

std::string headersJson(const http::Headers& headers) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  for (const auto& [k, v] : headers) {
    // why: provider webhooks carry no credentials of ours, but never keep auth-like headers.
    if (k == "authorization" || k == "cookie" || k == "proxy-authorization") continue;
    json::kv(w, k, v);
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

/// Stores and reconciles events in one database transaction; returns the ones newly stored.
std::vector<connectors::ProviderEvent> storeAndReconcile(
    store::Pool& pool, const std::string& connector_id,
    const std::vector<connectors::ProviderEvent>& events, const std::string& body,
    const std::string& headers) {
  return pool.run([&](pqxx::connection& conn) {
    std::vector<connectors::ProviderEvent> fresh;
    std::vector<std::string> outcomes;
    pqxx::work txn(conn);
    for (const auto& event : events) {
      int64_t row = storeProviderEvent(txn, connector_id, event, body, headers);
      if (row < 0) {
        outcomes.emplace_back("duplicate");
        continue;
      }
      fresh.push_back(event);
      outcomes.emplace_back(toString(reconcile(txn, connector_id, event, row)));
    }
    txn.commit();
    for (const auto& o : outcomes) countWebhook(connector_id, o);
    return fresh;
  });
}

}  // namespace

Reply WebhookService::receive(const std::string& connector_id, const http::Headers& headers,
                              const std::string& body) {
  auto* connector = connectors_.find(connector_id);
  if (connector == nullptr) {
    throw ApiError(404, "invalid_request_error", "resource_missing", "unknown connector");
  }
  if (json::nestingExceeds(body, json::kMaxUntrustedDepth)) {
    countWebhook(connector_id, "malformed");
    throw ApiError::invalid("json_invalid", "webhook body nests too deeply");
  }
  connectors::WebhookRequest request{headers, body, static_cast<int64_t>(std::time(nullptr))};
  auto verdict = connector->verifyWebhook(request);
  if (!verdict.ok) {
    countWebhook(connector_id, "rejected");
    log::warn("provider webhook rejected", {{"connector", connector_id}, {"reason", verdict.reason}});
    throw ApiError(401, "authentication_error", "signature_invalid",
                   "webhook signature verification failed");
  }
  std::vector<connectors::ProviderEvent> events;
  try {
    events = connector->parseWebhook(request);
  } catch (const connectors::WebhookParseError& e) {
    countWebhook(connector_id, "malformed");
    log::warn("provider webhook unreadable", {{"connector", connector_id}, {"error", e.what()}});
    throw ApiError::invalid("json_invalid", "webhook body could not be read");
  }
  countWebhook(connector_id, "verified");
  std::string header_json = headersJson(headers);
  auto fresh = storeAndReconcile(pool_, connector_id, events, body, header_json);

  // Follow-up calls (PayPal's capture after approval) run after the events are stored.
  for (const auto& event : fresh) {
    auto result = connector->followUp(event, executor_);
    if (!result) continue;
    if (const auto* err = std::get_if<connectors::ConnectorError>(&*result)) {
      log::warn("provider follow-up failed; status polling will settle it",
                {{"connector", connector_id}, {"code", err->code}});
      continue;
    }
    const auto& paid = std::get<connectors::ProviderPayment>(*result);
    connectors::ProviderEvent follow = event;
    follow.event_id = event.event_id + ":follow-up";
    follow.event_type = "follow_up";
    follow.status = paid.status;
    if (!paid.provider_ref.empty()) follow.provider_ref = paid.provider_ref;
    follow.amount_minor = paid.amount_minor;
    follow.currency = paid.currency;
    follow.failure = paid.failure;
    storeAndReconcile(pool_, connector_id, {follow}, body, header_json);
  }
  return Reply{200, connector->webhookAckBody(), false};
}

}  // namespace paymux::engine
