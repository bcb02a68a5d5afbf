#pragma once
#include <memory>
#include <string>

#include "connectors/api/connector.h"

namespace paymux::connectors::wise {

/// Wise payouts from a Wise balance: quote, recipient account, transfer, fund. Resumable without
/// local state: the transfer's customerTransactionId is derived from our transaction id, and a
/// transfer that is no longer awaiting funding is never funded again.
/// Config: credentials.api_token (Bearer), settings.profile_id (numeric), optional
/// settings.source_currency (default: the payout currency) and settings.recipient_legal_type
/// (PRIVATE | BUSINESS, default PRIVATE); webhook.public_key (PEM) verifies X-Signature-SHA256.
class WiseConnector : public Connector {
 public:
  explicit WiseConnector(const config::ConnectorConfig& config);

  // paymux::connectors::Connector
  const Capabilities& capabilities() const override { return capabilities_; }
  CallResult create(const PaymentRequest& request, http::HttpExecutor& executor) override;
  CallResult fetchStatus(Kind kind, const std::string& provider_ref,
                         const std::string& transaction_id, http::HttpExecutor& executor) override;
  WebhookVerdict verifyWebhook(const WebhookRequest& request) const override;
  std::vector<ProviderEvent> parseWebhook(const WebhookRequest& request) const override;

 private:
  http::HttpResult send(http::HttpExecutor& executor, const std::string& method,
                        const std::string& url, const std::string& body) const;
  /// Funds an existing transfer (its status was incoming_payment_waiting).
  CallResult fund(const ProviderPayment& transfer, http::HttpExecutor& executor);
  /// Best effort: a payout reported failed must not stay fundable at Wise.
  void cancelUnfunded(const std::string& transfer_id, http::HttpExecutor& executor) const;
  std::string profileUrl(const std::string& path) const;

  config::ConnectorConfig config_;
  Capabilities capabilities_;
  std::string profile_id_;
  std::string source_currency_;  // "" = the payout's currency
  std::string legal_type_;
};

std::unique_ptr<Connector> makeWiseConnector(const config::ConnectorConfig& config);

}  // namespace paymux::connectors::wise
