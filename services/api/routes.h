#pragma once
#include <functional>
#include <string>
#include <vector>

#include "connectors/registry.h"
#include "services/api/http_types.h"
#include "services/api/validation.h"
#include "services/engine/payments.h"
#include "services/engine/subscriptions.h"
#include "services/engine/webhooks.h"
#include "services/store/api_key_cache.h"
#include "services/store/migrations.h"
#include "services/store/pool.h"

namespace paymux::api {

/// Everything the routes need; owned by paymuxd's main.
struct ApiContext {
  const config::Config* config = nullptr;
  store::Pool* pool = nullptr;
  const connectors::ConnectorSet* connectors = nullptr;
  engine::PaymentService* payments = nullptr;
  engine::EventService* events = nullptr;
  engine::WebhookService* webhooks = nullptr;
  engine::SubscriptionService* subscriptions = nullptr;
  const SchemaSet* schemas = nullptr;
  /// Remembers checked API keys (kept current by a store::ApiKeyRevocations); null: ask the
  /// database on every request.
  store::ApiKeyCache* api_keys = nullptr;
  std::vector<store::MigrationFile> migrations;
  std::function<bool()> draining = [] { return false; };
  /// `paymuxd work`: only /healthz, /readyz and /metrics.
  bool ops_only = false;
};

/// Maps requests to handlers: auth, content type, validation, error rendering.
class ApiRouter {
 public:
  explicit ApiRouter(ApiContext context) : ctx_(std::move(context)) {}
  ApiReply handle(const ApiRequest& request);

 private:
  ApiReply dispatch(const ApiRequest& request, std::string& route);
  ApiReply readyz();
  std::string authenticate(const ApiRequest& request);
  ApiReply payments(const ApiRequest& request, Kind kind, const std::vector<std::string>& parts,
                    std::string& route);
  ApiReply events(const ApiRequest& request, const std::vector<std::string>& parts,
                  std::string& route);
  /// /v1/subscriptions... (subscription_routes.cc)
  ApiReply subscriptions(const ApiRequest& request, const std::vector<std::string>& parts,
                         std::string& route);

  ApiContext ctx_;
};

}  // namespace paymux::api
