#include "services/store/idempotency_repo.h"
#include "services/store/prepared.h"

#include <set>

#include "services/common/json.h"
#include "services/common/rfc3339.h"

namespace paymux::store {

IdempotencyClaim claimIdempotencyKey(pqxx::work& txn, const std::string& tenant_id,
                                     const std::string& key, const std::string& request_hash,
                                     const std::string& transaction_id, int lease_s) {
  // why: ON CONFLICT makes two concurrent first requests serialise on the primary key; the
  // loser waits for the winner's commit and then sees its row.
  auto inserted = txn.exec_params(
      "INSERT INTO idempotency_keys (tenant_id, key, request_hash, state, locked_until,"
      " transaction_id) VALUES ($1, $2, $3, 'running', now() + make_interval(secs => $4), $5)"
      " ON CONFLICT (tenant_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
      "   state = 'running', locked_until = EXCLUDED.locked_until, response_status = NULL,"
      "   response_body = NULL, transaction_id = EXCLUDED.transaction_id, created_at = now(),"
      "   expires_at = now() + interval '24 hours'"
      " WHERE idempotency_keys.expires_at < now()"
      " RETURNING 1",
      tenant_id, key, request_hash, lease_s, transaction_id);
  if (!inserted.empty()) return {IdempotencyState::kAcquired, 0, "", ""};
  auto row = txn.exec_params(
      "SELECT request_hash, state, coalesce(response_status, 0), coalesce(response_body, ''),"
      " coalesce(transaction_id, ''), locked_until < now()"
      " FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 FOR UPDATE",
      tenant_id, key)[0];
  IdempotencyClaim claim;
  claim.response_status = row[2].as<int>();
  claim.response_body = row[3].as<std::string>();
  claim.transaction_id = row[4].as<std::string>();
  if (row[0].as<std::string>() != request_hash) {
    claim.state = IdempotencyState::kMismatch;
  } else if (row[1].as<std::string>() == "done") {
    claim.state = IdempotencyState::kReplay;
  } else if (!row[5].is_null() && row[5].as<bool>()) {
    claim.state = IdempotencyState::kAbandoned;
  } else {
    claim.state = IdempotencyState::kInProgress;
  }
  return claim;
}

void completeIdempotencyKey(pqxx::work& txn, const std::string& tenant_id, const std::string& key,
                            int status, const std::string& body) {
  txn.exec_params(
      "UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4,"
      " locked_until = NULL WHERE tenant_id = $1 AND key = $2",
      tenant_id, key, status, body);
}

std::vector<bool> claimAndInsertTransactions(pqxx::transaction_base& txn,
                                             const std::vector<NewClaimedTransaction>& entries,
                                             int lease_s) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartArray();
  int ord = 0;
  for (const auto& e : entries) {
    const auto& t = *e.tx;
    w.StartObject();
    json::kvInt(w, "ord", ord++);
    json::kvNullable(w, "key", e.key);
    json::kv(w, "request_hash", e.request_hash);
    json::kv(w, "id", t.id);
    json::kv(w, "tenant_id", t.tenant_id);
    json::kv(w, "kind", toString(t.kind));
    json::kv(w, "status", toString(t.status));
    json::kvInt(w, "amount_minor", t.amount_minor);
    json::kv(w, "currency", t.currency);
    json::kv(w, "reference", t.reference);
    json::kvNullable(w, "description", t.description);
    json::kvNullable(w, "connector_id", t.connector_id);
    json::kv(w, "party", t.party_json);
    json::kv(w, "metadata", t.metadata_json);
    json::kvInt(w, "first_check_s", t.first_check_after_s);
    json::kv(w, "created_at", formatRfc3339(e.created_at, /*microseconds=*/true));
    w.EndObject();
  }
  w.EndArray();
  // why: as in claimIdempotencyKey, a key's first claim or an expired one wins; a key held by
  // a live request is left alone and its transaction not inserted. Keys are claimed in key
  // order so two batches never wait on each other's keys in opposite orders.
  auto rows = execPrepared(txn, "claim_and_insert_transactions",
      "WITH input AS (SELECT * FROM json_to_recordset($1::json) AS x(ord int, key text,"
      "   request_hash text, id text, tenant_id text, kind text, status text,"
      "   amount_minor bigint, currency text, reference text, description text,"
      "   connector_id text, party text, metadata text, first_check_s int,"
      "   created_at timestamptz)),"
      " claimed AS (INSERT INTO idempotency_keys (tenant_id, key, request_hash, state,"
      "     locked_until, transaction_id)"
      "   SELECT tenant_id, key, request_hash, 'running', now() + make_interval(secs => $2), id"
      "   FROM input WHERE key IS NOT NULL ORDER BY tenant_id, key"
      "   ON CONFLICT (tenant_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
      "     state = 'running', locked_until = EXCLUDED.locked_until, response_status = NULL,"
      "     response_body = NULL, transaction_id = EXCLUDED.transaction_id, created_at = now(),"
      "     expires_at = now() + interval '24 hours'"
      "   WHERE idempotency_keys.expires_at < now()"
      "   RETURNING transaction_id),"
      " stored AS (INSERT INTO transactions (id, tenant_id, kind, status, amount_minor, currency,"
      "     reference, description, connector_id, party, metadata, next_check_at, created_at,"
      "     updated_at, idempotency_key)"
      "   SELECT id, tenant_id, kind, status, amount_minor, currency, reference, description,"
      "     connector_id, party::jsonb, metadata::jsonb,"
      "     now() + make_interval(secs => first_check_s), created_at, created_at, key"
      "   FROM input WHERE key IS NULL OR id IN (SELECT transaction_id FROM claimed)"
      "   ORDER BY ord RETURNING id)"
      " SELECT id FROM stored",
      std::string(sb.GetString(), sb.GetSize()), lease_s);
  std::set<std::string> stored;
  for (const auto& r : rows) stored.insert(r[0].as<std::string>());
  std::vector<bool> out;
  for (const auto& e : entries) out.push_back(stored.count(e.tx->id) > 0);
  return out;
}

std::optional<std::pair<int, std::string>> storedResponse(pqxx::transaction_base& txn,
                                                          const std::string& tenant_id,
                                                          const std::string& key,
                                                          const std::string& transaction_id) {
  auto rows = txn.exec_params(
      "SELECT response_status, response_body FROM idempotency_keys WHERE tenant_id = $1"
      " AND key = $2 AND transaction_id = $3 AND state = 'done'",
      tenant_id, key, transaction_id);
  if (rows.empty()) return std::nullopt;
  return std::make_pair(rows[0][0].as<int>(), rows[0][1].as<std::string>());
}

void leaseIdempotencyKey(pqxx::transaction_base& txn, const std::string& tenant_id,
                         const std::string& key, int lease_s) {
  txn.exec_params(
      "UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $3)"
      " WHERE tenant_id = $1 AND key = $2",
      tenant_id, key, lease_s);
}

void releaseIdempotencyKey(pqxx::work& txn, const std::string& tenant_id, const std::string& key) {
  txn.exec_params("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2", tenant_id, key);
}

}  // namespace paymux::store
