#pragma once
#include <memory>
#include <string>

#include "connectors/api/connector.h"

namespace paymux::connectors::gocardless {

/// GoCardless Direct Debit collections against an existing mandate (payment_method.mandate):
/// POST /payments with an Idempotency-Key (a reused key's 409 idempotent_creation_conflict
/// answers with the payment it made), GET /payments/{id}; webhooks are batches of events signed
/// with "Webhook-Signature: <hex HMAC-SHA256 of the body>".
/// Config: credentials.access_token (Bearer), webhook.secret (the endpoint's secret).
class GoCardlessConnector : public Connector {
 public:
  explicit GoCardlessConnector(const config::ConnectorConfig& config);

  // paymux::connectors::Connector
  const Capabilities& capabilities() const override { return capabilities_; }
  CallResult create(const PaymentRequest& request, http::HttpExecutor& executor) override;
  CallResult fetchStatus(Kind kind, const std::string& provider_ref,
                         const std::string& transaction_id, http::HttpExecutor& executor) override;
  WebhookVerdict verifyWebhook(const WebhookRequest& request) const override;
  std::vector<ProviderEvent> parseWebhook(const WebhookRequest& request) const override;

 private:
  http::HttpRequestSpec spec(const std::string& method, const std::string& path) const;
  /// The payment in a 2xx answer, or the error the answer means.
  CallResult interpret(const http::HttpResult& result, const std::string& what) const;

  config::ConnectorConfig config_;
  Capabilities capabilities_;
};

std::unique_ptr<Connector> makeGoCardlessConnector(const config::ConnectorConfig& config);

}  // namespace paymux::connectors::gocardless
