#include "services/engine/subscriptions.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "services/common/api_error.h"
#include "services/common/crypto.h"
#include "services/common/json.h"
#include "services/common/log.h"
#include "services/common/standard_webhooks.h"
#include "services/store/idempotency_repo.h"

namespace paymux::engine {
namespace {

// why: longer than any single subscription request; claim, write and completion share one
// database transaction, so the lease only matters if the process dies mid-transaction.
constexpr int kIdempotencyLeaseS = 60;
// Marks an idempotent response stored sealed (it carries a signing secret).
constexpr std::string_view kSealedPrefix = "sealed:v1:";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

constexpr const char* kUtc = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";
std::string utc(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', " + kUtc + ")";
}

const std::string& subscriptionColumns() {
  static const std::string kCols =
      "s.id, s.url, array_to_json(s.event_types)::text, s.description,"
      " s.enabled, " +
      utc("s.created_at");
  return kCols;
}

/// The public JSON of a subscription row (subscriptionColumns()); `secret` only on create/rotate.
std::string subscriptionJson(const pqxx::row& r, const std::string& secret = "") {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "id", r[0].as<std::string>());
  json::kv(w, "object", "subscription");
  json::kv(w, "url", r[1].as<std::string>());
  json::key(w, "event_types");
  w.RawValue(r[2].c_str(), std::strlen(r[2].c_str()), rapidjson::kArrayType);
  json::kvNullable(w, "description", r[3].is_null() ? "" : r[3].as<std::string>());
  json::key(w, "enabled");
  w.Bool(r[4].as<bool>());
  json::kv(w, "created_at", r[5].as<std::string>());
  if (!secret.empty()) json::kv(w, "secret", secret);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

/// event_types as a PostgreSQL array literal; the schema limits items to known type names.
std::string eventTypesArray(const rapidjson::Value& body) {
  std::string out = "{";
  auto it = body.FindMember("event_types");
  if (it != body.MemberEnd() && it->value.IsArray()) {
    for (const auto& v : it->value.GetArray()) {
      if (out.size() > 1) out += ",";
      out += "\"" + std::string(v.GetString(), v.GetStringLength()) + "\"";
    }
  }
  return out + "}";
}

std::optional<pqxx::row> findSubscription(pqxx::transaction_base& txn, const std::string& tenant_id,
                                          const std::string& id, bool for_update = false) {
  auto rows = txn.exec_params("SELECT " + subscriptionColumns() +
                                  " FROM subscriptions s WHERE s.id = $1 AND s.tenant_id = $2"
                                  " AND s.deleted_at IS NULL" +
                                  (for_update ? " FOR NO KEY UPDATE" : ""),
                              id, tenant_id);
  if (rows.empty()) return std::nullopt;
  return rows[0];
}

pqxx::row requireSubscription(pqxx::transaction_base& txn, const std::string& tenant_id,
                              const std::string& id, bool for_update = false) {
  auto row = findSubscription(txn, tenant_id, id, for_update);
  if (!row) throw ApiError::notFound("subscription");
  return *row;
}

/// One entry of subscriptions.secrets, as JSON: the sealed secret and when it was made.
std::string sealedSecretEntry(const crypto::SecretBox& box, const std::string& subscription_id,
                              const std::string& secret) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "ciphertext", crypto::base64Encode(box.seal(secret, subscription_id)));
  json::kv(w, "created_at", log::nowRfc3339());
  json::key(w, "expires_at");
  w.Null();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

/// Calendar check the schema's pattern cannot make (e.g. 2026-02-31).
bool validCalendarDate(const std::string& ts) {
  int year = std::stoi(ts.substr(0, 4));
  int month = std::stoi(ts.substr(5, 2));
  int day = std::stoi(ts.substr(8, 2));
  if (year < 1) return false;  // why: PostgreSQL has no year 0
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int max = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day >= 1 && day <= max;
}

std::string listJson(const std::vector<std::string>& items, bool has_more) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "object", "list");
  json::key(w, "data");
  w.StartArray();
  for (const auto& item : items) json::raw(w, item);
  w.EndArray();
  json::key(w, "has_more");
  w.Bool(has_more);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

/// Cancels the subscription's pending deliveries (in flight ones too: their outcome is then
/// not recorded over the cancellation).
void cancelPending(pqxx::work& txn, const std::string& subscription_id) {
  txn.exec_params(
      "UPDATE deliveries SET state = 'canceled', leased_until = NULL, lease_token = NULL"
      " WHERE subscription_id = $1 AND state = 'pending'",
      subscription_id);
}

bool parseCidr(const std::string& text, int* family, unsigned char* bytes, int* prefix) {
  auto slash = text.find('/');
  std::string addr = text.substr(0, slash);
  int max = 0;
  if (inet_pton(AF_INET, addr.c_str(), bytes) == 1) {
    *family = AF_INET;
    max = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), bytes) == 1) {
    *family = AF_INET6;
    max = 128;
  } else {
    return false;
  }
  *prefix = max;
  if (slash != std::string::npos) {
    std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit)) return false;
    *prefix = std::stoi(p);
    if (*prefix > max) return false;
  }
  return true;
}

bool prefixMatches(const unsigned char* a, const unsigned char* b, int prefix) {
  int full = prefix / 8;
  if (std::memcmp(a, b, static_cast<size_t>(full)) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

/// The IP literal `host` as a sockaddr (v4 or v6), when it is one.
bool literalAddress(const std::string& host, sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    return true;
  }
  return false;
}

}  // namespace

// ---- DestinationPolicy ----

DestinationPolicy::DestinationPolicy(const config::DeliveryConfig& config)
    : allow_private_(config.allow_private_networks) {
  for (const auto& entry : config.allow_hosts) {
    Cidr cidr;
    if (parseCidr(entry, &cidr.family, cidr.bytes, &cidr.prefix)) {
      cidrs_.push_back(cidr);
    } else {
      names_.push_back(lower(entry));
    }
  }
}

std::string DestinationPolicy::hostOf(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  char* host = nullptr;
  if (curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK || host == nullptr) return "";
  std::string out = lower(host);
  curl_free(host);
  if (out.size() >= 2 && out.front() == '[' && out.back() == ']') {
    out = out.substr(1, out.size() - 2);
    auto zone = out.find('%');
    if (zone != std::string::npos) out.resize(zone);
  }
  // why: "localhost." is the same host as "localhost".
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool DestinationPolicy::isPrivateAddress(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr);
    auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
    return in(0x00000000, 8) ||   // 0.0.0.0/8 ("this network")
           in(0x0a000000, 8) ||   // 10/8
           in(0x64400000, 10) ||  // 100.64/10 (carrier-grade NAT)
           in(0x7f000000, 8) ||   // loopback
           in(0xa9fe0000, 16) ||  // link-local (cloud metadata lives here)
           in(0xac100000, 12) ||  // 172.16/12
           in(0xc0a80000, 16) ||  // 192.168/16
           in(0xe0000000, 4) ||   // multicast
           a == 0xffffffff;
  }
  if (address->sa_family == AF_INET6) {
    const auto* b = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr.s6_addr;
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b, kMapped, 12) == 0) {  // ::ffff:a.b.c.d: judge the IPv4 address
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      std::memcpy(&v4.sin_addr, b + 12, 4);
      return isPrivateAddress(reinterpret_cast<const sockaddr*>(&v4));
    }
    bool zero_prefix = std::all_of(b, b + 15, [](unsigned char c) { return c == 0; });
    if (zero_prefix && (b[15] == 0 || b[15] == 1)) return true;  // :: and ::1
    if ((b[0] & 0xfe) == 0xfc) return true;                      // fc00::/7 unique local
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;      // fe80::/10 link-local
    if (b[0] == 0xff) return true;                               // multicast
    return false;
  }
  return true;  // anything else (unix sockets) is never a public destination
}

bool DestinationPolicy::cidrAllows(const sockaddr* address) const {
  const unsigned char* bytes = nullptr;
  if (address->sa_family == AF_INET) {
    bytes = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
  } else if (address->sa_family == AF_INET6) {
    bytes = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr.s6_addr;
  } else {
    return false;
  }
  return std::any_of(cidrs_.begin(), cidrs_.end(), [&](const Cidr& c) {
    return c.family == address->sa_family && prefixMatches(bytes, c.bytes, c.prefix);
  });
}

bool DestinationPolicy::explicitlyAllowed(const std::string& host) const {
  for (const auto& name : names_) {
    if (name == host) return true;
    if (name.rfind("*.", 0) == 0 && host.size() > name.size() - 1 &&
        host.compare(host.size() - (name.size() - 1), name.size() - 1, name, 1) == 0) {
      return true;
    }
  }
  sockaddr_storage literal;
  return literalAddress(host, &literal) && cidrAllows(reinterpret_cast<sockaddr*>(&literal));
}

std::string DestinationPolicy::checkUrl(const std::string& url) const {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return "url must be an absolute http or https URL";
  }
  char* scheme = nullptr;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
    return "url must be an absolute http or https URL";
  }
  std::string s = lower(scheme);
  curl_free(scheme);
  if (s != "http" && s != "https") return "url must use http or https";
  char* user = nullptr;
  if (curl_url_get(u.get(), CURLUPART_USER, &user, 0) == CURLUE_OK) {
    curl_free(user);
    // why: credentials in the URL would be echoed by every GET and end up in logs.
    return "url must not contain credentials";
  }
  std::string host = hostOf(url);
  if (host.empty()) return "url must name a host";
  if (!names_.empty() || !cidrs_.empty()) {
    if (!explicitlyAllowed(host)) return "url host is not in the operator's allowed hosts";
    return "";
  }
  if (!allow_private_) {
    if (host == "localhost" || (host.size() > 10 && host.ends_with(".localhost"))) {
      return "url must not point to a private or loopback address";
    }
    sockaddr_storage literal;
    if (literalAddress(host, &literal) && isPrivateAddress(reinterpret_cast<sockaddr*>(&literal))) {
      return "url must not point to a private or loopback address";
    }
  }
  return "";
}

bool DestinationPolicy::addressAllowed(const std::string& host, const sockaddr* address) const {
  if (!names_.empty() || !cidrs_.empty()) {
    // why: an allow-list entry is the operator's explicit choice; a CIDR also pins the address.
    bool named = std::any_of(names_.begin(), names_.end(), [&](const std::string& n) {
      return n == host || (n.rfind("*.", 0) == 0 && host.ends_with(n.substr(1)));
    });
    if (named) return true;
    return cidrAllows(address);
  }
  return allow_private_ || !isPrivateAddress(address);
}

// ---- secrets ----

std::optional<crypto::SecretBox> subscriptionSecretBox(const config::DeliveryConfig& config) {
  if (config.encryption_key.empty()) return std::nullopt;
  return crypto::SecretBox::fromBase64(config.encryption_key);
}

std::vector<std::string> openSigningKeys(const crypto::SecretBox& box,
                                         const std::string& subscription_id,
                                         const std::vector<std::string>& ciphertexts) {
  std::vector<std::string> keys;
  for (const auto& c : ciphertexts) {
    auto sealed = crypto::base64Decode(c);
    auto secret = sealed ? box.open(*sealed, subscription_id) : std::nullopt;
    auto key = secret ? standard_webhooks::secretKey(*secret) : std::nullopt;
    if (!key) {
      log::error("subscription secret does not decrypt (wrong delivery.encryption_key?)",
                 {{"subscription", subscription_id}});
      continue;
    }
    keys.push_back(std::move(*key));
  }
  return keys;
}

// ---- SubscriptionService ----

SubscriptionService::SubscriptionService(store::Pool& pool, const config::DeliveryConfig& config)
    : pool_(pool), config_(config), policy_(config), box_(subscriptionSecretBox(config)) {}

const crypto::SecretBox& SubscriptionService::box() const {
  if (!box_) {
    throw ApiError(500, "api_error", "internal",
                   "subscriptions are not available: the operator has not set "
                   "delivery.encryption_key");
  }
  return *box_;
}

template <typename Fn>
Reply SubscriptionService::idempotent(const std::string& tenant_id, const std::string& request_hash,
                                      const std::string& idempotency_key, Fn&& fn) {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    // why: the stored response may hold a signing secret; it is sealed like the secrets are,
    // bound to (tenant, key).
    std::string aad = "idempotency:" + tenant_id + ":" + idempotency_key;
    if (!idempotency_key.empty()) {
      auto claim = store::claimIdempotencyKey(txn, tenant_id, idempotency_key, request_hash, "",
                                              kIdempotencyLeaseS);
      switch (claim.state) {
        case store::IdempotencyState::kAcquired:
          break;
        case store::IdempotencyState::kReplay: {
          std::string body = claim.response_body;
          if (body.rfind(kSealedPrefix, 0) == 0) {
            auto sealed = crypto::base64Decode(body.substr(kSealedPrefix.size()));
            auto opened = sealed ? box().open(*sealed, aad) : std::nullopt;
            if (!opened) throw std::runtime_error("stored idempotent response does not decrypt");
            body = *opened;
          }
          return Reply{claim.response_status, body, true};
        }
        case store::IdempotencyState::kMismatch:
          throw ApiError(422, "idempotency_error", "idempotency_key_reused",
                         "this Idempotency-Key was already used with a different request");
        case store::IdempotencyState::kInProgress:
        case store::IdempotencyState::kAbandoned:
          // why: claim, work and completion commit together, so a running key here belongs to
          // a request that is still inside its transaction.
          throw ApiError(409, "idempotency_error", "idempotency_key_in_use",
                         "a request with this Idempotency-Key is still being processed");
      }
    }
    Reply reply = fn(txn);
    if (!idempotency_key.empty()) {
      // (recover answers hold no secret, so they are stored as is when no key is configured)
      std::string stored =
          box_ ? std::string(kSealedPrefix) + crypto::base64Encode(box_->seal(reply.body, aad))
               : reply.body;
      store::completeIdempotencyKey(txn, tenant_id, idempotency_key, reply.status, stored);
    }
    txn.commit();
    return reply;
  });
}

Reply SubscriptionService::create(const std::string& tenant_id, const rapidjson::Document& body,
                                  const std::string& request_hash,
                                  const std::string& idempotency_key) {
  std::string url = json::getString(body, "url").value_or("");
  if (std::string why = policy_.checkUrl(url); !why.empty()) {
    throw ApiError::invalid("parameter_invalid", why, "url");
  }
  const crypto::SecretBox& sealer = box();
  return idempotent(tenant_id, request_hash, idempotency_key, [&](pqxx::work& txn) {
    std::string id = crypto::randomId("sub", 20);
    std::string secret = standard_webhooks::generateSecret();
    std::string secrets = "[" + sealedSecretEntry(sealer, id, secret) + "]";
    auto description = json::getString(body, "description");
    auto rows = txn.exec_params(
        "WITH s AS (INSERT INTO subscriptions (id, tenant_id, url, event_types, description,"
        " secrets) VALUES ($1, $2, $3, $4::text[], $5, $6::jsonb) RETURNING *)"
        " SELECT " +
            subscriptionColumns() + " FROM s",
        id, tenant_id, url, eventTypesArray(body), description, secrets);
    log::info("subscription created", {{"subscription", id}, {"tenant", tenant_id}});
    return Reply{201, subscriptionJson(rows[0], secret), false};
  });
}

Reply SubscriptionService::list(const std::string& tenant_id, int limit,
                                const std::string& starting_after) {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    pqxx::result rows;
    if (starting_after.empty()) {
      rows = txn.exec_params("SELECT " + subscriptionColumns() +
                                 " FROM subscriptions s WHERE s.tenant_id = $1 AND"
                                 " s.deleted_at IS NULL ORDER BY s.created_at DESC, s.id DESC"
                                 " LIMIT $2",
                             tenant_id, limit + 1);
    } else {
      auto cursor = txn.exec_params("SELECT 1 FROM subscriptions WHERE id = $1 AND tenant_id = $2",
                                    starting_after, tenant_id);
      if (cursor.empty()) {
        throw ApiError::invalid("resource_missing", "starting_after is not a known subscription id",
                                "starting_after");
      }
      rows = txn.exec_params(
          "SELECT " + subscriptionColumns() +
              " FROM subscriptions s, subscriptions c WHERE c.id = $2 AND s.tenant_id = $1 AND"
              " s.deleted_at IS NULL AND (s.created_at, s.id) < (c.created_at, c.id)"
              " ORDER BY s.created_at DESC, s.id DESC LIMIT $3",
          tenant_id, starting_after, limit + 1);
    }
    std::vector<std::string> items;
    for (const auto& r : rows) {
      if (static_cast<int>(items.size()) == limit) break;
      items.push_back(subscriptionJson(r));
    }
    return Reply{200, listJson(items, static_cast<int>(rows.size()) > limit), false};
  });
}

Reply SubscriptionService::get(const std::string& tenant_id, const std::string& id) {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    return Reply{200, subscriptionJson(requireSubscription(txn, tenant_id, id)), false};
  });
}

Reply SubscriptionService::update(const std::string& tenant_id, const std::string& id,
                                  const rapidjson::Document& body) {
  auto url = json::getString(body, "url");
  if (url) {
    if (std::string why = policy_.checkUrl(*url); !why.empty()) {
      throw ApiError::invalid("parameter_invalid", why, "url");
    }
  }
  std::optional<bool> enabled;
  if (auto it = body.FindMember("enabled"); it != body.MemberEnd()) enabled = it->value.GetBool();
  bool set_types = body.HasMember("event_types");
  auto description = json::getString(body, "description");
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    pqxx::row before = requireSubscription(txn, tenant_id, id, /*for_update=*/true);
    bool was_enabled = before[4].as<bool>();
    auto rows = txn.exec_params(
        "WITH s AS (UPDATE subscriptions SET url = coalesce($2::text, url),"
        " event_types = CASE WHEN $3::boolean THEN $4::text[] ELSE event_types END,"
        " description = CASE WHEN $5::boolean THEN $6::text ELSE description END,"
        " enabled = coalesce($7::boolean, enabled),"
        // why: re-enabling starts the failure clock afresh.
        " failing_since = CASE WHEN $7::boolean THEN NULL ELSE failing_since END,"
        " disabled_reason = CASE WHEN $7::boolean IS NULL THEN disabled_reason"
        "   WHEN $7::boolean THEN NULL ELSE 'api' END,"
        " updated_at = now() WHERE id = $1 RETURNING *)"
        " SELECT " +
            subscriptionColumns() + " FROM s",
        id, url, set_types, eventTypesArray(body), description.has_value(), description, enabled);
    if (was_enabled && enabled && !*enabled) cancelPending(txn, id);
    txn.commit();
    return Reply{200, subscriptionJson(rows[0]), false};
  });
}

Reply SubscriptionService::remove(const std::string& tenant_id, const std::string& id) {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    requireSubscription(txn, tenant_id, id, /*for_update=*/true);
    txn.exec_params(
        "UPDATE subscriptions SET deleted_at = now(), enabled = false, disabled_reason = 'deleted',"
        " updated_at = now() WHERE id = $1",
        id);
    cancelPending(txn, id);
    txn.commit();
    log::info("subscription deleted", {{"subscription", id}, {"tenant", tenant_id}});
    rapidjson::StringBuffer sb;
    json::Writer w(sb);
    w.StartObject();
    json::kv(w, "id", id);
    json::kv(w, "object", "subscription");
    json::key(w, "deleted");
    w.Bool(true);
    w.EndObject();
    return Reply{200, std::string(sb.GetString(), sb.GetSize()), false};
  });
}

Reply SubscriptionService::rotateSecret(const std::string& tenant_id, const std::string& id,
                                        const std::string& request_hash,
                                        const std::string& idempotency_key) {
  const crypto::SecretBox& sealer = box();
  return idempotent(tenant_id, request_hash, idempotency_key, [&](pqxx::work& txn) {
    requireSubscription(txn, tenant_id, id, /*for_update=*/true);
    std::string secret = standard_webhooks::generateSecret();
    // Secrets still signing stay (the current one now expires after the overlap); expired ones
    // are dropped; the new one becomes current.
    auto rows = txn.exec_params(
        "WITH s AS (UPDATE subscriptions SET secrets = (SELECT coalesce(jsonb_agg("
        "   CASE WHEN x->'expires_at' = 'null'::jsonb THEN jsonb_set(x, '{expires_at}',"
        "     to_jsonb(" +
            utc("(now() + make_interval(secs => $3))") +
            ")) ELSE x END"
            "   ORDER BY ord), '[]'::jsonb)"
            "   FROM jsonb_array_elements(secrets) WITH ORDINALITY AS e(x, ord)"
            "   WHERE x->'expires_at' = 'null'::jsonb OR (x->>'expires_at')::timestamptz > now())"
            "   || jsonb_build_array($2::jsonb),"
            " updated_at = now() WHERE id = $1 RETURNING *)"
            " SELECT " +
            subscriptionColumns() + " FROM s",
        id, sealedSecretEntry(sealer, id, secret), kRotationOverlapS);
    log::info("subscription secret rotated", {{"subscription", id}, {"tenant", tenant_id}});
    return Reply{200, subscriptionJson(rows[0], secret), false};
  });
}

Reply SubscriptionService::recover(const std::string& tenant_id, const std::string& id,
                                   const rapidjson::Document& body, const std::string& request_hash,
                                   const std::string& idempotency_key) {
  std::string since = json::getString(body, "since").value_or("");
  if (!validCalendarDate(since)) {
    throw ApiError::invalid("parameter_invalid", "since must be an RFC 3339 date-time", "since");
  }
  return idempotent(tenant_id, request_hash, idempotency_key, [&](pqxx::work& txn) {
    requireSubscription(txn, tenant_id, id, /*for_update=*/true);
    // why: one statement, one snapshot: deliveries that exist are reset, the others inserted;
    // unnumbered events (left by an earlier version) are left to the sweeper, which fans them
    // out.
    auto r = txn.exec_params(
        "WITH matching AS (SELECT e.id FROM events e, subscriptions s"
        "   WHERE s.id = $1 AND e.tenant_id = s.tenant_id AND e.created_at >= $2::timestamptz"
        "   AND e.sequence IS NOT NULL"
        "   AND (cardinality(s.event_types) = 0 OR e.type = ANY (s.event_types))),"
        " reset AS (UPDATE deliveries d SET state = 'pending', next_attempt_at = now(),"
        "   attempt_count = 0, leased_until = NULL, lease_token = NULL"
        "   WHERE d.subscription_id = $1 AND d.event_id IN (SELECT id FROM matching) RETURNING 1),"
        " created AS (INSERT INTO deliveries (subscription_id, event_id, state, next_attempt_at)"
        "   SELECT $1, m.id, 'pending', now() FROM matching m"
        "   ON CONFLICT (subscription_id, event_id) DO NOTHING RETURNING 1)"
        " SELECT (SELECT count(*) FROM reset), (SELECT count(*) FROM created), " +
            utc("$2::timestamptz"),
        id, since)[0];
    int64_t reset = r[0].as<int64_t>();
    int64_t created = r[1].as<int64_t>();
    log::info("subscription recovery queued", {{"subscription", id},
                                               {"requeued", std::to_string(reset)},
                                               {"created", std::to_string(created)}});
    rapidjson::StringBuffer sb;
    json::Writer w(sb);
    w.StartObject();
    json::kv(w, "object", "recovery");
    json::kv(w, "subscription", id);
    json::kv(w, "since", r[2].as<std::string>());
    json::kvInt(w, "queued", reset + created);
    json::kvInt(w, "requeued", reset);
    json::kvInt(w, "created", created);
    w.EndObject();
    return Reply{200, std::string(sb.GetString(), sb.GetSize()), false};
  });
}

Reply SubscriptionService::attempts(const std::string& tenant_id, const std::string& id, int limit,
                                    const std::string& starting_after) {
  return pool_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    requireSubscription(txn, tenant_id, id);
    int64_t before = INT64_MAX;
    if (!starting_after.empty()) {
      auto cursor = txn.exec_params(
          "SELECT id FROM delivery_attempts WHERE public_id = $1 AND subscription_id = $2",
          starting_after, id);
      if (cursor.empty()) {
        throw ApiError::invalid("resource_missing",
                                "starting_after is not a known delivery attempt id",
                                "starting_after");
      }
      before = cursor[0][0].as<int64_t>();
    }
    auto rows = txn.exec_params(
        "SELECT a.public_id, d.event_id, e.type, coalesce(a.attempt, 1), a.status_code,"
        " coalesce(a.latency_ms, 0), a.error, " +
            utc("a.next_retry_at") + ", " + utc("a.attempted_at") +
            " FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id"
            " JOIN events e ON e.id = d.event_id"
            " WHERE a.subscription_id = $1 AND a.id < $2 ORDER BY a.id DESC LIMIT $3",
        id, before, limit + 1);
    std::vector<std::string> items;
    for (const auto& r : rows) {
      if (static_cast<int>(items.size()) == limit) break;
      rapidjson::StringBuffer sb;
      json::Writer w(sb);
      w.StartObject();
      json::kv(w, "id", r[0].as<std::string>());
      json::kv(w, "object", "delivery_attempt");
      json::kv(w, "event_id", r[1].as<std::string>());
      json::kv(w, "event_type", r[2].as<std::string>());
      json::kvInt(w, "attempt", r[3].as<int64_t>());
      json::key(w, "status_code");
      if (r[4].is_null()) {
        w.Null();
      } else {
        w.Int64(r[4].as<int64_t>());
      }
      json::kvInt(w, "latency_ms", r[5].as<int64_t>());
      json::kvNullable(w, "error", r[6].is_null() ? "" : r[6].as<std::string>());
      json::kvNullable(w, "next_retry_at", r[7].is_null() ? "" : r[7].as<std::string>());
      json::kv(w, "created_at", r[8].as<std::string>());
      w.EndObject();
      items.emplace_back(sb.GetString(), sb.GetSize());
    }
    return Reply{200, listJson(items, static_cast<int>(rows.size()) > limit), false};
  });
}

}  // namespace paymux::engine
