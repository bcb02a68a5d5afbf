#include "services/store/idempotency_repo.h"

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

void releaseIdempotencyKey(pqxx::work& txn, const std::string& tenant_id, const std::string& key) {
  txn.exec_params("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2", tenant_id, key);
}

}  // namespace paymux::store
