#include "connectors/wise/wise_simulator_wire.h"

#include <ctime>

#include "services/common/crypto.h"
#include "services/common/json.h"

namespace paymux::connectors::wise::sim {
namespace {

void rawNumber(json::Writer& w, std::string_view key, const std::string& digits) {
  json::key(w, key);
  w.RawValue(digits.data(), digits.size(), rapidjson::kNumberType);
}

}  // namespace

std::string scenarioOf(const std::string& name) {
  for (const char* token : {"tok_decline", "tok_timeout", "tok_error", "tok_slow", "tok_async",
                            "tok_unknown"}) {
    if (name.find(token) != std::string::npos) return token;
  }
  return "tok_success";
}

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

std::string uuid4() {
  std::string hex = crypto::hexEncode(crypto::randomBytes(16));
  hex[12] = '4';
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string errorJson(const std::string& code, const std::string& message) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "errors");
  w.StartArray();
  w.StartObject();
  json::kv(w, "code", code);
  json::kv(w, "message", message);
  json::key(w, "arguments");
  w.StartArray();
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::string transferJson(const Transfer& t) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  rawNumber(w, "id", t.id);
  rawNumber(w, "targetAccount", t.recipient_id);
  json::kv(w, "quoteUuid", t.quote_id);
  json::kv(w, "customerTransactionId", t.customer_transaction_id);
  json::kv(w, "status", t.status);
  json::kv(w, "reference", t.reference);
  rawNumber(w, "rate", "1");
  rawNumber(w, "business", t.quote.profile_id);
  json::key(w, "hasActiveIssues");
  w.Bool(false);
  json::kv(w, "sourceCurrency", t.quote.source_currency);
  rawNumber(w, "sourceValue", t.quote.target_amount);
  json::kv(w, "targetCurrency", t.quote.target_currency);
  rawNumber(w, "targetValue", t.quote.target_amount);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::string stateChangeJson(const std::string& transfer_id, const Transfer& t,
                            const std::string& state, const std::string& occurred_at) {
  bool numeric = !transfer_id.empty() &&
                 transfer_id.find_first_not_of("0123456789") == std::string::npos;
  std::string now = nowRfc3339();
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "data");
  w.StartObject();
  json::key(w, "resource");
  w.StartObject();
  numeric ? rawNumber(w, "id", transfer_id) : json::kv(w, "id", transfer_id);
  rawNumber(w, "profile_id", t.quote.profile_id.empty() ? "1" : t.quote.profile_id);
  rawNumber(w, "account_id", t.recipient_id.empty() ? "0" : t.recipient_id);
  json::kv(w, "type", "transfer");
  w.EndObject();
  json::kv(w, "current_state", state);
  json::kvNullable(w, "previous_state", t.status == state ? t.previous_status : t.status);
  json::kv(w, "occurred_at", occurred_at.empty() ? now : occurred_at);
  w.EndObject();
  json::kv(w, "subscription_id", "00000000-0000-4000-8000-00000000517e");
  json::kv(w, "event_type", "transfers#state-change");
  json::kv(w, "schema_version", "2.0.0");
  json::kv(w, "sent_at", now);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace paymux::connectors::wise::sim
