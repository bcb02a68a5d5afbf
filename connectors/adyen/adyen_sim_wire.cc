#include "connectors/adyen/adyen_sim_wire.h"

#include <algorithm>
#include <cctype>

#include "services/common/crypto.h"
#include "services/common/json.h"
#include "services/common/log.h"

namespace paymux::connectors::adyen::sim {
namespace {

std::string finish(rapidjson::StringBuffer& sb) {
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace

// Adyen references are 16 upper-case alphanumerics.
std::string newReference() {
  std::string id = crypto::randomToken(16);
  std::transform(id.begin(), id.end(), id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return id;
}

// Checkout's ServiceError (also the Transfers API's 401 shape).
simkit::SimResponse serviceError(int status, const std::string& code, const std::string& message,
                                 const std::string& type) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kvInt(w, "status", status);
  json::kv(w, "errorCode", code);
  json::kv(w, "message", message);
  json::kv(w, "errorType", type);
  w.EndObject();
  return {status, finish(sb)};
}

// The Transfers API's RestServiceError (RFC 7807 problem details).
simkit::SimResponse problem(int status, const std::string& code, const std::string& title,
                            const std::string& detail) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(
      w, "type",
      "https://docs.adyen.com/errors/" + std::string(status == 422 ? "validation" : "general"));
  json::kv(w, "title", title);
  json::kvInt(w, "status", status);
  json::kv(w, "detail", detail);
  json::kv(w, "errorCode", code);
  w.EndObject();
  return {status, finish(sb)};
}

std::string stringAt(const rapidjson::Value& root, std::initializer_list<const char*> path) {
  const rapidjson::Value* v = &root;
  for (const char* name : path) {
    if (!v->IsObject()) return "";
    auto it = v->FindMember(name);
    if (it == v->MemberEnd()) return "";
    v = &it->value;
  }
  return v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : "";
}

std::string scenario(std::initializer_list<std::string> candidates) {
  for (const auto& c : candidates) {
    if (c.rfind("tok_", 0) == 0) return c;
  }
  return "tok_success";
}

bool flag(const rapidjson::Value& v, const char* name, bool fallback) {
  auto it = v.FindMember(name);
  if (it == v.MemberEnd()) return fallback;
  if (it->value.IsBool()) return it->value.GetBool();
  return it->value.IsString() ? std::string(it->value.GetString()) != "false" : fallback;
}

std::string transferJson(const Transfer& t, int sequence, const std::string& tracking_status) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "id", t.id);
  json::key(w, "amount");
  w.StartObject();
  json::kv(w, "currency", t.currency);
  json::kvInt(w, "value", t.amount);
  w.EndObject();
  json::key(w, "balanceAccount");
  w.StartObject();
  json::kv(w, "id", t.balance_account);
  w.EndObject();
  json::kv(w, "category", "bank");
  if (!t.counterparty_json.empty()) {
    json::key(w, "counterparty");
    json::raw(w, t.counterparty_json);
  }
  json::kv(w, "direction", "outgoing");
  json::kv(w, "reason", t.reason);
  json::kv(w, "reference", t.reference);
  if (sequence > 0) {
    json::key(w, "sequenceNumber");
    w.Int(sequence);
  }
  json::kv(w, "status", t.status);
  if (!tracking_status.empty()) {
    json::key(w, "tracking");
    w.StartObject();
    json::kv(w, "status", tracking_status);
    json::kv(w, "type", "confirmation");
    w.EndObject();
  }
  json::kv(w, "type", "bankTransfer");
  w.EndObject();
  return finish(sb);
}

std::string paymentJson(const Payment& p) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "amount");
  w.StartObject();
  json::kv(w, "currency", p.currency);
  json::kvInt(w, "value", p.amount);
  w.EndObject();
  json::kv(w, "merchantReference", p.reference);
  json::kv(w, "pspReference", p.psp);
  json::kv(w, "resultCode", p.result_code);
  if (p.result_code == "Refused") {
    json::kv(w, "refusalReason", "Refused");
    json::kv(w, "refusalReasonCode", "2");
  }
  if (p.result_code == "RedirectShopper") {
    json::key(w, "action");
    w.StartObject();
    json::kv(w, "method", "GET");
    json::kv(w, "paymentMethodType", "scheme");
    json::kv(w, "type", "redirect");
    json::kv(w, "url", "https://adyen-sim.invalid/checkoutshopper/redirect/" + p.psp);
    w.EndObject();
  }
  w.EndObject();
  return finish(sb);
}

std::string transferWebhookBody(const std::string& transfer_json) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "data");
  json::raw(w, transfer_json);
  json::kv(w, "environment", "test");
  json::kv(w, "timestamp", log::nowRfc3339());
  json::kv(w, "type", "balancePlatform.transfer.updated");
  w.EndObject();
  return finish(sb);
}

}  // namespace paymux::connectors::adyen::sim
