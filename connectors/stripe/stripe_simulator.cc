#include "connectors/stripe/stripe_simulator.h"

#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "connectors/simkit/sim_server.h"
#include "connectors/stripe/stripe_sim_wire.h"
#include "connectors/stripe/stripe_transformers.h"
#include "connectors/stripe/stripe_webhook.h"
#include "services/common/crypto.h"
#include "services/common/http_client.h"
#include "services/common/json.h"

namespace paymux::connectors::stripe {
namespace {

using sim::Params;
using sim::SimObject;
using sim::stripeError;
using Clock = std::chrono::steady_clock;

/// A first answer kept for an Idempotency-Key, replayed for the same request.
struct StoredAnswer {
  std::string path;
  Params params;
  int status = 200;
  std::string body;
};

int64_t nowUnix() { return static_cast<int64_t>(std::time(nullptr)); }

bool isPositiveInteger(const std::string& s) {
  if (s.empty() || s.size() > 12 || s == "0") return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

struct StripeSimulator::Impl {
  simkit::SimOptions options;
  StripeSimulator* owner = nullptr;
  http::CurlExecutor executor;

  mutable std::mutex mutex;
  std::map<std::string, SimObject> objects;
  std::map<std::string, StoredAnswer> answers;  // by Idempotency-Key
  long objects_created = 0;
  long webhooks_sent = 0;

  // tok_async outcomes, completed by one member thread.
  std::condition_variable cv;
  std::multimap<Clock::time_point, std::string> due;
  bool stopping = false;
  std::thread async_thread;
  std::unique_ptr<simkit::SimServer> server;

  simkit::SimResponse handle(const simkit::SimRequest& req);
  simkit::SimResponse create(bool payout, const simkit::SimRequest& req);
  simkit::SimResponse retrieve(const std::string& id, bool payout);
  simkit::SimResponse simWebhook(const simkit::SimRequest& req);
  void asyncLoop();
  std::chrono::milliseconds latency() const {
    return std::chrono::milliseconds(options.latency_ms);
  }
};

simkit::SimResponse StripeSimulator::Impl::create(bool payout, const simkit::SimRequest& req) {
  const Params params = sim::parseForm(req.body);
  auto param = [&params](const std::string& name) {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  };
  std::string key = req.header("idempotency-key");
  std::lock_guard lock(mutex);
  if (!key.empty()) {
    if (auto it = answers.find(key); it != answers.end()) {
      if (it->second.path != req.path || it->second.params != params) {
        return stripeError(400, "idempotency_error", "",
                           "Keys for idempotent requests can only be used with the same "
                           "parameters they were first used with. Try using a key other than '" +
                               key + "' if you meant to execute a different request.");
      }
      simkit::SimResponse replay{it->second.status, it->second.body};
      replay.headers = {{"Idempotent-Replayed", "true"}};
      replay.delay = latency();
      return replay;
    }
  }
  // A payout without destination goes to the account's default bank account (as on Stripe);
  // an intent confirmed at creation needs its payment method.
  std::vector<std::string> required = {"amount", "currency"};
  if (!payout) required.emplace_back("payment_method");
  for (const auto& name : required) {
    if (param(name).empty()) {
      return stripeError(400, "invalid_request_error", "parameter_missing",
                         "Missing required param: " + name + ".");
    }
  }
  if (!isPositiveInteger(param("amount"))) {
    return stripeError(400, "invalid_request_error", "parameter_invalid_integer",
                       "Invalid integer: " + param("amount"));
  }
  const std::string token = param(payout ? "destination" : "payment_method");
  if (token == "tok_error") {
    return stripeError(500, "api_error", "", "An unknown error occurred");
  }
  SimObject o;
  o.payout = payout;
  o.id = (payout ? "po_" : "pi_") + crypto::randomToken(24);
  o.amount = std::stoll(param("amount"));
  o.currency = param("currency");
  o.description = param("description");
  o.method = token;
  o.created = nowUnix();
  o.return_url = param("return_url");
  for (const auto& [k, v] : params) {
    if (k.rfind("metadata[", 0) == 0 && k.back() == ']') o.metadata[k.substr(9, k.size() - 10)] = v;
  }
  simkit::SimResponse resp;
  resp.delay = latency();
  o.status = payout ? "paid" : "succeeded";
  if (token == "tok_decline" && payout) {
    o.status = "failed";
    o.failure_code = "account_closed";
    o.failure_message = "The bank account has been closed.";
  } else if (token == "tok_decline") {
    o.status = "requires_payment_method";
    o.error_code = "card_declined";
    o.decline_code = "card_declined";
    o.error_message = "Your card was declined.";
  } else if (token == "tok_timeout") {
    // The work is done; only the answer is late (the caller cannot know which).
    resp.delay += std::chrono::milliseconds(options.timeout_ms);
  } else if (token == "tok_slow") {
    resp.delay += std::chrono::milliseconds(options.slow_ms);
  } else if (token == "tok_async") {
    o.status = payout ? "pending" : "processing";
    due.emplace(Clock::now() + std::chrono::milliseconds(options.async_ms), o.id);
    cv.notify_all();
  } else if (token == "tok_action" && !payout) {
    o.status = "requires_action";
    o.redirect_url =
        "https://hooks.stripe.com/redirect/authenticate/src_sim?payment_intent=" + o.id;
  } else if (token == "tok_unknown") {
    o.status = "some_future_status";
  }
  objects[o.id] = o;
  ++objects_created;
  simkit::SimResponse answer =
      o.error_code.empty() ? simkit::SimResponse{200, sim::objectJson(o)}
                           : stripeError(402, "card_error", o.error_code, o.error_message, &o);
  resp.status = answer.status;
  resp.body = answer.body;
  if (!key.empty()) answers[key] = StoredAnswer{req.path, params, resp.status, resp.body};
  return resp;
}

simkit::SimResponse StripeSimulator::Impl::retrieve(const std::string& id, bool payout) {
  std::lock_guard lock(mutex);
  auto it = objects.find(id);
  if (it == objects.end() || it->second.payout != payout) {
    return stripeError(
        404, "invalid_request_error", "resource_missing",
        std::string("No such ") + (payout ? "payout" : "payment_intent") + ": '" + id + "'");
  }
  simkit::SimResponse resp{200, sim::objectJson(it->second)};
  resp.delay = latency();
  return resp;
}

simkit::SimResponse StripeSimulator::Impl::simWebhook(const simkit::SimRequest& req) {
  rapidjson::Document doc;
  doc.Parse(req.body.c_str(), req.body.size());
  auto object_id = json::getString(doc, "object_id");
  auto type = json::getString(doc, "type");
  if (doc.HasParseError() || !object_id || !type) {
    return stripeError(400, "invalid_request_error", "parameter_missing",
                       "expected JSON {object_id, type, status, event_id?, deliver?}");
  }
  bool deliver =
      !(doc.HasMember("deliver") && doc["deliver"].IsBool() && !doc["deliver"].GetBool());
  auto hook = owner->event(*object_id, *type, json::getString(doc, "status").value_or(""), deliver,
                           json::getString(doc, "event_id").value_or(""));
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "body", hook.body);
  json::kv(w, "signature", hook.signature);
  json::kvInt(w, "delivery_status", hook.delivery_status);
  w.EndObject();
  return {200, std::string(sb.GetString(), sb.GetSize())};
}

simkit::SimResponse StripeSimulator::Impl::handle(const simkit::SimRequest& req) {
  if (req.method == "GET" && req.path == "/health") return {200, "{\"ok\":true}"};
  if (req.method == "POST" && req.path == "/sim/webhooks") return simWebhook(req);
  if (req.method == "GET" && req.path == "/sim/stats") {
    std::lock_guard lock(mutex);
    return {200, "{\"objects_created\":" + std::to_string(objects_created) +
                     ",\"webhooks_sent\":" + std::to_string(webhooks_sent) + "}"};
  }
  if (req.header("authorization") != "Bearer " + options.api_key) {
    return stripeError(401, "invalid_request_error", "", "Invalid API Key provided: sk_****");
  }
  const std::string intents = "/v1/payment_intents", payouts = "/v1/payouts";
  if (req.method == "POST" && req.path == intents) return create(false, req);
  if (req.method == "POST" && req.path == payouts) return create(true, req);
  if (req.method == "GET" && req.path.rfind(intents + "/", 0) == 0) {
    return retrieve(req.path.substr(intents.size() + 1), false);
  }
  if (req.method == "GET" && req.path.rfind(payouts + "/", 0) == 0) {
    return retrieve(req.path.substr(payouts.size() + 1), true);
  }
  return stripeError(404, "invalid_request_error", "",
                     "Unrecognized request URL (" + req.method + ": " + req.path + ").");
}

void StripeSimulator::Impl::asyncLoop() {
  std::unique_lock lock(mutex);
  while (!stopping) {
    if (due.empty()) {
      cv.wait(lock);
      continue;
    }
    auto when = due.begin()->first;
    if (Clock::now() < when) {
      cv.wait_until(lock, when);
      continue;
    }
    std::string id = due.begin()->second;
    due.erase(due.begin());
    auto& o = objects[id];
    o.status = o.payout ? "paid" : "succeeded";
    std::string type = o.payout ? "payout.paid" : "payment_intent.succeeded";
    lock.unlock();
    owner->event(id, type, "", true);
    lock.lock();
  }
}

StripeSimulator::StripeSimulator(simkit::SimOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.api_key.empty()) impl_->options.api_key = "sk_test_sim";
  if (impl_->options.webhook_secret.empty()) impl_->options.webhook_secret = "whsec_sim";
  impl_->owner = this;
  impl_->async_thread = std::thread([this] { impl_->asyncLoop(); });
  impl_->server = std::make_unique<simkit::SimServer>(
      impl_->options.host, impl_->options.port,
      [this](const simkit::SimRequest& r) {
        auto resp = impl_->handle(r);
        resp.headers.emplace_back("Request-Id", "req_" + crypto::randomToken(14));
        return resp;
      },
      impl_->options.threads);
}

StripeSimulator::~StripeSimulator() {
  impl_->server->shutdown();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->async_thread.join();
}

std::string StripeSimulator::baseUrl() const { return impl_->server->baseUrl(); }
int StripeSimulator::port() const { return impl_->server->port(); }

long StripeSimulator::objectsCreated() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->objects_created;
}

StripeSimulator::SignedWebhook StripeSimulator::event(const std::string& object_id,
                                                      const std::string& event_type,
                                                      const std::string& status, bool deliver,
                                                      const std::string& event_id,
                                                      int64_t timestamp) {
  SimObject o;
  {
    std::lock_guard lock(impl_->mutex);
    if (auto it = impl_->objects.find(object_id); it != impl_->objects.end()) {
      o = it->second;
    } else {
      o.id = object_id;
      o.payout = event_type.rfind("payout.", 0) == 0;
      o.currency = "eur";
      o.created = nowUnix();
    }
  }
  if (!status.empty()) o.status = status;
  if (event_type == "payment_intent.payment_failed" && o.error_code.empty()) {
    o.error_code = o.decline_code = "card_declined";
    o.error_message = "Your card was declined.";
  }
  if (o.payout && o.status == "failed" && o.failure_code.empty()) {
    o.failure_code = "account_closed";
    o.failure_message = "The bank account has been closed.";
  }
  if (timestamp == 0) timestamp = nowUnix();
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "id", event_id.empty() ? "evt_" + crypto::randomToken(24) : event_id);
  json::kv(w, "object", "event");
  json::kv(w, "api_version", kApiVersion);
  json::kvInt(w, "created", timestamp);
  json::key(w, "data");
  w.StartObject();
  json::key(w, "object");
  sim::writeObject(w, o);
  w.EndObject();
  json::key(w, "livemode");
  w.Bool(false);
  json::kvInt(w, "pending_webhooks", 1);
  json::key(w, "request");
  w.StartObject();
  json::key(w, "id");
  w.Null();
  json::key(w, "idempotency_key");
  w.Null();
  w.EndObject();
  json::kv(w, "type", event_type);
  w.EndObject();
  SignedWebhook hook;
  hook.body.assign(sb.GetString(), sb.GetSize());
  hook.signature = signatureHeader(impl_->options.webhook_secret, timestamp, hook.body);
  if (deliver && !impl_->options.webhook_url.empty()) {
    http::HttpRequestSpec spec{"POST",
                               impl_->options.webhook_url,
                               {{"Content-Type", "application/json; charset=utf-8"},
                                {"User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
                                {"Stripe-Signature", hook.signature}},
                               hook.body};
    auto result = impl_->executor.send(spec, std::chrono::milliseconds(5000));
    hook.delivery_status = result.ok() ? result.response.status : 0;
    std::lock_guard lock(impl_->mutex);
    ++impl_->webhooks_sent;
  }
  return hook;
}

}  // namespace paymux::connectors::stripe
