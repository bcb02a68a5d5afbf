#include "services/engine/payment_request.h"

#include "services/common/api_error.h"
#include "services/common/currency.h"
#include "services/common/json.h"

namespace paymux::engine {
namespace {

constexpr size_t kMetadataKeyMax = 40;

std::string member(const rapidjson::Value& obj, const char* name) {
  return json::getString(obj, name).value_or("");
}

}  // namespace

ParsedRequest parseRequest(Kind kind, const rapidjson::Value& doc) {
  ParsedRequest out;
  auto& p = out.payment;
  p.kind = kind;
  p.amount_minor = doc["amount"].GetInt64();
  p.currency = member(doc, "currency");
  auto currency = findCurrency(p.currency);
  if (!currency) {
    throw ApiError::invalid("parameter_invalid",
                            "currency must be an ISO 4217 code that paymux knows", "currency");
  }
  p.currency_exponent = currency->exponent;
  p.reference = member(doc, "reference");
  p.description = member(doc, "description");
  out.forced_connector = member(doc, "connector");
  if (const auto* meta = json::getObject(doc, "metadata")) {
    for (const auto& m : meta->GetObject()) {
      std::string key(m.name.GetString(), m.name.GetStringLength());
      if (key.empty() || key.size() > kMetadataKeyMax) {
        throw ApiError::invalid("parameter_invalid", "metadata keys must be 1-40 characters",
                                "metadata");
      }
      p.metadata[key] = m.value.GetString();
    }
    out.metadata_json = json::serialize(*meta);
  }
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  if (kind == Kind::kCollect) {
    const auto& pm = doc["payment_method"];
    p.payment_method = {member(pm, "type"), member(pm, "token"), member(pm, "mandate"),
                        member(pm, "email")};
    out.method = p.payment_method.type;
    json::key(w, "payment_method");
    pm.Accept(w);
    if (const auto* c = json::getObject(doc, "customer")) {
      p.customer = {member(*c, "id"), member(*c, "email"), member(*c, "name"), member(*c, "country")};
      out.country = p.customer.country;
      json::key(w, "customer");
      c->Accept(w);
    }
  } else {
    const auto& b = doc["beneficiary"];
    p.beneficiary = {member(b, "type"),           member(b, "name"),      member(b, "iban"),
                     member(b, "account_number"), member(b, "sort_code"), member(b, "routing_number"),
                     member(b, "email"),          member(b, "account_id")};
    out.method = p.beneficiary.type;
    json::key(w, "beneficiary");
    b.Accept(w);
  }
  w.EndObject();
  out.party_json.assign(sb.GetString(), sb.GetSize());
  return out;
}

ParsedRequest requestOf(const store::TransactionRecord& tx) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("amount", tx.amount_minor, a);
  doc.AddMember("currency", rapidjson::Value(tx.currency.c_str(), a), a);
  doc.AddMember("reference", rapidjson::Value(tx.reference.c_str(), a), a);
  if (!tx.description.empty()) {
    doc.AddMember("description", rapidjson::Value(tx.description.c_str(), a), a);
  }
  rapidjson::Document metadata(&a);
  metadata.Parse(tx.metadata_json.c_str());
  if (metadata.IsObject() && metadata.MemberCount() > 0) {
    doc.AddMember("metadata", rapidjson::Value(metadata, a), a);
  }
  rapidjson::Document party(&a);
  party.Parse(tx.party_json.c_str());
  if (party.IsObject()) {
    for (auto& m : party.GetObject()) {
      doc.AddMember(rapidjson::Value(m.name, a), rapidjson::Value(m.value, a), a);
    }
  }
  ParsedRequest parsed = parseRequest(tx.kind, doc);
  parsed.payment.transaction_id = tx.id;
  return parsed;
}

}  // namespace paymux::engine
