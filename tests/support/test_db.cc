#include "tests/support/test_db.h"

#include <cstdlib>
#include <pqxx/pqxx>
#include <stdexcept>

#include "services/common/crypto.h"
#include "services/store/migrations.h"

namespace paymux::testing {

std::string TestDatabase::adminUrl() {
  const char* url = std::getenv("PAYMUX_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    throw std::runtime_error(
        "PAYMUX_TEST_DATABASE_URL is not set: run tests through scripts/test (it starts the "
        "private PostgreSQL cluster)");
  }
  return url;
}

std::string TestDatabase::withDatabase(const std::string& url, const std::string& database) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  auto query = url.find('?');
  std::string base = slash == std::string::npos ? url : url.substr(0, slash);
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + database + rest;
}

TestDatabase::TestDatabase() {
  name_ = "paymux_t_" + crypto::hexEncode(crypto::randomBytes(6));
  std::string admin = adminUrl();
  {
    pqxx::connection conn(admin);
    pqxx::nontransaction txn(conn);
    txn.exec("CREATE DATABASE " + txn.quote_name(name_));
  }
  url_ = withDatabase(admin, name_);
  pqxx::connection conn(url_);
  store::applyMigrations(conn, store::readMigrations(sourceDir() + "/migrations"));
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection conn(adminUrl());
    pqxx::nontransaction txn(conn);
    txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
    // why: a failed drop must not turn a passing test into a crash at exit.
  }
}

std::string sourceDir() {
  const char* dir = std::getenv("PAYMUX_SOURCE_DIR");
  return dir && *dir ? dir : PAYMUX_TEST_SOURCE_DIR;
}

std::string buildDir() {
  const char* dir = std::getenv("PAYMUX_BUILD_DIR");
  return dir && *dir ? dir : PAYMUX_TEST_BUILD_DIR;
}

int pgScript(const std::string& command) {
  const char* script = std::getenv("PAYMUX_PG_SCRIPT");
  std::string path = script && *script ? script : sourceDir() + "/scripts/pg";
  int rc = std::system((path + " " + command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace paymux::testing
