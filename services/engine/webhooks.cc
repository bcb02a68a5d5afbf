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

}  // namespace

WebhookService::WebhookService(store::Pool& pool, const connectors::ConnectorSet& connectors,
                               http::HttpExecutor& executor)
    : connectors_(connectors),
      executor_(executor),
      commits_(pool, [this](pqxx::connection& conn, std::vector<Delivery*>& batch) {
        flush(conn, batch);
      }) {}

void WebhookService::flush(pqxx::connection& conn, std::vector<Delivery*>& batch) {
  pqxx::work txn(conn);
  std::vector<std::pair<std::string, std::string>> keys;
  for (Delivery* d : batch) {
    for (const auto& event : *d->events) keys.push_back({d->connector_id, event.event_id});
  }
  auto seen = alreadyStored(txn, keys);
  // Each event new to us is stored with the write set, under the outcome reconcile gives it.
  store::WriteSet writes;
  std::vector<StoredEvent> fresh;
  std::vector<long> fresh_index;  // per event of the batch: its index in `fresh`, or -1
  for (Delivery* d : batch) {
    for (const auto& event : *d->events) {
      if (!seen.insert({d->connector_id, event.event_id}).second) {
        fresh_index.push_back(-1);  // stored before, or earlier in this batch
        continue;
      }
      store::NewProviderEvent row;
      row.connector_id = d->connector_id;
      row.provider_event_id = event.event_id;
      row.event_type = event.event_type;
      row.provider_ref = event.provider_ref;
      if (event.status) row.status = paymux::toString(*event.status);
      row.raw_body = d->body;
      row.headers_json = d->headers_json;
      fresh_index.push_back(static_cast<long>(fresh.size()));
      fresh.push_back({d->connector_id, event, writes.addProviderEvent(std::move(row))});
    }
  }
  reconcile(txn, fresh, writes);
  if (!writes.write(txn).empty()) {
    throw std::runtime_error("a row-locked transaction changed under reconciliation");
  }
  for (auto& stored : fresh) {
    if (writes.storedProviderEvent(stored.row_id)) continue;
    // A concurrent batch stored it after our check. Unless we acted on it, it is a duplicate;
    // if we did, this batch must not commit: GroupCommit retries each webhook alone, and the
    // retry sees the stored row.
    if (stored.outcome == EventOutcome::kApplied || stored.outcome == EventOutcome::kDiscrepancy) {
      throw std::runtime_error("provider event stored concurrently while being applied");
    }
    stored.outcome = EventOutcome::kDuplicate;
  }
  txn.commit();
  size_t next = 0;
  for (Delivery* d : batch) {
    d->outcomes.clear();
    for (size_t e = 0; e < d->events->size(); ++e, ++next) {
      d->outcomes.push_back(fresh_index[next] >= 0
                                ? fresh[static_cast<size_t>(fresh_index[next])].outcome
                                : EventOutcome::kDuplicate);
    }
  }
}

std::vector<EventOutcome> WebhookService::storeAndReconcile(
    const std::string& connector_id, const std::vector<connectors::ProviderEvent>& events,
    const std::string& body, const std::string& headers_json) {
  Delivery delivery{connector_id, &events, &body, &headers_json, {}};
  commits_.submit(delivery);
  for (auto outcome : delivery.outcomes) countWebhook(connector_id, toString(outcome));
  return delivery.outcomes;
}

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
  auto outcomes = storeAndReconcile(connector_id, events, body, header_json);

  // Follow-up calls (PayPal's capture after approval) run after the events are stored.
  for (size_t i = 0; i < events.size(); ++i) {
    if (outcomes[i] == EventOutcome::kDuplicate) continue;
    const auto& event = events[i];
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
    storeAndReconcile(connector_id, {follow}, body, header_json);
  }
  return Reply{200, connector->webhookAckBody(), false};
}

}  // namespace paymux::engine
