#pragma once
#include <pqxx/pqxx>
#include <string>
#include <utility>

namespace paymux::store {

/// Runs `sql` as the prepared statement `name` on the transaction's connection; the first use
/// on a connection prepares it (libpqxx registers it with the server on first execution).
// why: parsing and planning the batch statements cost PostgreSQL more than running them;
// a pooled connection lives long, so each statement is planned once per connection.
template <typename... Args>
pqxx::result execPrepared(pqxx::transaction_base& txn, const char* name, const std::string& sql,
                          Args&&... args) {
  txn.conn().prepare(name, sql);  // a no-op once defined with the same text
  return txn.exec_prepared(name, std::forward<Args>(args)...);
}

}  // namespace paymux::store
