#include "services/common/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace paymux::config {
namespace {

// Sets (or unsets) an environment variable for one test and restores the old value.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const char* value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value != nullptr) {
      ::setenv(name_.c_str(), value, 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

Config load(const std::string& yaml) { return loadConfigFromString(yaml, "test.yaml"); }

std::string errorOf(const std::string& yaml) {
  try {
    load(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

// A file under the test temp dir, removed at the end of the test.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& contents)
      : path_(::testing::TempDir() + "paymux_config_test_" + std::to_string(::getpid()) + "_" +
              name) {
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr std::string_view kDb = "database: { url: postgres://db }\n";
constexpr std::string_view kOneConnector =
    "database: { url: a }\n"
    "connectors:\n"
    "  - { id: a, type: sandbox, base_url: \"http://x\" }\n"
    "routing:\n";

TEST(ConfigTest, MinimalConfigGetsDefaults) {
  const Config c = load(std::string(kDb));
  EXPECT_EQ(c.file, "test.yaml");
  EXPECT_EQ(c.database.url.reveal(), "postgres://db");
  EXPECT_EQ(c.database.pool, 16);
  EXPECT_EQ(c.server.listen, "0.0.0.0:8080");
  EXPECT_EQ(c.server.threads, 2);
  EXPECT_EQ(c.server.max_body_bytes, 65536);
  EXPECT_TRUE(c.connectors.empty());
  EXPECT_TRUE(c.routing.empty());
  EXPECT_EQ(c.delivery.retry_schedule_s,
            (std::vector<int>{0, 5, 300, 1800, 7200, 18000, 36000, 36000}));
  EXPECT_EQ(c.delivery.lease_s, 60);
  EXPECT_TRUE(c.delivery.encryption_key.empty());
  EXPECT_FALSE(c.delivery.allow_private_networks);
  EXPECT_EQ(c.janitor.schedule_s, (std::vector<int>{300, 3600, 86400}));
  EXPECT_EQ(c.log.level, "info");
}

TEST(ConfigTest, EmptySectionsKeepTheirDefaults) {
  const Config c = load(std::string(kDb) + "server:\nconnectors:\nrouting:\nlog: ~\n");
  EXPECT_EQ(c.server.workers, 64);
  EXPECT_TRUE(c.connectors.empty());
  EXPECT_EQ(c.log.level, "info");
}

TEST(ConfigTest, FullConfigIsParsed) {
  const Config c = load(R"(
server: { listen: "127.0.0.1:9000", threads: 4, workers: 8, queue: 100, max_body_bytes: 1024,
          header_timeout_ms: 1, body_timeout_ms: 2, shutdown_grace_ms: 0,
          api_key_cache_s: 5 }
database: { url: "postgres://db", pool: 3, acquire_timeout_ms: 50 }
connectors:
  - id: sandbox-a
    type: sandbox
    base_url: "https://a.example"
    credentials: { api_key: k1, other: k2 }
    settings: { merchant_account: "X", region: 12 }
    webhook: { secret: s1, public_key: pk, tolerance_s: 60 }
    supports: { kinds: [payout, collect], currencies: [EUR, GBP], methods: [card, bank_account] }
    timeout_ms: 500
  - { id: sandbox-b, type: sandbox, base_url: "http://b" }
routing:
  - when: { kind: collect, currency: [EUR, GBP], country: DE, method: card,
            amount: { min: 1, max: 100000 } }
    try: [sandbox-b, sandbox-a]
  - when: { kind: payout, currency: USD, country: [DE, FR] }
    split: { sandbox-b: 30, sandbox-a: 70 }
  - try: [sandbox-b]
delivery: { retry_schedule_s: [0, 5], timeout_ms: 1000, concurrency: 2, per_subscription: 1,
            disable_after_s: 10, lease_s: 2, allow_hosts: [hooks.example, 10.0.0.0/8],
            encryption_key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            allow_private_networks: true }
janitor: { schedule_s: [1, 2], interval_ms: 5, unmatched_window_s: 7 }
log: { level: debug }
)");
  EXPECT_EQ(c.server.listen, "127.0.0.1:9000");
  EXPECT_EQ(c.server.threads, 4);
  EXPECT_EQ(c.server.shutdown_grace_ms, 0);
  EXPECT_EQ(c.server.api_key_cache_s, 5);
  EXPECT_EQ(c.database.pool, 3);
  ASSERT_EQ(c.connectors.size(), 2U);
  const ConnectorConfig& a = c.connectors[0];
  EXPECT_EQ(a.base_url, "https://a.example");
  EXPECT_EQ(a.credentials.at("other").reveal(), "k2");
  EXPECT_EQ(a.settings.at("region"), "12");
  EXPECT_EQ(a.webhook.public_key.reveal(), "pk");
  EXPECT_EQ(a.webhook.tolerance_s, 60);
  EXPECT_EQ(a.kinds, (std::vector<std::string>{"payout", "collect"}));
  EXPECT_EQ(a.currencies, (std::vector<std::string>{"EUR", "GBP"}));
  EXPECT_EQ(a.methods, (std::vector<std::string>{"card", "bank_account"}));
  EXPECT_EQ(a.timeout_ms, 500);
  EXPECT_EQ(c.connectors[1].kinds, (std::vector<std::string>{"collect", "payout"}));
  EXPECT_TRUE(c.connectors[1].currencies.empty());
  ASSERT_EQ(c.routing.size(), 3U);
  EXPECT_EQ(c.routing[0].when.kind, "collect");
  EXPECT_EQ(c.routing[0].when.countries, (std::vector<std::string>{"DE"}));
  EXPECT_EQ(c.routing[0].when.methods, (std::vector<std::string>{"card"}));
  EXPECT_EQ(c.routing[0].when.min_amount, 1);
  EXPECT_EQ(c.routing[0].when.max_amount, 100000);
  EXPECT_EQ(c.routing[0].try_order, (std::vector<std::string>{"sandbox-b", "sandbox-a"}));
  EXPECT_TRUE(c.routing[0].split.empty());
  EXPECT_EQ(c.routing[1].when.currencies, (std::vector<std::string>{"USD"}));
  EXPECT_EQ(c.routing[1].when.countries, (std::vector<std::string>{"DE", "FR"}));
  using Split = std::vector<std::pair<std::string, int>>;
  EXPECT_EQ(c.routing[1].split, (Split{{"sandbox-b", 30}, {"sandbox-a", 70}}));  // file order
  EXPECT_FALSE(c.routing[2].when.kind.has_value());
  EXPECT_EQ(c.delivery.retry_schedule_s, (std::vector<int>{0, 5}));
  EXPECT_EQ(c.delivery.allow_hosts, (std::vector<std::string>{"hooks.example", "10.0.0.0/8"}));
  EXPECT_TRUE(c.delivery.allow_private_networks);
  EXPECT_EQ(c.janitor.unmatched_window_s, 7);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.findConnector("sandbox-b"), &c.connectors[1]);
  EXPECT_EQ(c.findConnector("nope"), nullptr);
}

// --- rejections: each asserts the exact message, position included ---

TEST(ConfigTest, UnknownKeyIsRejectedWithItsPosition) {
  EXPECT_EQ(errorOf(std::string(kDb) + "server:\n  threads: 2\n  thraeds: 3\n"),
            "test.yaml:4:3: server.thraeds: unknown key");
}

TEST(ConfigTest, UnknownTopLevelKeyIsRejected) {
  EXPECT_EQ(errorOf(std::string(kDb) + "sevrer: {}\n"), "test.yaml:2:1: sevrer: unknown key");
}

TEST(ConfigTest, UnknownKeyInNestedConnectorMappingHasFullPath) {
  EXPECT_EQ(errorOf("database: { url: a }\n"
                    "connectors:\n"
                    "  - { id: a, type: sandbox, base_url: \"http://x\" }\n"
                    "  - id: b\n"
                    "    type: sandbox\n"
                    "    base_url: http://y\n"
                    "    webhook: { secrt: x }\n"),
            "test.yaml:7:16: connectors[1].webhook.secrt: unknown key");
}

TEST(ConfigTest, DuplicateKeyIsRejectedAtTheSecondOccurrence) {
  EXPECT_EQ(errorOf("database: { url: a, url: b }\n"),
            "test.yaml:1:21: database.url: duplicate key");
}

TEST(ConfigTest, NonIntegerIsRejected) {
  EXPECT_EQ(errorOf(std::string(kDb) + "server: { threads: many }\n"),
            "test.yaml:2:20: server.threads: expected integer");
}

TEST(ConfigTest, NonStringIsRejected) {
  EXPECT_EQ(errorOf("database: { url: [a] }\n"), "test.yaml:1:18: database.url: expected string");
}

TEST(ConfigTest, NonListIsRejected) {
  EXPECT_EQ(errorOf(std::string(kDb) + "connectors: { id: x }\n"),
            "test.yaml:2:13: connectors: expected a list");
}

TEST(ConfigTest, NonMappingIsRejected) {
  EXPECT_EQ(errorOf(std::string(kDb) + "server: 8080\n"),
            "test.yaml:2:9: server: expected a mapping");
}

TEST(ConfigTest, NonMappingDocumentIsRejected) {
  EXPECT_EQ(errorOf("- a\n"), "test.yaml:1:1: : expected a mapping");
}

TEST(ConfigTest, NonBooleanIsRejected) {
  EXPECT_EQ(errorOf(std::string(kDb) + "delivery: { allow_private_networks: maybe }\n"),
            "test.yaml:2:37: delivery.allow_private_networks: expected boolean");
}

TEST(ConfigTest, OutOfRangeIntegerIsRejectedWithTheRange) {
  EXPECT_EQ(errorOf(std::string(kDb) + "server: { threads: 65 }\n"),
            "test.yaml:2:20: server.threads: must be between 1 and 64");
  EXPECT_EQ(errorOf(std::string(kDb) + "server: { threads: 99999999999999999999 }\n"),
            "test.yaml:2:20: server.threads: must be between 1 and 64");
}

TEST(ConfigTest, MissingRequiredKeyIsReportedAtTheMappingThatLacksIt) {
  EXPECT_EQ(errorOf("database: { pool: 4 }\n"), "test.yaml:1:11: database.url: required");
  EXPECT_EQ(errorOf("log: { level: info }\n"), "test.yaml:1:1: database: required");
  EXPECT_EQ(errorOf(""), "test.yaml:1:1: database: required");
  EXPECT_EQ(errorOf("database: { url: a }\n"
                    "connectors:\n"
                    "  - id: a\n"
                    "    type: sandbox\n"),
            "test.yaml:3:5: connectors[0].base_url: required");
}

TEST(ConfigTest, RequiredKeyWithEmptyValueIsReportedAtTheKey) {
  EXPECT_EQ(errorOf("database:\n  url:\n"), "test.yaml:2:3: database.url: required");
}

TEST(ConfigTest, BadKindIsRejectedQuotingTheValue) {
  EXPECT_EQ(
      errorOf(std::string(kOneConnector) + "  - when: { kind: colect }\n    try: [a]\n"),
      "test.yaml:5:19: routing[0].when.kind: must be one of collect, payout (got \"colect\")");
  EXPECT_EQ(
      errorOf("database: { url: a }\n"
              "connectors:\n"
              "  - { id: a, type: t, base_url: \"http://x\", supports: { kinds: [refund] } }\n"),
      "test.yaml:3:65: connectors[0].supports.kinds[0]: must be one of collect, payout "
      "(got \"refund\")");
}

TEST(ConfigTest, BadLogLevelIsRejected) {
  EXPECT_EQ(errorOf(std::string(kDb) + "log: { level: verbose }\n"),
            "test.yaml:2:15: log.level: must be one of debug, info, warn, error (got \"verbose\")");
}

TEST(ConfigTest, CurrencyMustBeThreeUpperCaseLetters) {
  EXPECT_EQ(errorOf("database: { url: a }\n"
                    "connectors:\n"
                    "  - id: a\n"
                    "    type: sandbox\n"
                    "    base_url: http://x\n"
                    "    supports: { currencies: [EUR, eur] }\n"),
            "test.yaml:6:35: connectors[0].supports.currencies[1]: must be 3 upper-case letters "
            "(got \"eur\")");
  EXPECT_EQ(
      errorOf(std::string(kOneConnector) + "  - when: { currency: EURO }\n    try: [a]\n"),
      "test.yaml:5:23: routing[0].when.currency: must be 3 upper-case letters (got \"EURO\")");
}

TEST(ConfigTest, CountryMustBeTwoUpperCaseLetters) {
  EXPECT_EQ(
      errorOf(std::string(kOneConnector) + "  - when: { country: [DE, deu] }\n    try: [a]\n"),
      "test.yaml:5:27: routing[0].when.country[1]: must be 2 upper-case letters (got \"deu\")");
}

TEST(ConfigTest, BaseUrlMustBeHttpOrHttps) {
  EXPECT_EQ(errorOf("database: { url: a }\n"
                    "connectors:\n"
                    "  - { id: a, type: sandbox, base_url: ftp://x }\n"),
            "test.yaml:3:39: connectors[0].base_url: must start with http:// or https://");
}

TEST(ConfigTest, ConnectorIdMustBeLowerCaseDigitsOrDashes) {
  EXPECT_EQ(errorOf("database: { url: a }\n"
                    "connectors:\n"
                    "  - { id: Sandbox_A, type: sandbox, base_url: http://x }\n"),
            "test.yaml:3:11: connectors[0].id: must match [a-z0-9-]{1,64} (got \"Sandbox_A\")");
}

TEST(ConfigTest, DuplicateConnectorIdIsRejectedAtTheSecondOne) {
  EXPECT_EQ(errorOf("database: { url: a }\n"
                    "connectors:\n"
                    "  - { id: a, type: sandbox, base_url: http://x }\n"
                    "  - { id: a, type: sandbox, base_url: http://y }\n"),
            "test.yaml:4:11: connectors[1].id: duplicate connector id \"a\"");
}

TEST(ConfigTest, RouteNamingUnknownConnectorIsRejectedAtThatEntry) {
  EXPECT_EQ(errorOf(std::string(kOneConnector) + "  - try: [a, b]\n"),
            "test.yaml:5:14: routing[0].try[1]: unknown connector \"b\"");
  EXPECT_EQ(errorOf(std::string(kOneConnector) + "  - split: { a: 50, c: 50 }\n"),
            "test.yaml:5:21: routing[0].split.c: unknown connector \"c\"");
}

TEST(ConfigTest, RoutingWithoutConnectorsIsRejected) {
  EXPECT_EQ(errorOf(std::string(kDb) + "routing:\n  - try: [a]\n"),
            "test.yaml:3:11: routing[0].try[0]: unknown connector \"a\"");
  EXPECT_NO_THROW(load(std::string(kDb) + "connectors: []\nrouting: []\n"));
}

TEST(ConfigTest, RouteNeedsExactlyOneOfTryOrSplit) {
  EXPECT_EQ(errorOf(std::string(kOneConnector) + "  - { try: [a], split: { a: 1 } }\n"),
            "test.yaml:5:5: routing[0]: needs exactly one of try or split");
  EXPECT_EQ(errorOf(std::string(kOneConnector) + "  - when: { kind: collect }\n"),
            "test.yaml:5:5: routing[0]: needs exactly one of try or split");
}

TEST(ConfigTest, EmptyTryOrSplitIsRejected) {
  EXPECT_EQ(errorOf(std::string(kOneConnector) + "  - try: []\n"),
            "test.yaml:5:10: routing[0].try: must not be empty");
  EXPECT_EQ(errorOf(std::string(kOneConnector) + "  - split: {}\n"),
            "test.yaml:5:12: routing[0].split: must not be empty");
}

TEST(ConfigTest, SplitWeightMustBeBetweenOneAndTenThousand) {
  EXPECT_EQ(errorOf(std::string(kOneConnector) + "  - split: { a: 0 }\n"),
            "test.yaml:5:17: routing[0].split.a: must be between 1 and 10000");
}

TEST(ConfigTest, DuplicateConnectorInTryListIsRejected) {
  EXPECT_EQ(errorOf(std::string(kOneConnector) + "  - try: [a, a]\n"),
            "test.yaml:5:14: routing[0].try[1]: duplicate connector \"a\"");
}

TEST(ConfigTest, RouteToConnectorWithoutThatKindIsRejected) {
  EXPECT_EQ(
      errorOf("database: { url: a }\n"
              "connectors:\n"
              "  - { id: a, type: t, base_url: \"http://x\", supports: { kinds: [collect] } }\n"
              "routing:\n"
              "  - { when: { kind: payout }, try: [a] }\n"),
      "test.yaml:5:37: routing[0].try[0]: connector \"a\" does not support payout");
}

TEST(ConfigTest, AmountMaxBelowMinIsRejected) {
  EXPECT_EQ(errorOf(std::string(kOneConnector) +
                    "  - when: { amount: { min: 10, max: 5 } }\n    try: [a]\n"),
            "test.yaml:5:37: routing[0].when.amount.max: must not be less than min");
}

TEST(ConfigTest, YamlSyntaxErrorIsReportedAtTheParserPosition) {
  EXPECT_EQ(errorOf(std::string(kDb) + "server: [1,\n"),
            "test.yaml:3:1: : invalid YAML: end of sequence flow not found");
}

TEST(ConfigTest, MissingFileIsReported) {
  try {
    loadConfig("/nonexistent/paymux.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "/nonexistent/paymux.yaml:1:1: : cannot read file (No such file or directory)");
  }
}

TEST(ConfigTest, LoadedFileNameIsUsedInErrorsAndRecorded) {
  const TempFile bad("bad.yaml", std::string(kDb) + "log: { level: loud }\n");
  try {
    loadConfig(bad.path());
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(
        std::string(e.what()),
        bad.path() + ":2:15: log.level: must be one of debug, info, warn, error (got \"loud\")");
  }
  const TempFile good("good.yaml", std::string(kDb));
  EXPECT_EQ(loadConfig(good.path()).file, good.path());
}

TEST(ConfigTest, LeaseMustExceedDeliveryTimeout) {
  EXPECT_EQ(errorOf(std::string(kDb) + "delivery: { timeout_ms: 15000, lease_s: 15 }\n"),
            "test.yaml:2:41: delivery.lease_s: must exceed delivery.timeout_ms (15000 ms)");
  // The default lease (60 s) is checked too, reported at the delivery mapping.
  EXPECT_EQ(errorOf(std::string(kDb) + "delivery: { timeout_ms: 60000 }\n"),
            "test.yaml:2:11: delivery.lease_s: must exceed delivery.timeout_ms (60000 ms)");
  EXPECT_NO_THROW(load(std::string(kDb) + "delivery: { timeout_ms: 15001, lease_s: 16 }\n"));
}

TEST(ConfigTest, EncryptionKeyMustBeBase64Of32Bytes) {
  EXPECT_EQ(errorOf(std::string(kDb) + "delivery: { encryption_key: not-a-key }\n"),
            "test.yaml:2:29: delivery.encryption_key: must be base64 of 32 bytes");
  // 31 bytes of key material.
  EXPECT_EQ(errorOf(std::string(kDb) + "delivery: { encryption_key: \"" +
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\" }\n"),
            "test.yaml:2:29: delivery.encryption_key: must be base64 of 32 bytes");
}

// --- interpolation ---

TEST(ConfigTest, EnvironmentVariableIsInterpolated) {
  const ScopedEnv db("PAYMUX_TEST_DB_URL", "postgres://from-env");
  EXPECT_EQ(load("database: { url: \"${PAYMUX_TEST_DB_URL}\" }\n").database.url.reveal(),
            "postgres://from-env");
}

TEST(ConfigTest, DefaultIsUsedWhenVariableIsUnsetOrEmpty) {
  const std::string yaml = "database: { url: \"${PAYMUX_TEST_DB_URL:-postgres://default}\" }\n";
  {
    const ScopedEnv unset("PAYMUX_TEST_DB_URL", nullptr);
    EXPECT_EQ(load(yaml).database.url.reveal(), "postgres://default");
  }
  {
    const ScopedEnv empty("PAYMUX_TEST_DB_URL", "");
    EXPECT_EQ(load(yaml).database.url.reveal(), "postgres://default");
  }
  const ScopedEnv set("PAYMUX_TEST_DB_URL", "postgres://set");
  EXPECT_EQ(load(yaml).database.url.reveal(), "postgres://set");
}

TEST(ConfigTest, UnsetVariableIsAnErrorNamingIt) {
  const ScopedEnv unset("STRIPE_SECRET_KEY", nullptr);
  EXPECT_EQ(errorOf("database: { url: a }\n"
                    "connectors:\n"
                    "  - id: stripe-eu\n"
                    "    type: stripe\n"
                    "    base_url: https://api.stripe.com\n"
                    "    credentials: { secret_key: \"${STRIPE_SECRET_KEY}\" }\n"),
            "test.yaml:6:32: connectors[0].credentials.secret_key: environment variable "
            "STRIPE_SECRET_KEY is not set");
}

TEST(ConfigTest, FileContentsAreInterpolatedWithOneTrailingNewlineStripped) {
  const TempFile secret("secret.txt", "line1\nline2\n\n");
  const Config c = load("database: { url: \"${file:" + secret.path() + "}\" }\n");
  EXPECT_EQ(c.database.url.reveal(), "line1\nline2\n");
}

TEST(ConfigTest, UnreadableFileIsAnErrorNamingThePath) {
  EXPECT_EQ(errorOf("database: { url: \"${file:/nonexistent/db-url}\" }\n"),
            "test.yaml:1:18: database.url: cannot read file /nonexistent/db-url (No such file or "
            "directory)");
  EXPECT_EQ(errorOf("database: { url: \"${file:relative/db-url}\" }\n"),
            "test.yaml:1:18: database.url: ${file:...} needs an absolute path");
}

TEST(ConfigTest, SeveralInterpolationsInOneScalarAreExpanded) {
  const ScopedEnv user("PAYMUX_TEST_USER", "alice");
  const ScopedEnv host("PAYMUX_TEST_HOST", nullptr);
  const TempFile password("password", "pw\n");
  const Config c =
      load("database: { url: \"postgres://${PAYMUX_TEST_USER}:${file:" + password.path() +
           "}@${PAYMUX_TEST_HOST:-localhost}/db\" }\n");
  EXPECT_EQ(c.database.url.reveal(), "postgres://alice:pw@localhost/db");
}

TEST(ConfigTest, InterpolatedTextIsNotExpandedAgainAndDoubleDollarIsLiteral) {
  const ScopedEnv tricky("PAYMUX_TEST_TRICKY", "a${NOT_EXPANDED}b");
  EXPECT_EQ(load("database: { url: \"${PAYMUX_TEST_TRICKY}\" }\n").database.url.reveal(),
            "a${NOT_EXPANDED}b");
  EXPECT_EQ(load("database: { url: \"cost $5 $${HOME}\" }\n").database.url.reveal(),
            "cost $5 ${HOME}");
}

TEST(ConfigTest, MalformedInterpolationIsRejected) {
  EXPECT_EQ(errorOf("database: { url: \"${PAYMUX_TEST_DB_URL\" }\n"),
            "test.yaml:1:18: database.url: unterminated ${ in value");
  EXPECT_EQ(errorOf("database: { url: \"${not a name}\" }\n"),
            "test.yaml:1:18: database.url: invalid environment variable name in ${...}");
}

// --- secrets never leak ---

TEST(ConfigTest, SecretsNeverAppearInErrorsAndStreamRedacted) {
  const std::vector<std::string> secrets = {"sk_SECRET_api", "whsec_SECRET_hook",
                                            "postgres://u:SECRET_pw@db/x", "SECRET_not_base64"};
  const ScopedEnv api("PAYMUX_TEST_API_KEY", secrets[0].c_str());
  const ScopedEnv hook("PAYMUX_TEST_HOOK", secrets[1].c_str());
  const ScopedEnv db("PAYMUX_TEST_DB", secrets[2].c_str());
  const ScopedEnv key("PAYMUX_TEST_KEY", secrets[3].c_str());
  const TempFile pem("pem", "-----BEGIN PUBLIC KEY-----SECRET_pem\n");
  auto config = [&](const std::string& connector_extra, const std::string& tail) {
    return "database: { url: \"${PAYMUX_TEST_DB}\" }\n"
           "connectors:\n"
           "  - id: a\n"
           "    type: sandbox\n"
           "    base_url: http://x\n"
           "    credentials: { api_key: \"${PAYMUX_TEST_API_KEY}\" }\n"
           "    webhook: { secret: \"${PAYMUX_TEST_HOOK}\", public_key: \"${file:" +
           pem.path() + "}\" }\n" + connector_extra + tail;
  };

  const Config ok = load(config("", ""));
  std::ostringstream out;
  out << ok.database.url << ok.connectors[0].credentials.at("api_key")
      << ok.connectors[0].webhook.secret << ok.connectors[0].webhook.public_key;
  EXPECT_EQ(out.str(), "[redacted][redacted][redacted][redacted]");

  const std::vector<std::string> variants = {
      config("", "delivery: { encryption_key: \"${PAYMUX_TEST_KEY}\" }\n"),
      config("", "delivery: { encryption_key: \"${PAYMUX_TEST_API_KEY}\" }\n"),
      config("", "log: { level: \"${PAYMUX_TEST_API_KEY}\" }\n"),
      config("", "server: { listen: \"${PAYMUX_TEST_HOOK}\" }\n"),
      config("", "server: { threads: \"${PAYMUX_TEST_HOOK}\" }\n"),
      config("", "routing:\n  - try: [\"${PAYMUX_TEST_API_KEY}\"]\n"),
      config("", "routing:\n  - { when: { currency: \"${PAYMUX_TEST_HOOK}\" }, try: [a] }\n"),
      config("    timeout_ms: 0\n", ""),
      config("    supports: { kinds: [\"${PAYMUX_TEST_DB}\"] }\n", ""),
      config("    settings: { x: [1] }\n", ""),
      config("  - { id: \"${PAYMUX_TEST_API_KEY}\", type: t, base_url: http://y }\n", ""),
      config("  - { id: b, type: t, base_url: \"${PAYMUX_TEST_DB}\" }\n", ""),
      config("  - { id: b, type: \"${PAYMUX_TEST_DB}\", base_url: http://y }\n", ""),
      config("    bogus: 1\n", ""),
      config("", "server: [1,\n"),
      "database: { url: \"sk_SECRET_api\", pool: 0 }\n",
      "database: { url: \"sk_SECRET_api\" \n",
  };
  for (const std::string& yaml : variants) {
    const std::string message = errorOf(yaml);
    EXPECT_NE(message, "<no error>") << yaml;
    for (const std::string& secret : secrets)
      EXPECT_EQ(message.find(secret), std::string::npos) << message;
    EXPECT_EQ(message.find("SECRET"), std::string::npos) << message;
  }
}

// --- the shipped example ---

TEST(ConfigTest, ExampleConfigParses) {
  const char* source_dir = std::getenv("PAYMUX_SOURCE_DIR");
  if (source_dir == nullptr) GTEST_SKIP() << "PAYMUX_SOURCE_DIR is not set";
  // why: the example deliberately has no default database URL.
  const ScopedEnv db("PAYMUX_DATABASE_URL", "postgresql://paymux@127.0.0.1/paymux");
  const ScopedEnv key("PAYMUX_SECRETS_KEY", nullptr);
  const Config c = loadConfig(std::string(source_dir) + "/config/example.yaml");
  // Every bundled provider is shown, each of its own type.
  std::vector<std::string> types;
  for (const auto& connector : c.connectors) types.push_back(connector.type);
  for (const char* type : {"sandbox", "stripe", "adyen", "paypal", "wise", "gocardless"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), type), types.end()) << type;
  }
  EXPECT_EQ(c.connectors[0].id, "sandbox-a");
  // Stripe first, Adyen as failover for GBP cards; EUR to the sandbox pair.
  auto findRoute = [&](const std::string& first) {
    return std::find_if(c.routing.begin(), c.routing.end(), [&](const RouteRule& r) {
      return !r.try_order.empty() && r.try_order.front() == first;
    });
  };
  ASSERT_NE(findRoute("stripe-eu"), c.routing.end());
  EXPECT_EQ(findRoute("stripe-eu")->try_order, (std::vector<std::string>{"stripe-eu", "adyen-eu"}));
  ASSERT_NE(findRoute("sandbox-a"), c.routing.end());
  EXPECT_EQ(findRoute("sandbox-a")->try_order, (std::vector<std::string>{"sandbox-a", "sandbox-b"}));
  EXPECT_FALSE(c.delivery.encryption_key.empty());
  EXPECT_TRUE(c.delivery.allow_private_networks);
}

}  // namespace
}  // namespace paymux::config
