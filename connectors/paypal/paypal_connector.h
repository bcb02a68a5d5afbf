#pragma once
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "connectors/api/connector.h"
#include "connectors/paypal/paypal_auth.h"
#include "connectors/paypal/paypal_transformers.h"
#include "connectors/paypal/paypal_webhook.h"

namespace paymux::connectors::paypal {

/// PayPal REST: collections as Orders v2 (created, approved by the payer, then captured by
/// followUp on CHECKOUT.ORDER.APPROVED), payouts as single-item Payouts v1 batches, webhooks
/// verified offline against PayPal's signing certificate.
///
/// Config: credentials.client_id, credentials.client_secret (required); settings.return_url,
/// cancel_url, brand_name, payout_email_subject, webhook_id (required to verify webhooks),
/// cert_hosts (default "api.paypal.com,api.sandbox.paypal.com"), allow_http_cert_url ("true"
/// for local simulators only). Unknown keys are rejected.
class PayPalConnector : public Connector {
 public:
  /// `cert_executor` fetches webhook certificates (verifyWebhook is handed no executor);
  /// nullptr gives the connector a CurlExecutor of its own.
  explicit PayPalConnector(const config::ConnectorConfig& config,
                           std::unique_ptr<http::HttpExecutor> cert_executor = nullptr);

  // paymux::connectors::Connector
  const Capabilities& capabilities() const override { return capabilities_; }
  CallResult create(const PaymentRequest& request, http::HttpExecutor& executor) override;
  /// For an order the payer approved but nobody captured yet, captures it (idempotently).
  CallResult fetchStatus(Kind kind, const std::string& provider_ref,
                         const std::string& transaction_id, http::HttpExecutor& executor) override;
  WebhookVerdict verifyWebhook(const WebhookRequest& request) const override;
  std::vector<ProviderEvent> parseWebhook(const WebhookRequest& request) const override;
  /// Captures the order of a CHECKOUT.ORDER.APPROVED event; nullopt for every other event.
  std::optional<CallResult> followUp(const ProviderEvent& event,
                                     http::HttpExecutor& executor) override;

  /// Certificate downloads so far (each URL is fetched once, refused hosts never).
  long certificateFetches() const { return certs_->fetches(); }

 private:
  using Sent = std::variant<http::HttpResult, ConnectorError>;

  /// Sends with a bearer token; after a 401, refreshes the token once and retries once.
  Sent call(http::HttpRequestSpec spec, http::HttpExecutor& executor);
  CallResult createOrder(const PaymentRequest& request, http::HttpExecutor& executor);
  CallResult createPayout(const PaymentRequest& request, http::HttpExecutor& executor);
  CallResult captureOrder(const std::string& order_id, http::HttpExecutor& executor);
  CallResult getOrder(const std::string& order_id, http::HttpExecutor& executor);
  /// GET /v1/payments/payouts/{id}; `fallback` answers when that call fails.
  CallResult getPayoutBatch(const std::string& batch_id, http::HttpExecutor& executor,
                            std::optional<ProviderPayment> fallback);
  /// An order answer: 2xx parsed, declines as failed payments, anything else an error.
  CallResult interpretOrder(const Sent& sent, const std::string& order_id) const;
  std::string url(std::string_view path) const { return base_url_ + std::string(path); }

  config::ConnectorConfig config_;
  Capabilities capabilities_;
  std::string base_url_;
  OrderOptions order_options_;
  std::string payout_email_subject_;
  WebhookCheck webhook_check_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<TokenCache> tokens_;
  std::unique_ptr<CertificateCache> certs_;
};

/// Factory for the registry: `{"paypal", &paypal::makePayPalConnector}`.
std::unique_ptr<Connector> makePayPalConnector(const config::ConnectorConfig& config);

}  // namespace paymux::connectors::paypal
