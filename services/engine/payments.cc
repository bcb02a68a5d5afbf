#include "services/engine/payments.h"

#include <chrono>
#include <set>
#include <variant>

#include "services/common/api_error.h"
#include "services/common/crypto.h"
#include "services/common/json.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/rfc3339.h"
#include "services/engine/payment_request.h"
#include "services/engine/serialize.h"
#include "services/engine/transitions.h"
#include "services/store/events_repo.h"
#include "services/store/idempotency_repo.h"
#include "services/store/transactions_repo.h"

namespace paymux::engine {
namespace {

// why: beyond the connectors' timeouts, time for the database writes around the calls.
constexpr int kRequestBoundMarginS = 10;

void countAttempt(const std::string& connector, const std::string& outcome, long latency_ms) {
  auto& m = metrics::Registry::global();
  m.counterAdd("paymux_connector_requests_total", "Provider calls by connector and outcome",
               {{"connector", connector}, {"outcome", outcome}});
  m.observe("paymux_connector_request_duration_seconds", "Provider call latency",
            {{"connector", connector}}, static_cast<double>(latency_ms) / 1000.0);
}

}  // namespace

PaymentService::PaymentService(store::Pool& pool, const config::Config& config,
                               const connectors::ConnectorSet& connectors,
                               http::HttpExecutor& executor)
    : pool_(pool),
      config_(config),
      connectors_(connectors),
      executor_(executor),
      router_(config, connectors),
      leases_(pool),
      intents_(pool, [](pqxx::connection& conn, std::vector<Intent*>& batch) {
        flushIntents(conn, batch);
      }),
      outcomes_(pool, [this](pqxx::connection& conn, std::vector<Outcome*>& batch) {
        flushOutcomes(conn, batch);
      }) {}

void PaymentService::flushIntents(pqxx::connection& conn, std::vector<Intent*>& batch) {
  std::vector<store::NewClaimedTransaction> entries;
  std::vector<Intent*> claiming;
  std::set<std::pair<std::string, std::string>> keys;
  for (Intent* intent : batch) {
    intent->stored = false;
    // why: one statement cannot claim a key twice; a second request with the same key takes
    // the one-by-one path, which sees the first one's claim once this batch commits.
    if (!intent->key->empty() && !keys.insert({intent->tx->tenant_id, *intent->key}).second) continue;
    entries.push_back({intent->tx, *intent->key, *intent->request_hash, intent->created_at});
    claiming.push_back(intent);
  }
  pqxx::nontransaction txn(conn);  // one statement: it commits as a whole, in one round trip
  std::vector<bool> stored =
      store::claimAndInsertTransactions(txn, entries, store::LeaseKeeper::kLeaseSeconds);
  for (size_t i = 0; i < claiming.size(); ++i) claiming[i]->stored = stored[i];
}

void PaymentService::flushOutcomes(pqxx::connection& conn, std::vector<Outcome*>& batch) {
  store::WriteSet combined;
  for (Outcome* outcome : batch) combined.append(store::WriteSet(*outcome->writes));
  pqxx::nontransaction txn(conn);  // one statement: it commits as a whole, in one round trip
  std::vector<std::string> conflicts = combined.write(txn);
  std::set<std::string> conflicted(conflicts.begin(), conflicts.end());
  for (Outcome* outcome : batch) outcome->conflict = conflicted.count(*outcome->transaction_id) > 0;
}

std::string PaymentService::providerIdempotencyKey(const std::string& transaction_id,
                                                   const std::string& connector_id) {
  return "pmx-" + crypto::sha256Hex(transaction_id + "/" + connector_id).substr(0, 32);
}

int PaymentService::longestRequestS() const {
  int total_ms = 0;
  for (const auto& c : config_.connectors) total_ms += c.timeout_ms;
  return total_ms / 1000 + kRequestBoundMarginS;
}

std::vector<std::string> PaymentService::routeOf(const store::TransactionRecord& tx,
                                                 const ParsedRequest& parsed) {
  // why: the stored connector is the one the first attempt went to; failover continues from
  // today's route only if that still starts there (the original may have been forced).
  RouteInput input{tx.kind, tx.currency, parsed.country, parsed.method, tx.amount_minor, ""};
  std::vector<std::string> route;
  try {
    route = router_.route(input, tx.id);
  } catch (const ApiError&) {
  }
  if (route.empty() || route.front() != tx.connector_id) route = {tx.connector_id};
  return route;
}

Reply PaymentService::create(const std::string& tenant_id, Kind kind,
                             const rapidjson::Document& body, const std::string& request_hash,
                             const std::string& idempotency_key) {
  ParsedRequest parsed = parseRequest(kind, body);
  store::TransactionRecord tx;
  tx.id = crypto::randomId(idPrefix(kind), 20);
  tx.tenant_id = tenant_id;
  tx.kind = kind;
  tx.status = TxStatus::kPending;
  tx.amount_minor = parsed.payment.amount_minor;
  tx.currency = parsed.payment.currency;
  tx.reference = parsed.payment.reference;
  tx.description = parsed.payment.description;
  tx.party_json = parsed.party_json;
  tx.metadata_json = parsed.metadata_json;
  tx.idempotency_key = idempotency_key;

  RouteInput route_input{kind, tx.currency, parsed.country, parsed.method, tx.amount_minor,
                         parsed.forced_connector};
  std::vector<std::string> route = router_.route(route_input, tx.id);
  tx.connector_id = route.front();
  tx.first_check_after_s = config_.janitor.schedule_s.front();

  // 1. Durably record the transaction (and claim the idempotency key) before any provider call.
  auto created = std::chrono::system_clock::now();
  tx.created_at = formatRfc3339(created);
  tx.updated_at = tx.created_at;
  Intent intent{&tx, &idempotency_key, &request_hash, created};
  intents_.submit(intent);
  if (!intent.stored) {
    Claim claim = claimAlone(tenant_id, tx, created, request_hash, idempotency_key);
    if (claim.reply) return *claim.reply;
    if (claim.resume) return complete(*claim.resume);
  }
  store::LeaseKeeper::Held lease(leases_, tenant_id, idempotency_key);
  parsed.payment.transaction_id = tx.id;
  return callAndRecord(tx, parsed.payment, route);
}

Reply PaymentService::complete(const store::TransactionRecord& stored) {
  store::LeaseKeeper::Held lease(leases_, stored.tenant_id, stored.idempotency_key);
  store::TransactionRecord tx = stored;
  ParsedRequest parsed = requestOf(tx);
  log::warn("finishing a request whose process stopped before calling the provider",
            {{"transaction", tx.id}, {"connector", tx.connector_id}});
  return callAndRecord(tx, parsed.payment, routeOf(tx, parsed));
}

Reply PaymentService::callAndRecord(store::TransactionRecord& tx,
                                    connectors::PaymentRequest& payment,
                                    const std::vector<std::string>& route) {
  // 2. Call the routed connectors.
  CallOutcome outcome = callConnectors(payment, route);
  // 3. Record the outcome, its event and the idempotent response in one transaction.
  store::WriteSet writes;
  Reply reply = recordOutcome(tx, outcome, writes);
  Outcome recorded{&tx.id, &writes};
  outcomes_.submit(recorded);
  if (!recorded.conflict) return reply;
  return recordOutcomeAlone(tx.tenant_id, tx.id, tx.idempotency_key, outcome);
}

PaymentService::CallOutcome PaymentService::callConnectors(connectors::PaymentRequest& payment,
                                                           const std::vector<std::string>& route) {
  // Fail over only on retryable errors, never on declines or on an unknown outcome.
  CallOutcome outcome;
  const std::string& transaction_id = payment.transaction_id;
  for (size_t i = 0; i < route.size(); ++i) {
    const std::string& connector_id = route[i];
    auto* connector = connectors_.find(connector_id);
    outcome.report.connector_id = connector_id;
    if (connector == nullptr) {
      // A transaction finished after a configuration change that removed its connector.
      outcome.attempts.push_back({connector_id, "error", "connector_unavailable", 0, 0});
      outcome.report.status = TxStatus::kFailed;
      outcome.report.failure = connectors::Failure{"connector_unavailable",
                                                   "the connector is no longer configured"};
      continue;
    }
    payment.idempotency_key = providerIdempotencyKey(transaction_id, connector_id);
    auto started = std::chrono::steady_clock::now();
    connectors::CallResult result = connector->create(payment, executor_);
    int latency = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count());
    if (const auto* paid = std::get_if<connectors::ProviderPayment>(&result)) {
      outcome.attempts.push_back({connector_id, std::string(toString(paid->status)),
                                  paid->failure ? paid->failure->code : "", 0, latency});
      countAttempt(connector_id, "answered", latency);
      outcome.report.status = paid->status;
      outcome.report.provider_ref = paid->provider_ref;
      outcome.report.failure = paid->failure;
      outcome.report.redirect_url = paid->redirect_url;
      break;
    }
    const auto& err = std::get<connectors::ConnectorError>(result);
    outcome.attempts.push_back({connector_id, err.outcome_unknown ? "unknown" : "error", err.code,
                                static_cast<int>(err.http_status), latency});
    countAttempt(connector_id, err.outcome_unknown ? "unknown" : (err.retryable ? "retryable" : "error"),
                 latency);
    outcome.report.provider_ref = err.provider_ref;
    if (err.outcome_unknown) {
      outcome.report.status = TxStatus::kProcessing;
      log::warn("provider outcome unknown; transaction left processing",
                {{"transaction", transaction_id}, {"connector", connector_id}, {"code", err.code}});
      break;
    }
    outcome.report.status = TxStatus::kFailed;
    outcome.report.failure = connectors::Failure{err.code, err.message};
    if (!err.retryable) break;
  }
  return outcome;
}

Reply PaymentService::recordOutcome(store::TransactionRecord& tx, const CallOutcome& outcome,
                                    store::WriteSet& writes) {
  tx.attempts.insert(tx.attempts.end(), outcome.attempts.begin(), outcome.attempts.end());
  applyStatus(writes, tx, outcome.report);
  // why: written even when the status did not change, so the version check catches a webhook
  // that changed the row since it was read and the response never overwrites newer state.
  writes.changeTransaction(tx, tx.version, std::chrono::system_clock::now());
  writes.addAttempts(tx.id, outcome.attempts);
  Reply reply{201, transactionJson(tx), false};
  if (!tx.idempotency_key.empty()) {
    writes.completeIdempotencyKey(tx.id, tx.tenant_id, tx.idempotency_key, reply.status,
                                  reply.body);
  }
  return reply;
}

PaymentService::Claim PaymentService::claimAlone(const std::string& tenant_id,
                                                 const store::TransactionRecord& tx,
                                                 std::chrono::system_clock::time_point created,
                                                 const std::string& request_hash,
                                                 const std::string& idempotency_key) {
  return pool_.run([&](pqxx::connection& conn) -> Claim {
    pqxx::work txn(conn);
    if (!idempotency_key.empty()) {
      auto claim = store::claimIdempotencyKey(txn, tenant_id, idempotency_key, request_hash, tx.id,
                                              store::LeaseKeeper::kLeaseSeconds);
      switch (claim.state) {
        case store::IdempotencyState::kAcquired:
          break;
        case store::IdempotencyState::kReplay:
          return Claim{Reply{claim.response_status, claim.response_body, true}, std::nullopt};
        case store::IdempotencyState::kMismatch:
          throw ApiError(422, "idempotency_error", "idempotency_key_reused",
                         "this Idempotency-Key was already used with a different request");
        case store::IdempotencyState::kInProgress:
          // why: our own batch committed although its connection was lost before the answer
          // (and the batch was written again): the claim and the transaction are ours.
          if (claim.transaction_id == tx.id) return Claim{};
          throw ApiError(409, "idempotency_error", "idempotency_key_in_use",
                         "a request with this Idempotency-Key is still being processed");
        case store::IdempotencyState::kAbandoned: {
          // The first request's process died after storing its transaction.
          auto existing = store::findTransaction(txn, tenant_id, claim.transaction_id);
          if (!existing) {
            store::releaseIdempotencyKey(txn, tenant_id, idempotency_key);
            txn.commit();
            throw ApiError(409, "idempotency_error", "idempotency_key_in_use",
                           "the earlier request with this Idempotency-Key did not finish; retry");
          }
          if (existing->status == TxStatus::kPending && existing->attempts.empty()) {
            // It died before its provider call was recorded: take its lease and finish it
            // (the provider gets the same idempotency key, so it is never charged twice).
            store::leaseIdempotencyKey(txn, tenant_id, idempotency_key,
                                       store::LeaseKeeper::kLeaseSeconds);
            txn.commit();
            return Claim{std::nullopt, *existing};
          }
          // Its outcome was recorded by a webhook or the janitor meanwhile: answer with it.
          Reply reply{201, transactionJson(*existing), false};
          store::completeIdempotencyKey(txn, tenant_id, idempotency_key, reply.status, reply.body);
          txn.commit();
          return Claim{reply, std::nullopt};
        }
      }
    }
    store::insertTransaction(txn, tx, created);
    txn.commit();
    return Claim{};
  });
}

Reply PaymentService::recordOutcomeAlone(const std::string& tenant_id,
                                         const std::string& transaction_id,
                                         const std::string& idempotency_key,
                                         const CallOutcome& outcome) {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    auto current = store::findTransaction(txn, tenant_id, transaction_id, /*for_update=*/true);
    if (!current) throw std::runtime_error("transaction vanished");
    if (!idempotency_key.empty()) {
      // why: the batch that held this outcome may have committed before its connection was
      // lost; then it is recorded already, with its response.
      auto stored = store::storedResponse(txn, tenant_id, idempotency_key, transaction_id);
      if (stored) return Reply{stored->first, stored->second, false};
    }
    store::WriteSet writes;
    Reply reply = recordOutcome(*current, outcome, writes);
    if (!writes.write(txn).empty()) throw std::runtime_error("a row-locked transaction changed");
    txn.commit();
    return reply;
  });
}

Reply PaymentService::get(const std::string& tenant_id, Kind kind, const std::string& id) {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    auto tx = store::findTransaction(txn, tenant_id, id);
    if (!tx || tx->kind != kind) throw ApiError::notFound(std::string(objectName(kind)));
    return Reply{200, transactionJson(*tx), false};
  });
}

Reply PaymentService::list(const std::string& tenant_id, Kind kind, int limit,
                           const std::string& starting_after, const std::string& status,
                           const std::string& reference) {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    bool has_more = false;
    auto rows = store::listTransactions(
        txn, tenant_id, {kind, status, reference, starting_after, limit}, &has_more);
    if (!rows) {
      throw ApiError::invalid("resource_missing", "starting_after is not a known id",
                              "starting_after");
    }
    rapidjson::StringBuffer sb;
    json::Writer w(sb);
    w.StartObject();
    json::kv(w, "object", "list");
    json::key(w, "data");
    w.StartArray();
    for (const auto& tx : *rows) json::raw(w, transactionJson(tx));
    w.EndArray();
    json::key(w, "has_more");
    w.Bool(has_more);
    w.EndObject();
    return Reply{200, std::string(sb.GetString(), sb.GetSize()), false};
  });
}

Reply EventService::get(const std::string& tenant_id, const std::string& id) {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    auto ev = store::findEvent(txn, tenant_id, id);
    if (!ev) throw ApiError::notFound("event");
    return Reply{200, ev->body, false};
  });
}

Reply EventService::list(const std::string& tenant_id, int limit, const std::string& starting_after,
                         const std::string& type, std::optional<int64_t> after_sequence) {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    bool has_more = false;
    auto rows = store::listEvents(txn, tenant_id, {type, starting_after, after_sequence, limit},
                                  &has_more);
    if (!rows) {
      throw ApiError::invalid("resource_missing", "starting_after is not a known event id",
                              "starting_after");
    }
    rapidjson::StringBuffer sb;
    json::Writer w(sb);
    w.StartObject();
    json::kv(w, "object", "list");
    json::key(w, "data");
    w.StartArray();
    for (const auto& ev : *rows) json::raw(w, ev.body);
    w.EndArray();
    json::key(w, "has_more");
    w.Bool(has_more);
    w.EndObject();
    return Reply{200, std::string(sb.GetString(), sb.GetSize()), false};
  });
}

}  // namespace paymux::engine
