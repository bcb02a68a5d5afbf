#pragma once
// The PayPal simulator's state, shared by paypal_simulator.cc (auth, webhooks, routing) and
// paypal_sim_api.cc (orders and payouts). Not part of the public interface.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/paypal/paypal_sim_signer.h"
#include "connectors/paypal/paypal_simulator.h"
#include "connectors/simkit/sim_server.h"
#include "services/common/http_client.h"
#include "services/common/json.h"

namespace paymux::connectors::paypal {

struct SimOrder {
  std::string id, status, scenario;
  std::string reference_id, custom_id, description, currency, value;
  std::string payer_email, return_url, cancel_url;
  std::string capture_id, capture_status;  // set once captured (or a webhook needed one)
  int64_t created_unix = 0;
};

struct SimPayoutItem {
  std::string id, batch_id, status, scenario;
  std::string recipient_type, receiver, sender_item_id, currency, value;
  std::string error_name, error_message;
};

struct SimBatch {
  std::string id, sender_batch_id, email_subject;
  std::vector<std::string> item_ids;
  int64_t created_unix = 0;
};

struct PayPalSimulator::Impl {
  using Clock = std::chrono::steady_clock;

  simkit::SimOptions options;
  std::string client_id, client_secret, webhook_id;
  std::chrono::seconds token_ttl{3600};
  SimSigner signer;
  std::string base_url;         // set once the server listens
  http::CurlExecutor executor;  // webhook deliveries

  mutable std::mutex mutex;                         // everything below
  std::map<std::string, Clock::time_point> tokens;  // access token -> expiry
  int reject_bearer = 0;
  std::map<std::string, SimOrder> orders;
  std::map<std::string, SimBatch> batches;
  std::map<std::string, SimPayoutItem> items;
  std::map<std::string, std::string> batch_by_sender_id;
  std::map<std::string, simkit::SimResponse> replies;  // "<route>|<PayPal-Request-Id>"
  long objects = 0, tokens_issued = 0, schema_failures = 0, webhooks_sent = 0;

  // One worker thread runs delayed tasks (async outcomes, webhook deliveries requested over
  // HTTP: those must not block a server thread that paymux may be calling back into).
  std::condition_variable cv;
  std::multimap<Clock::time_point, std::function<void()>> tasks;
  bool stopping = false;
  std::thread worker;
  std::unique_ptr<simkit::SimServer> server;
  PayPalSimulator* owner = nullptr;

  Impl(simkit::SimOptions opts);

  simkit::SimResponse handle(const simkit::SimRequest& req);
  simkit::SimResponse issueToken(const simkit::SimRequest& req);
  bool bearerValid(const simkit::SimRequest& req);
  simkit::SimResponse simRoute(const simkit::SimRequest& req);
  simkit::SimResponse checkoutNow(const simkit::SimRequest& req);
  void schedule(std::chrono::milliseconds delay, std::function<void()> task);
  void workerLoop();
  /// POSTs to webhook_url now (caller's thread); returns the HTTP status or 0.
  long deliver(const SignedWebhook& hook);

  // paypal_sim_api.cc
  simkit::SimResponse api(const simkit::SimRequest& req);
  simkit::SimResponse createOrder(const simkit::SimRequest& req);
  simkit::SimResponse captureOrder(const simkit::SimRequest& req, const std::string& id);
  simkit::SimResponse createPayout(const simkit::SimRequest& req);
  /// Marks the order APPROVED; returns its resource JSON. Throws std::out_of_range.
  std::string approveLocked(const std::string& order_id);
  std::string orderJson(const SimOrder& order) const;
  std::string captureJson(const SimOrder& order) const;
  std::string itemJson(const SimPayoutItem& item) const;
  std::string batchJson(const SimBatch& batch, bool with_items) const;
};

/// PayPal's error body: {name, message, debug_id, details[{issue, description}], links}.
std::string paypalError(const std::string& name, const std::string& message,
                        const std::string& issue = "", const std::string& description = "");
/// {"href", "rel", "method"}: one HATEOAS link.
void writeLink(json::Writer& w, const std::string& href, const char* rel, const char* method);
/// A PayPal-looking id: upper-case letters and digits.
std::string paypalId(size_t length);
/// The first simkit scenario token in `text` ("tok_success" when none).
std::string scenarioOf(const std::string& text);

}  // namespace paymux::connectors::paypal
