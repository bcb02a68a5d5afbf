#include "services/store/tenants_repo.h"

#include "services/store/prepared.h"

#include "services/common/crypto.h"

namespace paymux::store {
namespace {
// "pmx_test_" + 7 random characters: enough to find the row, too little to guess the key.
constexpr size_t kPrefixLength = 16;
constexpr size_t kKeyRandomLength = 32;
}  // namespace

std::string createTenant(pqxx::work& txn, const std::string& name) {
  std::string id = crypto::randomId("ten", 16);
  txn.exec_params("INSERT INTO tenants (id, name) VALUES ($1, $2)", id, name);
  return id;
}

bool tenantExists(pqxx::transaction_base& txn, const std::string& tenant_id) {
  return !txn.exec_params("SELECT 1 FROM tenants WHERE id = $1", tenant_id).empty();
}

NewApiKey createApiKey(pqxx::work& txn, const std::string& tenant_id, const std::string& mode) {
  NewApiKey out;
  out.id = crypto::randomId("key", 16);
  out.key = "pmx_" + mode + "_" + crypto::randomToken(kKeyRandomLength);
  pqxx::binarystring hash(crypto::sha256(out.key));
  txn.exec_params(
      "INSERT INTO api_keys (id, tenant_id, prefix, key_hash, mode) VALUES ($1, $2, $3, $4, $5)",
      out.id, tenant_id, out.key.substr(0, kPrefixLength), hash, mode);
  return out;
}

bool revokeApiKey(pqxx::work& txn, const std::string& key_id) {
  auto r = txn.exec_params(
      "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id);
  return r.affected_rows() == 1;
}

std::optional<std::string> authenticate(pqxx::transaction_base& txn, const std::string& key) {
  if (key.size() < kPrefixLength || key.size() > 128) return std::nullopt;
  std::string hash = crypto::sha256(key);
  auto rows = execPrepared(txn, "authenticate",
      "SELECT tenant_id, key_hash FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL",
      key.substr(0, kPrefixLength));
  for (const auto& row : rows) {
    pqxx::binarystring stored(row[1]);
    if (crypto::constantTimeEquals(hash, stored.str())) return row[0].as<std::string>();
  }
  return std::nullopt;
}

}  // namespace paymux::store
