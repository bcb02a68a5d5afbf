#include "connectors/paypal/paypal_auth.h"

#include <algorithm>

#include "connectors/paypal/paypal_transformers.h"
#include "services/common/crypto.h"
#include "services/common/json.h"

namespace paymux::connectors::paypal {
namespace {

// why: long enough to absorb the callers queued behind a failed fetch, short enough that a
// recovered token endpoint is used again at once.
constexpr std::chrono::seconds kFailureHold(1);

}  // namespace

TokenCache::TokenCache(std::string token_url, Secret client_id, Secret client_secret,
                       std::chrono::milliseconds timeout)
    : token_url_(std::move(token_url)),
      client_id_(std::move(client_id)),
      client_secret_(std::move(client_secret)),
      timeout_(timeout) {}

std::chrono::milliseconds TokenCache::refreshMargin(std::chrono::seconds lifetime) {
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(60), lifetime / 10);
}

TokenCache::Result TokenCache::get(http::HttpExecutor& executor) {
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (!token_.empty() && now < renew_at_) return token_;
  if (last_error_ && now - failed_at_ < kFailureHold) return *last_error_;
  return fetchLocked(executor);
}

TokenCache::Result TokenCache::refresh(http::HttpExecutor& executor, const Secret& rejected) {
  std::lock_guard lock(mutex_);
  if (!token_.empty() && token_.reveal() != rejected.reveal() &&
      std::chrono::steady_clock::now() < renew_at_) {
    return token_;  // another caller already refreshed after the same rejection
  }
  if (token_.empty() && last_error_ &&
      std::chrono::steady_clock::now() - failed_at_ < kFailureHold) {
    return *last_error_;
  }
  return fetchLocked(executor);
}

TokenCache::Result TokenCache::fetchLocked(http::HttpExecutor& executor) {
  token_ = Secret();
  Result result = fetchToken(executor);
  if (const auto* err = std::get_if<ConnectorError>(&result)) {
    last_error_ = *err;
    failed_at_ = std::chrono::steady_clock::now();
  } else {
    last_error_.reset();
  }
  return result;
}

TokenCache::Result TokenCache::fetchToken(http::HttpExecutor& executor) {
  http::HttpRequestSpec spec;
  spec.method = "POST";
  spec.url = token_url_;
  spec.headers = {{"Authorization", "Basic " + crypto::base64Encode(client_id_.reveal() + ":" +
                                                                    client_secret_.reveal())},
                  {"Content-Type", "application/x-www-form-urlencoded"},
                  {"Accept", "application/json"}};
  spec.body = "grant_type=client_credentials";
  auto sent_at = std::chrono::steady_clock::now();
  http::HttpResult result = executor.send(spec, timeout_);
  if (!result.ok()) {
    // why: no payment request has been sent yet, so even a timeout after send is safe to fail
    // over from; the token endpoint creates nothing.
    return connectorError(true, false, 0, "provider_auth_unavailable",
                          "PayPal token endpoint: " + result.error_message, "");
  }
  const auto& resp = result.response;
  if (resp.status == 429 || resp.status >= 500) {
    return connectorError(true, false, resp.status, "provider_auth_unavailable",
                          "PayPal token endpoint answered " + std::to_string(resp.status), "");
  }
  if (resp.status != 200) {
    ApiError err = parseApiError(resp.body);
    return connectorError(
        false, false, resp.status, err.name.empty() ? "provider_auth_failed" : err.name,
        "PayPal rejected the client credentials (" + std::to_string(resp.status) + ")", "");
  }
  rapidjson::Document doc;
  doc.Parse(resp.body.c_str(), resp.body.size());
  auto token = doc.HasParseError() ? std::nullopt : json::getString(doc, "access_token");
  if (!token || token->empty()) {
    return connectorError(true, false, resp.status, "provider_auth_invalid",
                          "PayPal token answer has no access_token", "");
  }
  int64_t expires_in = doc.HasParseError() ? 0 : json::getInt(doc, "expires_in").value_or(0);
  std::chrono::seconds lifetime(expires_in > 0 ? expires_in : 60);
  // why: counted from when the request left, so the cache never outlives PayPal's own clock.
  renew_at_ = sent_at + lifetime - refreshMargin(lifetime);
  token_ = Secret(std::move(*token));
  return token_;
}

}  // namespace paymux::connectors::paypal
