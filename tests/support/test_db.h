#pragma once
#include <string>

namespace paymux::testing {

/// A private database for one test binary or fixture: created from PAYMUX_TEST_DATABASE_URL
/// (the admin URL scripts/test exports), migrated, and dropped again on destruction, so test
/// binaries run in parallel and leave nothing behind.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  /// The admin URL (database "postgres") of the same cluster.
  static std::string adminUrl();
  /// Replaces the database name of a libpq URL.
  static std::string withDatabase(const std::string& url, const std::string& database);

 private:
  std::string name_;
  std::string url_;
};

std::string sourceDir();
std::string buildDir();
/// Runs `scripts/pg <command>` (restart, stop, start); returns its exit status.
int pgScript(const std::string& command);

}  // namespace paymux::testing
