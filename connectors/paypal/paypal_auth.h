#pragma once
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "connectors/api/connector.h"
#include "services/common/secret.h"

namespace paymux::connectors::paypal {

/// PayPal's OAuth2 client-credentials access token (POST /v1/oauth2/token), cached for all calls
/// of one connector: the only state a connector keeps.
class TokenCache {
 public:
  using Result = std::variant<Secret, ConnectorError>;

  TokenCache(std::string token_url, Secret client_id, Secret client_secret,
             std::chrono::milliseconds timeout);

  /// A token that is valid for a while yet. Fetches one when none is cached or the cached one
  /// is within its refresh margin; concurrent callers wait for that single fetch.
  Result get(http::HttpExecutor& executor);

  /// After the API answered 401 to `rejected`: fetches a new token, unless another caller
  /// already replaced `rejected` (then that newer token is returned, without a fetch).
  Result refresh(http::HttpExecutor& executor, const Secret& rejected);

  /// Margin before expires_in at which a token is renewed: 60 s, or a tenth of the lifetime
  /// for tokens that live under ten minutes (simulators issue one-second tokens).
  static std::chrono::milliseconds refreshMargin(std::chrono::seconds lifetime);

 private:
  Result fetchLocked(http::HttpExecutor& executor);
  Result fetchToken(http::HttpExecutor& executor);  // sets token_ and renew_at_ on success

  const std::string token_url_;
  const Secret client_id_;
  const Secret client_secret_;
  const std::chrono::milliseconds timeout_;

  // why: one mutex held across the fetch is what makes concurrent callers share one refresh;
  // they need the token anyway, so waiting costs them nothing they could use.
  std::mutex mutex_;
  Secret token_;
  std::chrono::steady_clock::time_point renew_at_{};
  // why: when the token endpoint fails, the callers queued behind that fetch get its error
  // instead of each trying again (no herd against an endpoint that is down).
  std::optional<ConnectorError> last_error_;
  std::chrono::steady_clock::time_point failed_at_{};
};

}  // namespace paymux::connectors::paypal
