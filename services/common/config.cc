#include "services/common/config.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

namespace paymux::config {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int kOneWeekS = 7 * 86400;
constexpr int kOneYearS = 365 * 86400;
constexpr int kTenMinutesMs = 600000;

// A node plus where it is, so every check can report "<file>:<line>:<column>: <path>: ...".
struct Loc {
  const std::string* file;
  YAML::Node node;
  std::string path;

  Loc child(std::string_view key, const YAML::Node& n) const {
    return {file, n, path.empty() ? std::string(key) : path + "." + std::string(key)};
  }
  Loc item(size_t index, const YAML::Node& n) const {
    return {file, n, path + "[" + std::to_string(index) + "]"};
  }
};

[[noreturn]] void failAt(const std::string& file, const YAML::Mark& mark, const std::string& path,
                         const std::string& message) {
  // why: nodes without a position (an empty document, a missing file) point at the file start.
  const int line = mark.is_null() ? 1 : mark.line + 1;
  const int column = mark.is_null() ? 1 : mark.column + 1;
  throw ConfigError(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + path +
                    ": " + message);
}

[[noreturn]] void fail(const Loc& at, const std::string& message) {
  failAt(*at.file, at.node.Mark(), at.path, message);
}

// A string scalar after interpolation. `interpolated` values came from the environment or a
// file and are never quoted back in an error message.
struct Str {
  std::string value;
  bool interpolated = false;
};

// " (got "x")" for non-secret values typed into the file; nothing for interpolated ones.
std::string got(const Str& s) { return s.interpolated ? "" : " (got \"" + s.value + "\")"; }
std::string quoted(const Str& s) { return s.interpolated ? "" : " \"" + s.value + "\""; }

std::optional<std::string> readFile(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::generic_category().message(errno);
    return std::nullopt;
  }
  std::string data;
  std::array<char, 8192> buf;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::generic_category().message(errno);
      ::close(fd);
      return std::nullopt;
    }
    data.append(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

bool isEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Expands one "${...}" body. Messages name the variable or file but never the value.
std::string expand(const Loc& at, std::string_view expr) {
  if (expr.starts_with("file:")) {
    const std::string path(expr.substr(5));
    if (path.empty() || path[0] != '/') fail(at, "${file:...} needs an absolute path");
    std::string error;
    std::optional<std::string> data = readFile(path, &error);
    if (!data) fail(at, "cannot read file " + path + " (" + error + ")");
    // why: files written by editors and `echo` end with a newline that is not part of the secret.
    if (data->ends_with("\r\n")) {
      data->resize(data->size() - 2);
    } else if (data->ends_with('\n')) {
      data->pop_back();
    }
    return *data;
  }
  const size_t sep = expr.find(":-");
  const std::string name(expr.substr(0, sep));
  // why: an invalid name may be a literal secret that happens to contain "${", so don't echo it.
  if (!isEnvName(name)) fail(at, "invalid environment variable name in ${...}");
  const char* value = std::getenv(name.c_str());
  if (sep != std::string_view::npos) {
    return value != nullptr && *value != '\0' ? value : std::string(expr.substr(sep + 2));
  }
  if (value == nullptr) fail(at, "environment variable " + name + " is not set");
  return value;
}

// "${NAME}", "${NAME:-default}", "${file:/abs/path}"; "$${" is a literal "${". Substituted text
// is not scanned again, so a secret containing "${" stays as it is.
Str interpolate(const Loc& at, const std::string& raw) {
  Str out;
  size_t i = 0;
  while (i < raw.size()) {
    if (raw.compare(i, 3, "$${") == 0) {
      out.value += "${";
      i += 3;
    } else if (raw.compare(i, 2, "${") == 0) {
      const size_t end = raw.find('}', i + 2);
      if (end == std::string::npos) fail(at, "unterminated ${ in value");
      out.value += expand(at, std::string_view(raw).substr(i + 2, end - i - 2));
      out.interpolated = true;
      i = end + 1;
    } else {
      out.value += raw[i++];
    }
  }
  return out;
}

// A mapping whose keys were checked against an allow-list. A key with a YAML null value
// ("key:" or "key: ~") counts as absent, so the default applies.
class MapReader {
 public:
  struct Entry {
    std::string key;
    Loc key_loc;
    Loc value;
  };

  MapReader(const Loc& at, std::initializer_list<std::string_view> allowed)
      : MapReader(at, allowed, false) {}
  // Any key is accepted (credentials, settings, split weights).
  static MapReader freeForm(const Loc& at) { return {at, {}, true}; }

  std::optional<Loc> find(std::string_view key) const {
    for (const Entry& e : entries_) {
      if (e.key == key) return e.value.node.IsNull() ? std::nullopt : std::optional(e.value);
    }
    return std::nullopt;
  }
  Loc require(std::string_view key) const {
    for (const Entry& e : entries_) {
      if (e.key == key && e.value.node.IsNull()) fail(e.key_loc, "required");
      if (e.key == key) return e.value;
    }
    fail(at_.child(key, at_.node), "required");
  }
  const Loc& loc() const { return at_; }
  const std::vector<Entry>& entries() const& { return entries_; }
  // why: `for (e : freeForm(x).entries())` would iterate a destroyed temporary.
  const std::vector<Entry>& entries() const&& = delete;

 private:
  MapReader(const Loc& at, std::initializer_list<std::string_view> allowed, bool any_key)
      : at_(at) {
    if (at.node.IsNull()) return;  // the document root of an empty file
    if (!at.node.IsMap()) fail(at, "expected a mapping");
    std::set<std::string> seen;
    for (auto it = at.node.begin(); it != at.node.end(); ++it) {
      if (!it->first.IsScalar()) fail({at.file, it->first, at.path}, "expected string");
      const std::string key = it->first.Scalar();
      Loc key_loc = at.child(key, it->first);
      if (!any_key && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        fail(key_loc, "unknown key");
      }
      if (!seen.insert(key).second) fail(key_loc, "duplicate key");
      entries_.push_back({key, key_loc, at.child(key, it->second)});
    }
  }

  Loc at_;
  std::vector<Entry> entries_;
};

template <typename T>
T readInt(const Loc& at, int64_t min, int64_t max) {
  const std::string range =
      "must be between " + std::to_string(min) + " and " + std::to_string(max);
  if (!at.node.IsScalar()) fail(at, "expected integer");
  const std::string& s = at.node.Scalar();
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec == std::errc::result_out_of_range) fail(at, range);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) fail(at, "expected integer");
  if (value < min || value > max) fail(at, range);
  return static_cast<T>(value);
}

bool readBool(const Loc& at) {
  if (at.node.IsScalar()) {
    const std::string& s = at.node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  fail(at, "expected boolean");
}

Str readString(const Loc& at) {
  if (!at.node.IsScalar()) fail(at, "expected string");
  return interpolate(at, at.node.Scalar());
}

std::vector<Loc> readList(const Loc& at, bool allow_empty) {
  if (!at.node.IsSequence()) fail(at, "expected a list");
  if (!allow_empty && at.node.size() == 0) fail(at, "must not be empty");
  std::vector<Loc> items;
  for (size_t i = 0; i < at.node.size(); ++i) items.push_back(at.item(i, at.node[i]));
  return items;
}

// For "when" fields that take "EUR" or [EUR, GBP].
std::vector<std::pair<Loc, Str>> readStringOrList(const Loc& at) {
  std::vector<std::pair<Loc, Str>> out;
  if (at.node.IsScalar()) {
    out.emplace_back(at, readString(at));
  } else if (at.node.IsSequence()) {
    for (const Loc& item : readList(at, false)) out.emplace_back(item, readString(item));
  } else {
    fail(at, "expected a string or a list");
  }
  return out;
}

template <typename T>
void optInt(const MapReader& m, std::string_view key, T& out, int64_t min, int64_t max) {
  if (auto at = m.find(key)) out = readInt<T>(*at, min, max);
}

void optSecret(const MapReader& m, std::string_view key, Secret& out) {
  if (auto at = m.find(key)) out = Secret(readString(*at).value);
}

std::vector<int> readIntList(const Loc& at, int min, int max) {
  std::vector<int> out;
  for (const Loc& item : readList(at, false)) out.push_back(readInt<int>(item, min, max));
  return out;
}

std::string readEnum(const Loc& at, std::initializer_list<std::string_view> allowed) {
  Str s = readString(at);
  if (std::find(allowed.begin(), allowed.end(), s.value) != allowed.end()) return s.value;
  std::string list;
  for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  fail(at, "must be one of " + list + got(s));
}

bool isUpperLetters(const std::string& s, size_t n) {
  return s.size() == n &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string checkCurrency(const Loc& at, const Str& s) {
  if (!isUpperLetters(s.value, 3)) fail(at, "must be 3 upper-case letters" + got(s));
  return s.value;
}

bool matchesName(const std::string& s, std::string_view extra) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || extra.find(c) != extra.npos;
  });
}

ServerConfig readServer(const Loc& at) {
  MapReader m(at, {"listen", "threads", "workers", "queue", "max_body_bytes", "header_timeout_ms",
                   "body_timeout_ms", "shutdown_grace_ms", "api_key_cache_s"});
  ServerConfig s;
  if (auto listen = m.find("listen")) {
    Str v = readString(*listen);
    const size_t colon = v.value.rfind(':');
    int port = -1;
    if (colon != std::string::npos && colon > 0) {
      const char* end = v.value.data() + v.value.size();
      const auto [p, ec] = std::from_chars(v.value.data() + colon + 1, end, port);
      if (ec != std::errc() || p != end) port = -1;
    }
    if (port < 0 || port > 65535) fail(*listen, "must be host:port" + got(v));
    s.listen = v.value;
  }
  optInt(m, "threads", s.threads, 1, 64);
  optInt(m, "workers", s.workers, 1, 4096);
  optInt(m, "queue", s.queue, 1, 1000000);
  optInt(m, "max_body_bytes", s.max_body_bytes, 1, 16777216);
  optInt(m, "header_timeout_ms", s.header_timeout_ms, 1, kTenMinutesMs);
  optInt(m, "body_timeout_ms", s.body_timeout_ms, 1, kTenMinutesMs);
  optInt(m, "shutdown_grace_ms", s.shutdown_grace_ms, 0, kTenMinutesMs);
  optInt(m, "api_key_cache_s", s.api_key_cache_s, 0, 3600);
  return s;
}

DatabaseConfig readDatabase(const Loc& at) {
  MapReader m(at, {"url", "pool", "acquire_timeout_ms"});
  DatabaseConfig d;
  const Loc url = m.require("url");
  d.url = Secret(readString(url).value);
  if (d.url.empty()) fail(url, "must not be empty");
  optInt(m, "pool", d.pool, 1, 1000);
  optInt(m, "acquire_timeout_ms", d.acquire_timeout_ms, 1, kTenMinutesMs);
  return d;
}

ConnectorConfig readConnector(const Loc& at) {
  MapReader m(at, {"id", "type", "base_url", "credentials", "settings", "webhook", "supports",
                   "timeout_ms"});
  ConnectorConfig c;
  const Loc id = m.require("id");
  const Str id_value = readString(id);
  if (!matchesName(id_value.value, "-")) fail(id, "must match [a-z0-9-]{1,64}" + got(id_value));
  c.id = id_value.value;

  const Loc type = m.require("type");
  const Str type_value = readString(type);
  if (!matchesName(type_value.value, "_-")) {
    fail(type, "must match [a-z0-9_-]{1,64}" + got(type_value));
  }
  c.type = type_value.value;

  // why: never echoed, a URL may carry user:password.
  const Loc base_url = m.require("base_url");
  c.base_url = readString(base_url).value;
  const size_t scheme = c.base_url.starts_with("https://")  ? 8
                        : c.base_url.starts_with("http://") ? 7
                                                            : 0;
  if (scheme == 0 || c.base_url.size() == scheme) {
    fail(base_url, "must start with http:// or https://");
  }

  if (auto creds = m.find("credentials")) {
    const MapReader map = MapReader::freeForm(*creds);
    for (const auto& e : map.entries()) {
      c.credentials[e.key] = e.value.node.IsNull() ? Secret() : Secret(readString(e.value).value);
    }
  }
  if (auto settings = m.find("settings")) {
    const MapReader map = MapReader::freeForm(*settings);
    for (const auto& e : map.entries()) {
      c.settings[e.key] = e.value.node.IsNull() ? "" : readString(e.value).value;
    }
  }
  if (auto webhook = m.find("webhook")) {
    MapReader w(*webhook, {"secret", "public_key", "tolerance_s"});
    optSecret(w, "secret", c.webhook.secret);
    optSecret(w, "public_key", c.webhook.public_key);
    optInt(w, "tolerance_s", c.webhook.tolerance_s, 1, 86400);
  }
  c.kinds = {"collect", "payout"};
  if (auto supports = m.find("supports")) {
    MapReader s(*supports, {"kinds", "currencies", "methods"});
    if (auto kinds = s.find("kinds")) {
      c.kinds.clear();
      for (const Loc& k : readList(*kinds, false)) {
        c.kinds.push_back(readEnum(k, {"collect", "payout"}));
      }
    }
    if (auto currencies = s.find("currencies")) {
      for (const Loc& cur : readList(*currencies, true)) {
        c.currencies.push_back(checkCurrency(cur, readString(cur)));
      }
    }
    if (auto methods = s.find("methods")) {
      for (const Loc& method : readList(*methods, true)) {
        c.methods.push_back(readString(method).value);
        if (c.methods.back().empty()) fail(method, "must not be empty");
      }
    }
  }
  optInt(m, "timeout_ms", c.timeout_ms, 1, kTenMinutesMs);
  return c;
}

RouteMatch readMatch(const Loc& at) {
  MapReader m(at, {"kind", "currency", "country", "method", "amount"});
  RouteMatch match;
  if (auto kind = m.find("kind")) match.kind = readEnum(*kind, {"collect", "payout"});
  if (auto currency = m.find("currency")) {
    for (const auto& [loc, s] : readStringOrList(*currency)) {
      match.currencies.push_back(checkCurrency(loc, s));
    }
  }
  if (auto country = m.find("country")) {
    for (const auto& [loc, s] : readStringOrList(*country)) {
      if (!isUpperLetters(s.value, 2)) fail(loc, "must be 2 upper-case letters" + got(s));
      match.countries.push_back(s.value);
    }
  }
  if (auto method = m.find("method")) {
    for (const auto& [loc, s] : readStringOrList(*method)) {
      if (s.value.empty()) fail(loc, "must not be empty");
      match.methods.push_back(s.value);
    }
  }
  if (auto amount = m.find("amount")) {
    MapReader a(*amount, {"min", "max"});
    if (auto min = a.find("min")) match.min_amount = readInt<int64_t>(*min, 0, kInt64Max);
    if (auto max = a.find("max")) {
      match.max_amount = readInt<int64_t>(*max, 0, kInt64Max);
      if (match.min_amount && *match.max_amount < *match.min_amount) {
        fail(*max, "must not be less than min");
      }
    }
  }
  return match;
}

// Resolves a connector named by a route; `at` is where the name is written.
void checkRouteTarget(const Loc& at, const Str& name, const RouteMatch& when,
                      const std::vector<ConnectorConfig>& connectors) {
  auto it = std::find_if(connectors.begin(), connectors.end(),
                         [&](const ConnectorConfig& c) { return c.id == name.value; });
  if (it == connectors.end()) fail(at, "unknown connector" + quoted(name));
  // why: a route that can only fail over to connectors lacking the flow is a config mistake.
  if (when.kind && std::find(it->kinds.begin(), it->kinds.end(), *when.kind) == it->kinds.end()) {
    fail(at, "connector" + quoted(name) + " does not support " + *when.kind);
  }
}

RouteRule readRoute(const Loc& at, const std::vector<ConnectorConfig>& connectors) {
  MapReader m(at, {"when", "try", "split"});
  RouteRule r;
  if (auto when = m.find("when")) r.when = readMatch(*when);
  const std::optional<Loc> try_at = m.find("try");
  const std::optional<Loc> split_at = m.find("split");
  if (try_at.has_value() == split_at.has_value()) fail(at, "needs exactly one of try or split");
  if (try_at) {
    for (const Loc& item : readList(*try_at, false)) {
      const Str name = readString(item);
      checkRouteTarget(item, name, r.when, connectors);
      if (std::find(r.try_order.begin(), r.try_order.end(), name.value) != r.try_order.end()) {
        fail(item, "duplicate connector" + quoted(name));
      }
      r.try_order.push_back(name.value);
    }
  } else {
    const MapReader split = MapReader::freeForm(*split_at);
    if (split.entries().empty()) fail(*split_at, "must not be empty");
    for (const auto& e : split.entries()) {
      checkRouteTarget(e.key_loc, Str{e.key, false}, r.when, connectors);
      if (e.value.node.IsNull()) fail(e.key_loc, "weight required");
      r.split.emplace_back(e.key, readInt<int>(e.value, 1, 10000));
    }
  }
  return r;
}

bool isBase64Of32Bytes(const std::string& s) {
  // why: 32 bytes encode to 43 significant characters plus one '=' of padding.
  if (s.size() != 44 || s[43] != '=' || s[42] == '=') return false;
  std::array<unsigned char, 33> out;
  return EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), 44) == 33;
}

DeliveryConfig readDelivery(const Loc& at) {
  MapReader m(
      at, {"retry_schedule_s", "timeout_ms", "concurrency", "per_subscription", "disable_after_s",
           "lease_s", "encryption_key", "allow_hosts", "allow_private_networks"});
  DeliveryConfig d;
  if (auto s = m.find("retry_schedule_s")) d.retry_schedule_s = readIntList(*s, 0, kOneWeekS);
  optInt(m, "timeout_ms", d.timeout_ms, 1, kTenMinutesMs);
  optInt(m, "concurrency", d.concurrency, 1, 10000);
  optInt(m, "per_subscription", d.per_subscription, 1, 1000);
  optInt(m, "disable_after_s", d.disable_after_s, 1, kOneYearS);
  optInt(m, "lease_s", d.lease_s, 1, 86400);
  // why: a lease that can expire mid-request lets a second worker deliver the same event.
  if (int64_t{d.lease_s} * 1000 <= d.timeout_ms) {
    fail(m.find("lease_s").value_or(at.child("lease_s", at.node)),
         "must exceed delivery.timeout_ms (" + std::to_string(d.timeout_ms) + " ms)");
  }
  if (auto key = m.find("encryption_key")) {
    d.encryption_key = Secret(readString(*key).value);
    if (!d.encryption_key.empty() && !isBase64Of32Bytes(d.encryption_key.reveal())) {
      fail(*key, "must be base64 of 32 bytes");
    }
  }
  if (auto hosts = m.find("allow_hosts")) {
    for (const Loc& host : readList(*hosts, true)) {
      d.allow_hosts.push_back(readString(host).value);
      if (d.allow_hosts.back().empty()) fail(host, "must not be empty");
    }
  }
  if (auto p = m.find("allow_private_networks")) d.allow_private_networks = readBool(*p);
  return d;
}

JanitorConfig readJanitor(const Loc& at) {
  MapReader m(at, {"schedule_s", "interval_ms", "unmatched_window_s"});
  JanitorConfig j;
  if (auto s = m.find("schedule_s")) j.schedule_s = readIntList(*s, 1, kOneYearS);
  optInt(m, "interval_ms", j.interval_ms, 1, kTenMinutesMs);
  optInt(m, "unmatched_window_s", j.unmatched_window_s, 1, kOneWeekS);
  return j;
}

Config parse(const YAML::Node& root, const std::string& name) {
  Config cfg;
  cfg.file = name;
  const MapReader top({&name, root, ""}, {"server", "database", "connectors", "routing", "delivery",
                                          "janitor", "log"});
  if (auto server = top.find("server")) cfg.server = readServer(*server);
  cfg.database = readDatabase(top.require("database"));
  if (auto connectors = top.find("connectors")) {
    for (const Loc& item : readList(*connectors, true)) {
      cfg.connectors.push_back(readConnector(item));
      const std::string& id = cfg.connectors.back().id;
      if (cfg.findConnector(id) != &cfg.connectors.back()) {
        const Loc id_at = MapReader::freeForm(item).require("id");
        fail(id_at, "duplicate connector id" + quoted(readString(id_at)));
      }
    }
  }
  if (auto routing = top.find("routing")) {
    for (const Loc& item : readList(*routing, true)) {
      cfg.routing.push_back(readRoute(item, cfg.connectors));
    }
  }
  if (auto delivery = top.find("delivery")) cfg.delivery = readDelivery(*delivery);
  if (auto janitor = top.find("janitor")) cfg.janitor = readJanitor(*janitor);
  if (auto log = top.find("log")) {
    const MapReader m(*log, {"level"});
    if (auto level = m.find("level")) {
      cfg.log.level = readEnum(*level, {"debug", "info", "warn", "error"});
    }
  }
  return cfg;
}

}  // namespace

const ConnectorConfig* Config::findConnector(const std::string& id) const {
  for (const ConnectorConfig& c : connectors) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

Config loadConfigFromString(const std::string& yaml_text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    failAt(name, e.mark, "", "invalid YAML: " + e.msg);
  }
  return parse(root, name);
}

Config loadConfig(const std::string& path) {
  std::string error;
  const std::optional<std::string> text = readFile(path, &error);
  if (!text) failAt(path, YAML::Mark::null_mark(), "", "cannot read file (" + error + ")");
  return loadConfigFromString(*text, path);
}

}  // namespace paymux::config
