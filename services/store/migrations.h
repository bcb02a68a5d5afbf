#pragma once
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

namespace paymux::store {

struct MigrationFile {
  int version = 0;
  std::string name;      // file name, e.g. 0001_init.sql
  std::string sql;
  std::string checksum;  // SHA-256 hex of the file
};

class MigrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads migrations/NNNN_name.sql in version order; rejects duplicate versions and bad names.
std::vector<MigrationFile> readMigrations(const std::string& dir);

/// Applies pending migrations in order, each in its own transaction, under an advisory lock so
/// concurrent migrators are safe. Refuses (MigrationError) when an applied file has changed or an
/// applied version is missing from the directory. Returns the names applied by this call.
std::vector<std::string> applyMigrations(pqxx::connection& conn,
                                         const std::vector<MigrationFile>& files);

/// True when every file is applied with a matching checksum (for /readyz); migrations applied
/// by a newer release (rolling upgrade) do not make an older binary unready.
bool migrationsCurrent(pqxx::connection& conn, const std::vector<MigrationFile>& files);

}  // namespace paymux::store
