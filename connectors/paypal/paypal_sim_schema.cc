#include "connectors/paypal/paypal_sim_schema.h"

#include <rapidjson/document.h>
#include <rapidjson/schema.h>

#include <mutex>
#include <rapidjson/stringbuffer.h>

#include <memory>
#include <stdexcept>

namespace paymux::connectors::paypal {
namespace {

std::unique_ptr<rapidjson::SchemaDocument> load(const char* text) {
  rapidjson::Document doc;
  doc.Parse(text);
  if (doc.HasParseError() || !doc.IsObject()) {
    throw std::logic_error("embedded PayPal schema is not valid JSON");
  }
  return std::make_unique<rapidjson::SchemaDocument>(doc);
}

const rapidjson::SchemaDocument& schemaFor(RequestSchema schema) {
  // why: compiled once; validateRequest serialises its use (see there).
  static const auto kOrder = load(schemas::kOrderRequest);
  static const auto kPayout = load(schemas::kCreatePayoutRequest);
  switch (schema) {
    case RequestSchema::kOrderRequest:
      return *kOrder;
    case RequestSchema::kCreatePayoutRequest:
      return *kPayout;
  }
  throw std::logic_error("unknown schema");
}

std::string pointer(const rapidjson::Pointer& p) {
  rapidjson::StringBuffer sb;
  p.StringifyUriFragment(sb);
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace

std::string validateRequest(RequestSchema schema, std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) return "body is not valid JSON";
  // why: RapidJSON's schema regex keeps matching state inside the compiled schema, so
  // validations against one schema must not run concurrently.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  rapidjson::SchemaValidator validator(schemaFor(schema));
  if (doc.Accept(validator)) return "";
  return std::string(validator.GetInvalidSchemaKeyword()) + " violated at " +
         pointer(validator.GetInvalidDocumentPointer()) + " (schema " +
         pointer(validator.GetInvalidSchemaPointer()) + ")";
}

}  // namespace paymux::connectors::paypal
