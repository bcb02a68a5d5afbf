#include "services/worker/janitor.h"

#include <chrono>
#include <thread>
#include <variant>

#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/engine/reconcile.h"
#include "services/engine/transitions.h"
#include "services/store/idempotency_repo.h"
#include "services/store/lease_keeper.h"
#include "services/store/transactions_repo.h"

namespace paymux::worker {
namespace {

constexpr int kBatch = 20;

std::string scheduleArray(const std::vector<int>& schedule) {
  std::string out = "{";
  for (size_t i = 0; i < schedule.size(); ++i) out += (i ? "," : "") + std::to_string(schedule[i]);
  return out + "}";
}

void countCheck(const std::string& connector, const std::string& result) {
  metrics::Registry::global().counterAdd("paymux_janitor_checks_total",
                                         "Status re-checks of unsettled transactions",
                                         {{"connector", connector}, {"result", result}});
}

}  // namespace

Janitor::Pass Janitor::runOnce() {
  Pass pass;
  pass.events_retried = retryUnmatched();
  checkDueTransactions(pass);
  return pass;
}

void Janitor::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    try {
      runOnce();
    } catch (const std::exception& e) {
      log::warn("janitor pass failed; retrying", {{"error", e.what()}});
    }
    for (int waited = 0; waited < config_.janitor.interval_ms && !stop.load(); waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

int Janitor::retryUnmatched() {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    auto rows = txn.exec_params(
        "SELECT id, connector_id, provider_event_id, raw_body, headers::text,"
        " received_at < now() - make_interval(secs => $1) FROM provider_events"
        " WHERE outcome = 'unmatched' AND next_retry_at <= now() ORDER BY id LIMIT $2"
        " FOR UPDATE SKIP LOCKED",
        config_.janitor.unmatched_window_s, kBatch);
    std::vector<engine::StoredEvent> stored;
    std::vector<bool> past_window;
    for (const auto& row : rows) {
      int64_t id = row[0].as<int64_t>();
      std::string connector_id = row[1].as<std::string>();
      std::string event_id = row[2].as<std::string>();
      auto* connector = connectors_.find(connector_id);
      std::optional<connectors::ProviderEvent> event;
      if (connector != nullptr) {
        connectors::WebhookRequest request{{}, row[3].as<std::string>(), 0};
        try {
          // why: a body may carry several events; re-read the one this row stores.
          for (auto& ev : connector->parseWebhook(request)) {
            if (ev.event_id == event_id) event = ev;
          }
        } catch (const std::exception&) {
        }
      }
      if (!event) {
        txn.exec_params("UPDATE provider_events SET outcome = 'discrepancy', next_retry_at = NULL"
                        " WHERE id = $1", id);
        continue;
      }
      stored.push_back({connector_id, *event, id});
      past_window.push_back(row[5].as<bool>());
    }
    store::WriteSet writes;
    engine::reconcile(txn, stored, writes);
    if (!writes.write(txn).empty()) {
      throw std::runtime_error("a row-locked transaction changed under reconciliation");
    }
    for (size_t i = 0; i < stored.size(); ++i) {
      const auto& s = stored[i];
      if (s.outcome == engine::EventOutcome::kUnmatched && past_window[i]) {
        txn.exec_params(
            "INSERT INTO discrepancies (provider_event_id, kind, detail) VALUES ($1,"
            " 'unknown_reference', $2)",
            s.row_id, "no transaction matches provider reference \"" + s.event.provider_ref + "\"");
        txn.exec_params("UPDATE provider_events SET outcome = 'discrepancy', next_retry_at = NULL,"
                        " processed_at = now() WHERE id = $1", s.row_id);
        engine::countWebhook(s.connector_id, "discrepancy");
        log::warn("unmatched provider event gave up", {{"connector", s.connector_id},
                                                        {"provider_event_id", s.event.event_id}});
      } else if (s.outcome == engine::EventOutcome::kUnmatched) {
        // why: back off so a never-matching event does not spin.
        txn.exec_params("UPDATE provider_events SET next_retry_at = now() + least("
                        " (now() - received_at) / 2, interval '60 seconds') WHERE id = $1",
                        s.row_id);
      } else {
        engine::countWebhook(s.connector_id, toString(s.outcome));
      }
    }
    txn.commit();
    return static_cast<int>(stored.size());
  });
}

bool Janitor::finishAbandoned(const std::string& id) {
  auto taken = pool_.run([&](pqxx::connection& conn) -> std::optional<store::TransactionRecord> {
    pqxx::work txn(conn);
    auto tx = store::findTransaction(txn, "", id, /*for_update=*/true);
    if (!tx || tx->status != TxStatus::kPending || !tx->attempts.empty()) return std::nullopt;
    if (tx->idempotency_key.empty()) {
      // why: without a key there is no lease to tell a live request from a dead one; only age.
      bool old_enough = txn.exec_params(
          "SELECT created_at <= now() - make_interval(secs => $2) FROM transactions WHERE id = $1",
          id, payments_.longestRequestS())[0][0].as<bool>();
      if (!old_enough) return std::nullopt;
    } else {
      auto key = txn.exec_params(
          "SELECT state = 'running' AND locked_until <= now() FROM idempotency_keys"
          " WHERE tenant_id = $1 AND key = $2 AND transaction_id = $3 FOR UPDATE",
          tx->tenant_id, tx->idempotency_key, tx->id);
      // why: a live lease means a client's retry is finishing it right now.
      if (!key.empty() && !key[0][0].as<bool>()) return std::nullopt;
      if (!key.empty()) {
        store::leaseIdempotencyKey(txn, tx->tenant_id, tx->idempotency_key,
                                   store::LeaseKeeper::kLeaseSeconds);
      }
    }
    txn.commit();
    return tx;
  });
  if (!taken) return false;
  payments_.complete(*taken);
  return true;
}

void Janitor::checkDueTransactions(Pass& pass) {
  // Claim due rows and push their next check out before calling anyone, so a crash or another
  // worker never re-checks the same row in the same slot.
  auto claimed = pool_.run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    auto rows = txn.exec_params(
        "WITH due AS (SELECT id FROM transactions"
        "   WHERE status IN ('pending', 'processing', 'requires_action', 'in_transit')"
        "   AND next_check_at <= now() ORDER BY next_check_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " UPDATE transactions t SET check_count = t.check_count + 1,"
        "   next_check_at = now() + make_interval(secs =>"
        "     ($1::int[])[least(t.check_count + 2, array_length($1::int[], 1))])"
        " FROM due WHERE t.id = due.id"
        " RETURNING t.id, t.kind, coalesce(t.connector_id, ''), coalesce(t.provider_ref, ''),"
        "   t.status = 'pending' AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.transaction_id = t.id)",
        scheduleArray(config_.janitor.schedule_s), kBatch);
    txn.commit();
    return rows;
  });
  for (const auto& row : claimed) {
    std::string id = row[0].as<std::string>();
    Kind kind = kindFromString(row[1].as<std::string>()).value_or(Kind::kCollect);
    std::string connector_id = row[2].as<std::string>();
    std::string provider_ref = row[3].as<std::string>();
    if (row[4].as<bool>()) {
      // Stored, but no provider call was ever recorded: its request's process died.
      ++pass.transactions_checked;
      bool finished = finishAbandoned(id);
      countCheck(connector_id, finished ? "completed" : "unchanged");
      if (finished) ++pass.transactions_changed;
      continue;
    }
    auto* connector = connectors_.find(connector_id);
    if (connector == nullptr || !connector->capabilities().can_fetch_status) {
      countCheck(connector_id, "unfetchable");
      log::warn("unsettled transaction needs an operator: its connector cannot fetch status",
                {{"transaction", id}, {"connector", connector_id}});
      continue;
    }
    ++pass.transactions_checked;
    auto result = connector->fetchStatus(kind, provider_ref, id, executor_);
    const auto* paid = std::get_if<connectors::ProviderPayment>(&result);
    if (paid == nullptr) {
      countCheck(connector_id, "error");
      log::warn("status fetch failed", {{"transaction", id}, {"connector", connector_id},
                                        {"code", std::get<connectors::ConnectorError>(result).code}});
      continue;
    }
    bool changed = pool_.run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      auto tx = store::findTransaction(txn, "", id, /*for_update=*/true);
      if (!tx) return false;
      if ((paid->amount_minor && *paid->amount_minor != tx->amount_minor) ||
          (!paid->currency.empty() && paid->currency != tx->currency)) {
        txn.exec_params("INSERT INTO discrepancies (transaction_id, kind, detail) VALUES ($1,"
                        " 'amount_mismatch', 'status fetch reports a different amount or currency')",
                        id);
        txn.commit();
        return false;
      }
      engine::StatusReport report;
      report.status = paid->status;
      report.provider_ref = paid->provider_ref;
      report.failure = paid->failure;
      report.redirect_url = paid->redirect_url;
      store::WriteSet writes;
      bool applied = engine::applyStatus(writes, *tx, report) == engine::Verdict::kApply;
      if (!writes.write(txn).empty()) throw std::runtime_error("a row-locked transaction changed");
      txn.commit();
        return applied;
    });
    countCheck(connector_id, changed ? "changed" : "unchanged");
    if (changed) ++pass.transactions_changed;
  }
}

}  // namespace paymux::worker
