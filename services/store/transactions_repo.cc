#include "services/store/transactions_repo.h"

#include <stdexcept>

#include "services/common/json.h"
#include "services/common/rfc3339.h"
#include "services/store/prepared.h"

namespace paymux::store {
namespace {

constexpr const char* kColumns =
    "t.id, t.tenant_id, t.kind, t.status, t.amount_minor, t.currency, t.reference,"
    " coalesce(t.description, ''), coalesce(t.connector_id, ''), coalesce(t.provider_ref, ''),"
    " coalesce(t.failure_code, ''), coalesce(t.failure_message, ''),"
    " coalesce(t.next_action_url, ''), t.party::text, t.metadata::text, t.version,"
    " to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " to_char(t.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " (SELECT count(*) FROM provider_events pe WHERE pe.transaction_id = t.id),"
    " coalesce((SELECT to_char(max(pe.received_at) AT TIME ZONE 'UTC',"
    "   'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM provider_events pe WHERE pe.transaction_id = t.id), ''),"
    " coalesce(t.idempotency_key, ''),"
    // why the attempts ride along as JSON: reading a transaction is one query, also in lists.
    " (SELECT coalesce(json_agg(json_build_array(a.connector_id, a.outcome,"
    "   coalesce(a.error_code, ''), coalesce(a.http_status, 0), a.latency_ms)"
    "   ORDER BY a.id), '[]') FROM attempts a WHERE a.transaction_id = t.id)";

TransactionRecord fromRow(const pqxx::row& r) {
  TransactionRecord t;
  t.id = r[0].as<std::string>();
  t.tenant_id = r[1].as<std::string>();
  t.kind = kindFromString(r[2].as<std::string>()).value_or(Kind::kCollect);
  t.status = statusFromString(r[3].as<std::string>()).value_or(TxStatus::kProcessing);
  t.amount_minor = r[4].as<int64_t>();
  t.currency = r[5].as<std::string>();
  t.reference = r[6].as<std::string>();
  t.description = r[7].as<std::string>();
  t.connector_id = r[8].as<std::string>();
  t.provider_ref = r[9].as<std::string>();
  t.failure_code = r[10].as<std::string>();
  t.failure_message = r[11].as<std::string>();
  t.next_action_url = r[12].as<std::string>();
  t.party_json = r[13].as<std::string>();
  t.metadata_json = r[14].as<std::string>();
  t.version = r[15].as<int>();
  t.created_at = r[16].as<std::string>();
  t.updated_at = r[17].as<std::string>();
  t.provider_event_count = r[18].as<long>();
  t.last_provider_event_at = r[19].as<std::string>();
  t.idempotency_key = r[20].as<std::string>();
  rapidjson::Document attempts;
  attempts.Parse(r[21].c_str());
  if (!attempts.IsArray()) throw std::runtime_error("unreadable attempts of " + t.id);
  for (const auto& a : attempts.GetArray()) {
    t.attempts.push_back({a[0].GetString(), a[1].GetString(), a[2].GetString(), a[3].GetInt(),
                          a[4].GetInt()});
  }
  return t;
}

std::optional<std::string> nullIfEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

std::optional<TransactionRecord> findOne(pqxx::transaction_base& txn, const std::string& where,
                                         const std::string& a, const std::string& b,
                                         bool for_update) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM transactions t WHERE " + where +
                    (for_update ? " FOR UPDATE OF t" : "");
  auto rows = txn.exec_params(sql, a, b);
  if (rows.empty()) return std::nullopt;
  return fromRow(rows[0]);
}

}  // namespace

void insertTransaction(pqxx::work& txn, const TransactionRecord& t,
                       std::chrono::system_clock::time_point created_at) {
  txn.exec_params(
      "INSERT INTO transactions (id, tenant_id, kind, status, amount_minor, currency, reference,"
      " description, connector_id, provider_ref, party, metadata, next_check_at, created_at,"
      " updated_at, idempotency_key)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb,"
      "   now() + make_interval(secs => $13), $14, $14, $15)",
      t.id, t.tenant_id, std::string(toString(t.kind)), std::string(toString(t.status)),
      t.amount_minor, t.currency, t.reference, nullIfEmpty(t.description),
      nullIfEmpty(t.connector_id), nullIfEmpty(t.provider_ref), t.party_json, t.metadata_json,
      t.first_check_after_s, formatRfc3339(created_at, /*microseconds=*/true),
      nullIfEmpty(t.idempotency_key));
}

std::optional<TransactionRecord> findTransaction(pqxx::transaction_base& txn,
                                                 const std::string& tenant_id,
                                                 const std::string& id, bool for_update) {
  return findOne(txn, "t.id = $1 AND ($2 = '' OR t.tenant_id = $2)", id, tenant_id, for_update);
}

std::vector<TransactionRecord> lockTransactions(pqxx::work& txn, const std::vector<ProviderRef>& refs,
                                                const std::vector<std::string>& ids) {
  std::vector<TransactionRecord> out;
  if (refs.empty() && ids.empty()) return out;
  rapidjson::StringBuffer refs_json;
  {
    json::Writer w(refs_json);
    w.StartArray();
    for (const auto& r : refs) {
      w.StartObject();
      json::kv(w, "connector_id", r.connector_id);
      json::kv(w, "provider_ref", r.provider_ref);
      w.EndObject();
    }
    w.EndArray();
  }
  rapidjson::StringBuffer ids_json;
  {
    json::Writer w(ids_json);
    w.StartArray();
    for (const auto& id : ids) json::str(w, id);
    w.EndArray();
  }
  static const std::string sql = std::string("SELECT ") + kColumns +
                    " FROM transactions t WHERE t.id IN ("
                    "   SELECT m.id FROM transactions m JOIN json_to_recordset($1::json)"
                    "     AS r(connector_id text, provider_ref text)"
                    "     ON m.connector_id = r.connector_id AND m.provider_ref = r.provider_ref"
                    "   UNION SELECT value FROM json_array_elements_text($2::json))"
                    " ORDER BY t.id FOR UPDATE OF t";
  for (const auto& row : execPrepared(txn, "lock_transactions_with_attempts", sql,
                                      std::string(refs_json.GetString(), refs_json.GetSize()),
                                      std::string(ids_json.GetString(), ids_json.GetSize()))) {
    out.push_back(fromRow(row));
  }
  return out;
}

std::optional<std::vector<TransactionRecord>> listTransactions(pqxx::transaction_base& txn,
                                                               const std::string& tenant_id,
                                                               const ListFilter& f,
                                                               bool* has_more) {
  std::string kind(toString(f.kind));
  if (!f.starting_after.empty()) {
    auto cursor = txn.exec_params(
        "SELECT 1 FROM transactions WHERE id = $1 AND tenant_id = $2 AND kind = $3",
        f.starting_after, tenant_id, kind);
    if (cursor.empty()) return std::nullopt;
  }
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM transactions t WHERE t.tenant_id = $1 AND t.kind = $2"
                    " AND ($3 = '' OR t.status = $3) AND ($4 = '' OR t.reference = $4)"
                    " AND ($5 = '' OR (t.created_at, t.id) <"
                    "   (SELECT c.created_at, c.id FROM transactions c WHERE c.id = $5))"
                    " ORDER BY t.created_at DESC, t.id DESC LIMIT $6";
  auto rows = txn.exec_params(sql, tenant_id, kind, f.status, f.reference, f.starting_after,
                              f.limit + 1);
  std::vector<TransactionRecord> out;
  for (const auto& r : rows) {
    if (static_cast<int>(out.size()) == f.limit) break;
    out.push_back(fromRow(r));
  }
  *has_more = static_cast<int>(rows.size()) > f.limit;
  return out;
}

}  // namespace paymux::store
