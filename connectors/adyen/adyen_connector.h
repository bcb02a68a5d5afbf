#pragma once
#include <memory>
#include <string>

#include "connectors/adyen/adyen_transformers.h"
#include "connectors/api/connector.h"

namespace paymux::connectors::adyen {

/// Adyen: collections through the Checkout API (POST /v71/payments), payouts through the
/// Transfers API (POST /btl/v4/transfers), both authenticated with X-API-Key. Webhooks: standard
/// notifications (per-item HMAC) and balance-platform transfer webhooks (HmacSignature header).
///
/// YAML: base_url = the Checkout host (https://checkout-test.adyen.com); credentials.api_key
/// (required); credentials.transfers_api_key (the Balance Platform API credential, default
/// api_key); webhook.secret = the hex HMAC key (required); credentials.transfer_webhook_hmac_key
/// (the transfer webhook's own HMAC key, default webhook.secret); settings.merchant_account
/// (required for collections), settings.balance_account_id (required for payouts),
/// settings.transfers_base_url (https://balanceplatform-api-test.adyen.com; default base_url),
/// settings.return_url, settings.priority (default "regular"),
/// settings.recurring_processing_model (default "UnscheduledCardOnFile").
class AdyenConnector : public Connector {
 public:
  /// Throws std::invalid_argument naming a missing or invalid key (never its value).
  explicit AdyenConnector(const config::ConnectorConfig& config);

  // paymux::connectors::Connector
  const Capabilities& capabilities() const override { return capabilities_; }
  CallResult create(const PaymentRequest& request, http::HttpExecutor& executor) override;
  // why no fetchStatus: Checkout has no "get payment" endpoint (outcomes arrive by webhook). The
  // Transfers API has GET /btl/v4/transfers/{id}, but can_fetch_status is one flag per connector,
  // and declaring it would make the engine poll collections that cannot be fetched.
  WebhookVerdict verifyWebhook(const WebhookRequest& request) const override;
  std::vector<ProviderEvent> parseWebhook(const WebhookRequest& request) const override;
  std::string webhookAckBody() const override { return "[accepted]"; }

 private:
  CallResult send(const std::string& url, const Secret& api_key, const std::string& body,
                  const PaymentRequest& request, http::HttpExecutor& executor) const;

  config::ConnectorConfig config_;
  Capabilities capabilities_;
  RequestSettings settings_;
  std::string transfers_base_url_;
  Secret transfers_api_key_;  // Balance Platform API credential (default: api_key)
  Secret notification_key_;   // hex HMAC key of standard notifications
  Secret transfer_key_;       // hex HMAC key of balance-platform transfer webhooks
};

std::unique_ptr<Connector> makeAdyenConnector(const config::ConnectorConfig& config);

}  // namespace paymux::connectors::adyen
