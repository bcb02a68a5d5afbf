// Target (a): request bodies of POST /v1/collections and POST /v1/payouts through
// api::SchemaSet::parseAndValidate, exactly as routes.cc calls it. A 400 ApiError is the expected
// answer to bad input; any other exception, a crash, UB, or a body that validates but breaks what
// the engine assumes of a validated body (engine/payments.cc parse()) is a bug.
#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "services/api/validation.h"
#include "services/common/api_error.h"
#include "tests/fuzz/targets/fuzz_support.h"

namespace {

using paymux::fuzz::violated;

const paymux::api::SchemaSet& schemas() {
  static const auto* set = new paymux::api::SchemaSet(PAYMUX_FUZZ_SCHEMA_DIR);
  return *set;
}

bool isString(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it != obj.MemberEnd() && it->value.IsString();
}

/// No string of a validated body may hold U+0000: RapidJSON's "pattern" stops at the NUL (so
/// "GB33...\u0000<anything>" passes an IBAN pattern) and PostgreSQL cannot store it in text or
/// jsonb (the insert fails: a 500 for bad input).
bool hasNul(const rapidjson::Value& v) {
  if (v.IsString())
    return std::string_view(v.GetString(), v.GetStringLength()).find('\0') !=
           std::string_view::npos;
  if (v.IsArray()) {
    for (const auto& item : v.GetArray()) {
      if (hasNul(item)) return true;
    }
  }
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (hasNul(m.name) || hasNul(m.value)) return true;
    }
  }
  return false;
}

/// What PaymentService::create reads without checking (GetInt64, GetString, doc["..."]).
void checkValidated(const rapidjson::Document& doc, bool collection) {
  if (!doc.IsObject()) violated("validated body is not an object");
  // why: recursion is safe here, a validated body is at most three levels deep.
  if (hasNul(doc)) violated("validated body contains U+0000");
  auto amount = doc.FindMember("amount");
  if (amount == doc.MemberEnd() || !amount->value.IsInt64()) violated("amount is not an int64");
  int64_t value = amount->value.GetInt64();
  if (value < 1 || value > 1000000000000) violated("amount outside 1..10^12");
  if (!isString(doc, "currency") || doc["currency"].GetStringLength() != 3) {
    violated("currency is not a 3-character string");
  }
  if (!isString(doc, "reference")) violated("reference is not a string");
  const char* party = collection ? "payment_method" : "beneficiary";
  auto p = doc.FindMember(party);
  if (p == doc.MemberEnd() || !p->value.IsObject() || !isString(p->value, "type")) {
    violated("payment_method / beneficiary has no string type");
  }
  if (auto meta = doc.FindMember("metadata"); meta != doc.MemberEnd()) {
    if (!meta->value.IsObject()) violated("metadata is not an object");
    if (meta->value.MemberCount() > 50) violated("metadata has more than 50 keys");
    for (const auto& m : meta->value.GetObject()) {
      if (!m.value.IsString()) violated("metadata value is not a string");
    }
  }
}

void validate(const char* schema, const std::string& body, bool collection) {
  rapidjson::Document doc;
  try {
    schemas().parseAndValidate(schema, body, doc);
  } catch (const paymux::ApiError& e) {
    if (e.status != 400) violated("validation error is not a 400");
    if (e.code != "json_invalid" && e.code != "parameter_missing" &&
        e.code != "parameter_unknown" && e.code != "parameter_invalid") {
      violated("validation error code is not one of API.md's 400 codes");
    }
    // The error is rendered into the response body: it must stay valid JSON.
    std::string rendered = paymux::errorBody(e);
    rapidjson::Document check;
    check.Parse<rapidjson::kParseValidateEncodingFlag>(rendered.c_str(), rendered.size());
    if (check.HasParseError() || !check.IsObject()) violated("errorBody is not valid JSON");
    return;
  }
  checkValidated(doc, collection);
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry points
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  paymux::fuzz::quietLogs();
  schemas();
  return 0;
}

// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  validate("collection_create", body, true);
  validate("payout_create", body, false);
  return 0;
}
