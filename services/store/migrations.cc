#include "services/store/migrations.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "services/common/crypto.h"

namespace paymux::store {
namespace {
// why: a fixed key shared by every paymux migrator ("paymux" in ASCII).
constexpr long long kAdvisoryLockKey = 0x7061796d7578;

void ensureTable(pqxx::connection& conn) {
  pqxx::work txn(conn);
  txn.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  txn.commit();
}

std::map<int, std::pair<std::string, std::string>> applied(pqxx::connection& conn) {
  pqxx::read_transaction txn(conn);
  std::map<int, std::pair<std::string, std::string>> out;
  for (const auto& row : txn.exec("SELECT version, name, checksum FROM schema_migrations")) {
    out[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  return out;
}

void checkApplied(const std::map<int, std::pair<std::string, std::string>>& done,
                  const std::vector<MigrationFile>& files) {
  for (const auto& [version, entry] : done) {
    auto it = std::find_if(files.begin(), files.end(),
                           [&](const MigrationFile& f) { return f.version == version; });
    if (it == files.end()) {
      throw MigrationError("applied migration " + entry.first + " is missing from the directory");
    }
    if (it->checksum != entry.second) {
      throw MigrationError("applied migration " + entry.first +
                           " has changed since it was applied (checksum mismatch); "
                           "add a new migration instead of editing an applied one");
    }
  }
}
}  // namespace

std::vector<MigrationFile> readMigrations(const std::string& dir) {
  static const std::regex kName(R"(^(\d{4})_[a-z0-9_]+\.sql$)");
  std::vector<MigrationFile> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    std::smatch m;
    if (!std::regex_match(name, m, kName)) {
      throw MigrationError("bad migration file name " + name + " (want NNNN_name.sql)");
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    MigrationFile f{std::stoi(m[1].str()), name, ss.str(), ""};
    f.checksum = crypto::sha256Hex(f.sql);
    files.push_back(std::move(f));
  }
  if (ec) throw MigrationError("cannot read migrations directory " + dir);
  std::sort(files.begin(), files.end(),
            [](const MigrationFile& a, const MigrationFile& b) { return a.version < b.version; });
  for (size_t i = 1; i < files.size(); ++i) {
    if (files[i].version == files[i - 1].version) {
      throw MigrationError("two migrations share version " + std::to_string(files[i].version));
    }
  }
  return files;
}

std::vector<std::string> applyMigrations(pqxx::connection& conn,
                                         const std::vector<MigrationFile>& files) {
  {
    pqxx::nontransaction lock(conn);
    lock.exec_params("SELECT pg_advisory_lock($1)", kAdvisoryLockKey);
  }
  std::vector<std::string> done_now;
  try {
    ensureTable(conn);
    auto done = applied(conn);
    checkApplied(done, files);
    for (const auto& f : files) {
      if (done.count(f.version)) continue;
      pqxx::work txn(conn);
      txn.exec(f.sql);
      txn.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                      f.version, f.name, f.checksum);
      txn.commit();
      done_now.push_back(f.name);
    }
  } catch (...) {
    pqxx::nontransaction unlock(conn);
    unlock.exec_params("SELECT pg_advisory_unlock($1)", kAdvisoryLockKey);
    throw;
  }
  pqxx::nontransaction unlock(conn);
  unlock.exec_params("SELECT pg_advisory_unlock($1)", kAdvisoryLockKey);
  return done_now;
}

bool migrationsCurrent(pqxx::connection& conn, const std::vector<MigrationFile>& files) {
  pqxx::read_transaction txn(conn);
  auto exists = txn.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>();
  if (!exists) return false;
  std::map<int, std::string> sums;
  for (const auto& row : txn.exec("SELECT version, checksum FROM schema_migrations")) {
    sums[row[0].as<int>()] = row[1].as<std::string>();
  }
  // why: a database migrated ahead of this binary (rolling upgrade) is still usable by it;
  // only a missing or changed migration of ours makes us unready.
  for (const auto& f : files) {
    auto it = sums.find(f.version);
    if (it == sums.end() || it->second != f.checksum) return false;
  }
  return true;
}

}  // namespace paymux::store
