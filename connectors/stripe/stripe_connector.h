#pragma once
#include <memory>

#include "connectors/api/connector.h"

namespace paymux::connectors::stripe {

/// Stripe's REST API: collections are PaymentIntents confirmed at creation (automatic capture),
/// payouts are Payouts; webhooks are verified with the Stripe-Signature scheme.
/// Config: base_url (https://api.stripe.com), credentials.secret_key (required), webhook.secret
/// (the endpoint's whsec_...), webhook.tolerance_s, settings.return_url (after a redirect).
class StripeConnector : public Connector {
 public:
  /// Throws std::invalid_argument naming a missing setting (never a value).
  explicit StripeConnector(const config::ConnectorConfig& config);

  // paymux::connectors::Connector
  const Capabilities& capabilities() const override { return capabilities_; }
  CallResult create(const PaymentRequest& request, http::HttpExecutor& executor) override;
  CallResult fetchStatus(Kind kind, const std::string& provider_ref,
                         const std::string& transaction_id, http::HttpExecutor& executor) override;
  WebhookVerdict verifyWebhook(const WebhookRequest& request) const override;
  std::vector<ProviderEvent> parseWebhook(const WebhookRequest& request) const override;

 private:
  http::HttpRequestSpec baseRequest(std::string method, const std::string& path) const;
  CallResult call(Kind kind, const http::HttpRequestSpec& spec, http::HttpExecutor& executor) const;

  config::ConnectorConfig config_;
  Capabilities capabilities_;
  std::string return_url_;
};

std::unique_ptr<Connector> makeStripeConnector(const config::ConnectorConfig& config);

}  // namespace paymux::connectors::stripe
