// The migrations runner: order, idempotence, checksum refusal, file-name rules, and two
// `paymuxd migrate` processes racing on one empty database.
#include "services/store/migrations.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "services/common/crypto.h"
#include "tests/support/test_db.h"

extern char** environ;

namespace paymux::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// An EMPTY private database (TestDatabase applies the real migrations; these tests need none).
class EmptyDatabase {
 public:
  EmptyDatabase() {
    name_ = "paymux_m_" + crypto::hexEncode(crypto::randomBytes(6));
    pqxx::connection conn(TestDatabase::adminUrl());
    pqxx::nontransaction txn(conn);
    txn.exec("CREATE DATABASE " + txn.quote_name(name_));
    url_ = TestDatabase::withDatabase(TestDatabase::adminUrl(), name_);
  }
  ~EmptyDatabase() {
    try {
      pqxx::connection conn(TestDatabase::adminUrl());
      pqxx::nontransaction txn(conn);
      txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(name_) + " WITH (FORCE)");
    } catch (const std::exception&) {
      // why: a failed drop must not turn a passing test into a crash at exit.
    }
  }
  EmptyDatabase(const EmptyDatabase&) = delete;
  EmptyDatabase& operator=(const EmptyDatabase&) = delete;
  const std::string& url() const { return url_; }

 private:
  std::string name_, url_;
};

/// A temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("paymux-mig-" + crypto::hexEncode(crypto::randomBytes(6)));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream out(path_ / name, std::ios::binary | std::ios::trunc);
    out << content;
  }

 private:
  fs::path path_;
};

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string paymuxd() { return buildDir() + "/services/paymuxd/paymuxd"; }

/// A child process started with posix_spawn, stdout+stderr to `log`, killed if still running
/// when destroyed.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const fs::path& log) : log_(log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("posix_spawn " + argv[0] + " failed: " + std::strerror(rc));
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// Exit status, or -1 when it did not exit within `timeout` (then it is killed), -2 on a signal.
  int wait(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        ended_ = Clock::now();
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return -2;
      }
      if (Clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::string output() const { return readFile(log_); }
  Clock::time_point ended() const { return ended_; }

 private:
  pid_t pid_ = -1;
  fs::path log_;
  Clock::time_point ended_{};
};

/// Runs paymuxd with args to completion (bounded); returns the exit status and its output.
int runPaymuxd(const std::vector<std::string>& args, std::string* output, const TempDir& logs,
               const std::string& log_name) {
  std::vector<std::string> argv{paymuxd()};
  argv.insert(argv.end(), args.begin(), args.end());
  Child child(argv, logs.path() / log_name);
  int rc = child.wait(std::chrono::seconds(60));
  if (output) *output = child.output();
  return rc;
}

std::vector<std::pair<int, std::string>> appliedRows(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::read_transaction txn(conn);
  std::vector<std::pair<int, std::string>> out;
  for (const auto& row :
       txn.exec("SELECT version, name FROM schema_migrations ORDER BY applied_at, version")) {
    out.emplace_back(row[0].as<int>(), row[1].as<std::string>());
  }
  return out;
}

long scalar(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::read_transaction txn(conn);
  return txn.exec(sql)[0][0].as<long>();
}

void writeSample(const TempDir& dir) {
  dir.write("0001_a.sql", "CREATE TABLE a (id integer PRIMARY KEY);\n");
  dir.write("0002_b.sql",
            "CREATE TABLE b (id integer PRIMARY KEY, a_id integer REFERENCES a(id));\n");
  dir.write("0010_c.sql", "CREATE TABLE c (id integer PRIMARY KEY);\nINSERT INTO a VALUES (1);\n");
  dir.write("README.md", "not a migration: ignored\n");
}

TEST(Migrations, AppliesInVersionOrderOnceAndASecondRunAppliesNothing) {
  EmptyDatabase db;
  TempDir dir;
  writeSample(dir);
  auto files = store::readMigrations(dir.str());
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].version, 1);
  EXPECT_EQ(files[1].version, 2);
  EXPECT_EQ(files[2].version, 10);

  pqxx::connection conn(db.url());
  auto applied = store::applyMigrations(conn, files);
  EXPECT_EQ(applied, (std::vector<std::string>{"0001_a.sql", "0002_b.sql", "0010_c.sql"}));
  auto rows = appliedRows(db.url());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::pair<int, std::string>{1, "0001_a.sql"}));
  EXPECT_EQ(rows[1], (std::pair<int, std::string>{2, "0002_b.sql"}));
  EXPECT_EQ(rows[2], (std::pair<int, std::string>{10, "0010_c.sql"}));
  // Applied in order: b references a, c inserts into a.
  EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM a"), 1);
  EXPECT_EQ(scalar(db.url(),
                   "SELECT count(*) FROM pg_constraint WHERE conrelid = 'b'::regclass "
                   "AND contype = 'f'"),
            1);
  EXPECT_TRUE(store::migrationsCurrent(conn, files));

  // Again: nothing applied, nothing duplicated.
  EXPECT_TRUE(store::applyMigrations(conn, store::readMigrations(dir.str())).empty());
  EXPECT_EQ(appliedRows(db.url()).size(), 3u);
  EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM a"), 1);

  // A new file later is applied alone.
  dir.write("0011_d.sql", "CREATE TABLE d (id integer);\n");
  files = store::readMigrations(dir.str());
  EXPECT_FALSE(store::migrationsCurrent(conn, files));
  EXPECT_EQ(store::applyMigrations(conn, files), (std::vector<std::string>{"0011_d.sql"}));
  EXPECT_TRUE(store::migrationsCurrent(conn, files));
}

TEST(Migrations, FailingMigrationIsRolledBackAndNotRecorded) {
  EmptyDatabase db;
  TempDir dir;
  dir.write("0001_a.sql", "CREATE TABLE a (id integer PRIMARY KEY);\n");
  dir.write("0002_bad.sql", "CREATE TABLE half (id integer);\nSELECT no_such_function();\n");
  pqxx::connection conn(db.url());
  EXPECT_ANY_THROW(store::applyMigrations(conn, store::readMigrations(dir.str())));
  auto rows = appliedRows(db.url());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].first, 1);
  EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM pg_tables WHERE tablename = 'half'"), 0)
      << "a failed migration must leave nothing behind";
  // The advisory lock was released: another session can migrate now (lock_timeout keeps a
  // leaked lock from hanging the test).
  dir.write("0002_bad.sql", "CREATE TABLE half (id integer);\n");
  pqxx::connection other(db.url());
  {
    pqxx::nontransaction setup(other);
    setup.exec("SET lock_timeout = '5s'");
  }
  EXPECT_EQ(store::applyMigrations(other, store::readMigrations(dir.str())),
            (std::vector<std::string>{"0002_bad.sql"}));
}

TEST(Migrations, RefusesAChangedAppliedFileNamingIt) {
  EmptyDatabase db;
  TempDir dir, logs;
  writeSample(dir);
  {
    pqxx::connection conn(db.url());
    store::applyMigrations(conn, store::readMigrations(dir.str()));
  }
  dir.write("0002_b.sql",
            "CREATE TABLE b (id integer PRIMARY KEY, a_id integer REFERENCES a(id), x text);\n");
  dir.write("0011_d.sql", "CREATE TABLE d (id integer);\n");
  {
    pqxx::connection conn(db.url());
    try {
      store::applyMigrations(conn, store::readMigrations(dir.str()));
      ADD_FAILURE() << "a changed applied migration must be refused";
    } catch (const store::MigrationError& e) {
      EXPECT_NE(std::string(e.what()).find("0002_b.sql"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(store::migrationsCurrent(conn, store::readMigrations(dir.str())));
  }
  EXPECT_EQ(appliedRows(db.url()).size(), 3u) << "nothing may be applied after a refusal";
  EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM pg_tables WHERE tablename = 'd'"), 0);

  std::string out;
  int rc = runPaymuxd({"migrate", "--migrations", dir.str(), "--database-url", db.url()}, &out,
                      logs, "migrate-changed.log");
  EXPECT_NE(rc, 0) << out;
  EXPECT_GT(rc, -1) << "paymuxd migrate did not exit in time";
  EXPECT_NE(out.find("0002_b.sql"), std::string::npos) << out;
  EXPECT_EQ(appliedRows(db.url()).size(), 3u);

  // A deleted applied file is refused too.
  fs::remove(dir.path() / "0002_b.sql");
  pqxx::connection conn(db.url());
  try {
    store::applyMigrations(conn, store::readMigrations(dir.str()));
    ADD_FAILURE() << "a missing applied migration must be refused";
  } catch (const store::MigrationError& e) {
    EXPECT_NE(std::string(e.what()).find("0002_b.sql"), std::string::npos) << e.what();
  }
}

TEST(Migrations, BadFileNamesAndDuplicateVersionsAreRejected) {
  TempDir logs;
  for (const char* bad : {"1_short.sql", "0001-dash.sql", "0001_Upper.sql", "00001_five.sql",
                          "abcd_letters.sql", "0001_.sql", "0001_sp ace.sql"}) {
    TempDir dir;
    dir.write("0002_fine.sql", "SELECT 1;\n");
    dir.write(bad, "SELECT 1;\n");
    try {
      store::readMigrations(dir.str());
      ADD_FAILURE() << bad << " must be rejected";
    } catch (const store::MigrationError& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  {
    TempDir dir;
    dir.write("0001_a.sql", "SELECT 1;\n");
    dir.write("0001_b.sql", "SELECT 1;\n");
    EXPECT_THROW(store::readMigrations(dir.str()), store::MigrationError);
  }
  {
    TempDir dir;
    dir.write("0001_ok.sql", "SELECT 1;\n");
    dir.write("notes.txt", "ignored\n");
    dir.write("0002_draft.sql.bak", "ignored\n");
    EXPECT_EQ(store::readMigrations(dir.str()).size(), 1u);
  }
  EXPECT_THROW(store::readMigrations("/nonexistent/paymux/migrations"), store::MigrationError);

  // The CLI refuses before touching the database.
  EmptyDatabase db;
  TempDir dir;
  dir.write("0001_a.sql", "CREATE TABLE a (id integer);\n");
  dir.write("2_b.sql", "CREATE TABLE b (id integer);\n");
  std::string out;
  int rc = runPaymuxd({"migrate", "--migrations", dir.str(), "--database-url", db.url()}, &out,
                      logs, "migrate-badname.log");
  EXPECT_GT(rc, 0) << out;
  EXPECT_NE(out.find("2_b.sql"), std::string::npos) << out;
  EXPECT_EQ(scalar(db.url(),
                   "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', "
                   "'schema_migrations')"),
            0);
}

TEST(Migrations, TwoConcurrentMigratorProcessesApplyEachFileOnce) {
  ASSERT_TRUE(fs::exists(paymuxd())) << paymuxd() << " is not built";
  EmptyDatabase db;
  TempDir dir, logs;
  auto real = store::readMigrations(sourceDir() + "/migrations");
  ASSERT_FALSE(real.empty());
  for (const auto& f : real)
    fs::copy_file(sourceDir() + "/migrations/" + f.name, dir.path() / f.name);
  // why: a slow last migration keeps the first migrator inside the advisory lock long enough
  // that the second one surely starts while the first is still working.
  dir.write("9001_slow.sql", "SELECT pg_sleep(1.5);\nCREATE TABLE slow_marker (id integer);\n");
  auto files = store::readMigrations(dir.str());

  auto started = Clock::now();
  std::vector<std::string> args{paymuxd(), "migrate",        "--migrations",
                                dir.str(), "--database-url", db.url()};
  Child first(args, logs.path() / "migrate-1.log");
  Child second(args, logs.path() / "migrate-2.log");
  int rc1 = first.wait(std::chrono::seconds(60));
  int rc2 = second.wait(std::chrono::seconds(60));
  EXPECT_EQ(rc1, 0) << first.output();
  EXPECT_EQ(rc2, 0) << second.output();
  // Both were running during the slow migration: neither finished before it could have run.
  auto took1 = std::chrono::duration_cast<std::chrono::milliseconds>(first.ended() - started);
  auto took2 = std::chrono::duration_cast<std::chrono::milliseconds>(second.ended() - started);
  EXPECT_GE(took1.count(), 1400);
  EXPECT_GE(took2.count(), 1400);

  auto rows = appliedRows(db.url());
  ASSERT_EQ(rows.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(rows[i].first, files[i].version);
    EXPECT_EQ(rows[i].second, files[i].name);
  }
  EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM schema_migrations"),
            static_cast<long>(files.size()));
  EXPECT_EQ(scalar(db.url(), "SELECT count(DISTINCT version) FROM schema_migrations"),
            static_cast<long>(files.size()));
  // Every table of the real schema exists exactly once (and the marker of the slow file).
  for (const char* table : {"tenants", "api_keys", "transactions", "attempts", "idempotency_keys",
                            "events", "provider_events", "discrepancies", "slow_marker"}) {
    EXPECT_EQ(scalar(db.url(), std::string("SELECT count(*) FROM pg_tables WHERE schemaname = "
                                           "'public' AND tablename = '") +
                                   table + "'"),
              1)
        << table;
  }
  // One of them applied everything, the other nothing.
  std::string out1 = first.output(), out2 = second.output();
  std::string all = "\"applied_now\":\"" + std::to_string(files.size()) + "\"";
  bool one_did_all = (out1.find(all) != std::string::npos) != (out2.find(all) != std::string::npos);
  EXPECT_TRUE(one_did_all) << "first:\n" << out1 << "\nsecond:\n" << out2;
  pqxx::connection conn(db.url());
  EXPECT_TRUE(store::migrationsCurrent(conn, files));
}

}  // namespace
}  // namespace paymux::testing
