#pragma once
#include <optional>
#include <pqxx/pqxx>
#include <string>

namespace paymux::store {

struct NewApiKey {
  std::string id;   // key_..., for revocation and listings
  std::string key;  // pmx_test_..., shown once, never stored
};

std::string createTenant(pqxx::work& txn, const std::string& name);
bool tenantExists(pqxx::transaction_base& txn, const std::string& tenant_id);
/// mode is "test" or "live". Stores only SHA-256 of the key and a lookup prefix.
NewApiKey createApiKey(pqxx::work& txn, const std::string& tenant_id, const std::string& mode);
/// True when an active key was revoked.
bool revokeApiKey(pqxx::work& txn, const std::string& key_id);
/// The tenant owning an active key, compared in constant time; nullopt when unknown/revoked.
std::optional<std::string> authenticate(pqxx::transaction_base& txn, const std::string& key);

}  // namespace paymux::store
