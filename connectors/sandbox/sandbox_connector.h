#pragma once
#include <memory>

#include "connectors/api/connector.h"

namespace paymux::connectors::sandbox {

/// A generic JSON provider API (the bundled simulator speaks it): POST /v1/payments,
/// GET /v1/payments/{id}, webhooks signed with "Sandbox-Signature: t=..,v1=<hex hmac>".
class SandboxConnector : public Connector {
 public:
  explicit SandboxConnector(const config::ConnectorConfig& config);

  // paymux::connectors::Connector
  const Capabilities& capabilities() const override { return capabilities_; }
  CallResult create(const PaymentRequest& request, http::HttpExecutor& executor) override;
  CallResult fetchStatus(Kind kind, const std::string& provider_ref,
                         const std::string& transaction_id, http::HttpExecutor& executor) override;
  WebhookVerdict verifyWebhook(const WebhookRequest& request) const override;
  std::vector<ProviderEvent> parseWebhook(const WebhookRequest& request) const override;

 private:
  CallResult interpret(const http::HttpResult& result) const;

  config::ConnectorConfig config_;
  Capabilities capabilities_;
};

std::unique_ptr<Connector> makeSandboxConnector(const config::ConnectorConfig& config);

}  // namespace paymux::connectors::sandbox
