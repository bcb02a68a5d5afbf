#pragma once
#include <pistache/http.h>

#include <algorithm>
#include <sstream>

#include "services/common/http_client.h"

namespace paymux::http {

/// Every request header (header-only: include it only from targets that link Pistache) with a lower-cased name. Pistache parses the headers it knows into typed
/// objects and keeps the rest raw, so both lists are read.
inline Headers allHeaders(const Pistache::Http::Request& request) {
  http::Headers out;
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  for (const auto& [name, value] : request.headers().rawList()) {
    out.emplace_back(lower(name), value.value());
  }
  for (const auto& header : request.headers().list()) {
    std::ostringstream value;
    header->write(value);
    out.emplace_back(lower(header->name()), value.str());
  }
  return out;
}

/// A response header with a name known only at run time. Pistache 0.0.5 writes only typed
/// headers on the wire (raw ones are dropped), so every custom header goes through this type.
class DynamicHeader : public Pistache::Http::Header::Header {
 public:
  DynamicHeader(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void parse(const std::string& data) override { value_ = data; }
  void write(std::ostream& os) const override { os << value_; }
#ifdef SAFE_HEADER_CAST
  uint64_t hash() const override { return std::hash<std::string>()(name_); }
#endif

 private:
  std::string name_;
  std::string value_;
};

inline void addHeader(Pistache::Http::ResponseWriter& writer, const std::string& name,
                      const std::string& value) {
  writer.headers().add(std::make_shared<DynamicHeader>(name, value));
}

}  // namespace paymux::http
