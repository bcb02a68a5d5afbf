#pragma once
#include <ostream>
#include <string>
#include <utility>

namespace paymux {

/// Holds a credential; it can be used but never printed (streams as "[redacted]").
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "[redacted]"; }

 private:
  std::string value_;
};

}  // namespace paymux
