#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "services/common/config.h"
#include "services/common/http_client.h"
#include "services/common/payment_types.h"

namespace paymux::connectors {

struct PaymentMethod {
  std::string type;  // card | sepa_debit | paypal | bank_transfer
  std::string token;
  std::string mandate;
  std::string email;
};

struct Customer {
  std::string id, email, name, country;
};

struct Beneficiary {
  std::string type;  // bank_account | paypal | provider_account
  std::string name, iban, account_number, sort_code, routing_number, email, account_id;
};

/// Our normalised request, as validated by the API.
struct PaymentRequest {
  std::string transaction_id;   // our public id (col_... / pay_...)
  Kind kind = Kind::kCollect;
  int64_t amount_minor = 0;
  std::string currency;         // ISO 4217, upper case
  int currency_exponent = 2;    // minor-unit exponent of currency
  std::string reference;
  std::string description;
  PaymentMethod payment_method;  // collections
  Customer customer;             // collections
  Beneficiary beneficiary;       // payouts
  std::map<std::string, std::string> metadata;
  /// Stable per (transaction, connector): a retry can never create a second provider object.
  std::string idempotency_key;
};

struct Failure {
  std::string code;
  std::string message;
};

/// The provider's view of a payment after a call or a status fetch.
struct ProviderPayment {
  TxStatus status = TxStatus::kProcessing;
  std::string provider_ref;
  std::optional<Failure> failure;   // set when status is failed
  std::string redirect_url;         // set when status is requires_action
  std::optional<int64_t> amount_minor;
  std::string currency;
  std::string provider_status;  // the provider's own word, for logs and the record
};

/// One error type for every connector. Failover reads only `retryable`.
struct ConnectorError {
  bool retryable = false;
  /// The request may have reached the provider (timeout after send): never fail over, the
  /// transaction stays processing until a webhook or status fetch settles it.
  bool outcome_unknown = false;
  long http_status = 0;
  std::string code;
  std::string message;   // never contains credentials
  std::string provider_ref;
};

using CallResult = std::variant<ProviderPayment, ConnectorError>;

struct Capabilities {
  std::vector<Kind> kinds;
  std::vector<std::string> currencies;   // empty = any
  std::vector<std::string> methods;      // payment method / beneficiary types; empty = any
  bool can_fetch_status = false;
};

/// A raw inbound webhook. Header names are lower-cased; body is the exact bytes received.
struct WebhookRequest {
  http::Headers headers;
  std::string body;
  int64_t now_unix = 0;
  std::string header(std::string_view name) const;
};

/// One provider event parsed from a webhook body (a body may carry several).
struct ProviderEvent {
  std::string event_id;       // unique per connector; duplicates share it
  std::string event_type;     // provider's own name, for the record
  std::string provider_ref;   // provider's payment id
  std::string our_id;         // our transaction id if the provider echoed it, else ""
  std::optional<TxStatus> status;   // nullopt: not a status change we track
  std::optional<int64_t> amount_minor;
  std::string currency;       // upper case
  std::optional<Failure> failure;
  int64_t occurred_at_unix = 0;
  /// The provider documents this final-to-final change (GoCardless charged_back after
  /// confirmed): it is applied although the state machine calls it a conflict.
  bool documented_reversal = false;
};

struct WebhookVerdict {
  bool ok = false;
  std::string reason;  // for logs and metrics; never contains secrets
};

class WebhookParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A provider integration. Holds no state about payments (the engine persists); all I/O goes
/// through the HttpExecutor it is handed.
class Connector {
 public:
  virtual ~Connector() = default;

  virtual const Capabilities& capabilities() const = 0;

  /// Creates the collection or payout at the provider.
  virtual CallResult create(const PaymentRequest& request, http::HttpExecutor& executor) = 0;

  /// Fetches the provider's current view (only when capabilities().can_fetch_status).
  virtual CallResult fetchStatus(Kind kind, const std::string& provider_ref,
                                 const std::string& transaction_id, http::HttpExecutor& executor);

  /// Checks the signature over the raw bytes.
  virtual WebhookVerdict verifyWebhook(const WebhookRequest& request) const = 0;

  /// Parses a verified body into events. Throws WebhookParseError on malformed input.
  virtual std::vector<ProviderEvent> parseWebhook(const WebhookRequest& request) const = 0;

  /// A call some providers need after an event before the payment settles (PayPal captures an
  /// approved order). Runs after the event is stored, outside any database transaction; the
  /// result's status is then reconciled like the event's. nullopt: no follow-up needed.
  virtual std::optional<CallResult> followUp(const ProviderEvent& /*event*/,
                                             http::HttpExecutor& /*executor*/) {
    return std::nullopt;
  }

  /// Body of the 2xx answer to a provider webhook (Adyen wants "[accepted]").
  virtual std::string webhookAckBody() const { return "{\"received\":true}"; }
};

/// Builds a connector from its YAML section. Throws config::ConfigError-like std::invalid_argument
/// naming the missing credential/setting (never its value).
using ConnectorFactory = std::unique_ptr<Connector> (*)(const config::ConnectorConfig&);

/// Maps the transport outcome of a call to a ConnectorError when it failed, or nullopt.
std::optional<ConnectorError> transportError(const http::HttpResult& result);

}  // namespace paymux::connectors
