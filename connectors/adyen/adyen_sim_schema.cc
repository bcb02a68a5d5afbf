#include "connectors/adyen/adyen_sim_schema.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>

#include <mutex>
#include <rapidjson/stringbuffer.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#ifndef PAYMUX_ADYEN_SCHEMA_DIR
#error "PAYMUX_ADYEN_SCHEMA_DIR must be defined (connectors/adyen/CMakeLists.txt)"
#endif

namespace paymux::connectors::adyen {
namespace {

std::string pointerText(const rapidjson::Pointer& pointer) {
  rapidjson::StringBuffer sb;
  pointer.StringifyUriFragment(sb);
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace

struct RequestSchema::Impl {
  // why: the source document outlives the SchemaDocument compiled from it (RapidJSON's schemas
  // keep pointers into it).
  rapidjson::Document source;
  std::unique_ptr<rapidjson::SchemaDocument> schema;
  std::mutex mutex;
};

RequestSchema::RequestSchema(const std::string& dir, const std::string& file)
    : impl_(std::make_unique<Impl>()) {
  std::string path = dir + "/" + file;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("adyen simulator: cannot read schema " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::string json = text.str();
  impl_->source.Parse(json.c_str(), json.size());
  if (impl_->source.HasParseError() || !impl_->source.IsObject()) {
    throw std::runtime_error("adyen simulator: schema " + path + " is not a JSON object");
  }
  impl_->schema = std::make_unique<rapidjson::SchemaDocument>(impl_->source);
}

RequestSchema::~RequestSchema() = default;

std::optional<std::string> RequestSchema::check(std::string_view body) const {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) {
    return std::string("invalid JSON at offset ") + std::to_string(doc.GetErrorOffset()) + ": " +
           rapidjson::GetParseError_En(doc.GetParseError());
  }
  // why: RapidJSON's schema regex keeps matching state inside the compiled schema, so
  // validations against one schema must not run concurrently.
  std::lock_guard lock(impl_->mutex);
  rapidjson::SchemaValidator validator(*impl_->schema);
  if (doc.Accept(validator)) return std::nullopt;
  return pointerText(validator.GetInvalidDocumentPointer()) + ": " +
         validator.GetInvalidSchemaKeyword() + " (schema " +
         pointerText(validator.GetInvalidSchemaPointer()) + ")";
}

std::string defaultSchemaDir() { return PAYMUX_ADYEN_SCHEMA_DIR; }

}  // namespace paymux::connectors::adyen
