#include "services/engine/serialize.h"

#include "services/common/json.h"

namespace paymux::engine {

std::string transactionJson(const store::TransactionRecord& t) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "id", t.id);
  json::kv(w, "object", objectName(t.kind));
  json::kv(w, "status", toString(t.status));
  json::kvInt(w, "amount", t.amount_minor);
  json::kv(w, "currency", t.currency);
  json::kv(w, "reference", t.reference);
  json::kvNullable(w, "description", t.description);
  json::kvNullable(w, "connector", t.connector_id);
  json::kvNullable(w, "provider_reference", t.provider_ref);
  json::key(w, "failure");
  if (t.failure_code.empty()) {
    w.Null();
  } else {
    w.StartObject();
    json::kv(w, "code", t.failure_code);
    json::kv(w, "message", t.failure_message);
    w.EndObject();
  }
  json::key(w, "next_action");
  if (t.next_action_url.empty()) {
    w.Null();
  } else {
    w.StartObject();
    json::kv(w, "type", "redirect");
    json::kv(w, "url", t.next_action_url);
    w.EndObject();
  }
  json::key(w, "attempts");
  w.StartArray();
  for (const auto& a : t.attempts) {
    w.StartObject();
    json::kv(w, "connector", a.connector_id);
    json::kv(w, "outcome", a.outcome);
    json::kvNullable(w, "error_code", a.error_code);
    json::kvInt(w, "latency_ms", a.latency_ms);
    w.EndObject();
  }
  w.EndArray();
  // party_json holds {"payment_method":..,"customer":..} or {"beneficiary":..}, already validated.
  rapidjson::Document party;
  party.Parse(t.party_json.c_str());
  if (!party.HasParseError() && party.IsObject()) {
    for (const auto& m : party.GetObject()) {
      w.Key(m.name.GetString(), m.name.GetStringLength());
      m.value.Accept(w);
    }
  }
  json::key(w, "metadata");
  json::raw(w, t.metadata_json);
  json::key(w, "provider_events");
  w.StartObject();
  json::kvInt(w, "count", t.provider_event_count);
  json::kvNullable(w, "last_at", t.last_provider_event_at);
  w.EndObject();
  json::kv(w, "created_at", t.created_at);
  json::kv(w, "updated_at", t.updated_at);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::string eventJson(const std::string& id, const std::string& type, const std::string& created_at, const std::string& object_json,
                      const std::string& previous_status) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "id", id);
  json::kv(w, "object", "event");
  json::kv(w, "type", type);
  json::key(w, "sequence");
  w.Null();  // store::WriteSet writes the number in its place
  json::kv(w, "created_at", created_at);
  json::key(w, "data");
  w.StartObject();
  json::key(w, "object");
  json::raw(w, object_json);
  json::kvNullable(w, "previous_status", previous_status);
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace paymux::engine
