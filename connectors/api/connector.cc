#include "connectors/api/connector.h"

#include <algorithm>

namespace paymux::connectors {

std::string WebhookRequest::header(std::string_view name) const {
  std::string wanted(name);
  std::transform(wanted.begin(), wanted.end(), wanted.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const auto& [k, v] : headers) {
    if (k == wanted) return v;
  }
  return "";
}

CallResult Connector::fetchStatus(Kind, const std::string&, const std::string&,
                                  http::HttpExecutor&) {
  return ConnectorError{false, false, 0, "status_fetch_unsupported",
                        "this connector cannot fetch a payment's status", ""};
}

std::optional<ConnectorError> transportError(const http::HttpResult& result) {
  using http::TransportError;
  switch (result.error) {
    case TransportError::kNone:
      return std::nullopt;
    case TransportError::kConnect:
      return ConnectorError{true, false, 0, "provider_unreachable", result.error_message, ""};
    case TransportError::kTimeoutBeforeSend:
      return ConnectorError{true, false, 0, "provider_timeout", result.error_message, ""};
    case TransportError::kTimeoutAfterSend:
      return ConnectorError{false, true, 0, "provider_timeout", result.error_message, ""};
    case TransportError::kOther:
      return ConnectorError{false, true, 0, "provider_transport_error", result.error_message, ""};
  }
  return std::nullopt;
}

}  // namespace paymux::connectors
