#include "connectors/gocardless/gocardless_simulator.h"

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include "connectors/gocardless/gocardless_transformers.h"
#include "connectors/simkit/sim_server.h"
#include "services/common/crypto.h"
#include "services/common/http_client.h"
#include "services/common/json.h"

namespace paymux::connectors::gocardless {
namespace {

using simkit::SimRequest;
using simkit::SimResponse;
using Clock = std::chrono::steady_clock;

struct Payment {
  std::string id, status, currency, reference, description, mandate, paymux_id, created_at;
  int64_t amount = 0;
};

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

/// "PM" + 12 upper-case alphanumerics, GoCardless's id shape.
std::string gcId(const char* prefix) {
  std::string token = crypto::randomToken(12);
  for (char& c : token) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return prefix + token;
}

SimResponse gcError(int status, const std::string& type, const std::string& reason,
                    const std::string& message, const std::string& conflicting_id = "") {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "error");
  w.StartObject();
  json::kv(w, "message", message);
  json::key(w, "errors");
  w.StartArray();
  w.StartObject();
  json::kv(w, "reason", reason);
  json::kv(w, "message", message);
  if (!conflicting_id.empty()) {
    json::key(w, "links");
    w.StartObject();
    json::kv(w, "conflicting_resource_id", conflicting_id);
    w.EndObject();
  }
  w.EndObject();
  w.EndArray();
  json::kv(w, "documentation_url", "https://developer.gocardless.com/api-reference#" + reason);
  json::kv(w, "type", type);
  json::kv(w, "request_id", gcId("RQ"));
  json::kvInt(w, "code", status);
  w.EndObject();
  w.EndObject();
  return {status, std::string(sb.GetString(), sb.GetSize())};
}

std::string paymentJson(const Payment& p) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "payments");
  w.StartObject();
  json::kv(w, "id", p.id);
  json::kv(w, "created_at", p.created_at);
  json::kvInt(w, "amount", p.amount);
  json::kv(w, "currency", p.currency);
  json::kv(w, "status", p.status);
  json::kvNullable(w, "reference", p.reference);
  json::kvNullable(w, "description", p.description);
  json::kvInt(w, "amount_refunded", 0);
  json::key(w, "metadata");
  w.StartObject();
  if (!p.paymux_id.empty()) json::kv(w, "paymux_id", p.paymux_id);
  w.EndObject();
  json::key(w, "links");
  w.StartObject();
  json::kv(w, "mandate", p.mandate);
  json::kv(w, "creditor", "CR000SIMULATOR");
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

/// The status a payment has after `action`; other actions leave it as it is.
std::string statusAfter(const std::string& action, const std::string& current) {
  if (action == "created" || action == "customer_approval_granted") return "pending_submission";
  for (const char* s : {"submitted", "confirmed", "paid_out", "failed", "cancelled",
                        "charged_back", "customer_approval_denied"}) {
    if (action == s) return action;
  }
  return current;
}

}  // namespace

struct GoCardlessSimulator::Impl {
  simkit::SimOptions options;
  mutable std::mutex mutex;
  std::map<std::string, Payment> payments;
  std::map<std::string, std::string> idempotency;  // Idempotency-Key -> payment id
  long create_requests = 0, webhooks_sent = 0;
  http::CurlExecutor executor;
  std::condition_variable cv;
  std::multimap<Clock::time_point, std::string> due;  // tok_async payments to confirm
  bool stopping = false;
  std::thread async_thread;
  std::unique_ptr<simkit::SimServer> server;
  GoCardlessSimulator* owner = nullptr;

  SimResponse handle(const SimRequest& req);
  SimResponse create(const SimRequest& req);
  SimResponse simWebhook(const SimRequest& req);
  void asyncLoop();
};

SimResponse GoCardlessSimulator::Impl::create(const SimRequest& req) {
  rapidjson::Document doc;
  doc.Parse(req.body.c_str());
  const auto* body = doc.HasParseError() ? nullptr : json::getObject(doc, "payments");
  const auto* links = body ? json::getObject(*body, "links") : nullptr;
  auto amount = body ? json::getInt(*body, "amount") : std::nullopt;
  auto currency = body ? json::getString(*body, "currency") : std::nullopt;
  auto mandate = links ? json::getString(*links, "mandate") : std::nullopt;
  if (!amount || *amount <= 0 || !currency || !mandate) {
    return gcError(422, "validation_failed", "validation_failed",
                   "payments.amount, payments.currency and links.mandate are required");
  }
  std::string key = req.header("idempotency-key");
  std::lock_guard lock(mutex);
  ++create_requests;
  if (auto it = idempotency.find(key); !key.empty() && it != idempotency.end()) {
    return gcError(409, "invalid_state", "idempotent_creation_conflict",
                   "A resource has already been created with this idempotency key", it->second);
  }
  if (mandate->find("tok_error") != std::string::npos) {
    return gcError(500, "gocardless", "internal_server_error", "Uh-oh! Something went wrong");
  }
  if (mandate->find("tok_decline") != std::string::npos) {
    return gcError(422, "invalid_state", "mandate_is_inactive",
                   "The mandate is cancelled, failed or expired");
  }
  Payment p;
  p.id = gcId("PM");
  p.status = mandate->find("tok_unknown") != std::string::npos ? "under_review"
                                                                : "pending_submission";
  p.amount = *amount;
  p.currency = *currency;
  p.mandate = *mandate;
  p.reference = json::getString(*body, "reference").value_or("");
  p.description = json::getString(*body, "description").value_or("");
  if (const auto* metadata = json::getObject(*body, "metadata")) {
    p.paymux_id = json::getString(*metadata, "paymux_id").value_or("");
  }
  p.created_at = nowRfc3339();
  payments[p.id] = p;
  if (!key.empty()) idempotency[key] = p.id;
  SimResponse resp{201, paymentJson(p)};
  resp.delay = std::chrono::milliseconds(options.latency_ms);
  if (mandate->find("tok_timeout") != std::string::npos) {
    resp.delay += std::chrono::milliseconds(options.timeout_ms);
  } else if (mandate->find("tok_slow") != std::string::npos) {
    resp.delay += std::chrono::milliseconds(options.slow_ms);
  } else if (mandate->find("tok_async") != std::string::npos) {
    due.emplace(Clock::now() + std::chrono::milliseconds(options.async_ms), p.id);
    cv.notify_all();
  }
  return resp;
}

SimResponse GoCardlessSimulator::Impl::simWebhook(const SimRequest& req) {
  rapidjson::Document doc;
  doc.Parse(req.body.c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    return gcError(400, "invalid_api_usage", "invalid_document_structure", "bad JSON");
  }
  auto flag = [&](const char* name) {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd()) return true;
    return it->value.IsBool()
               ? it->value.GetBool()
               : !(it->value.IsString() && std::string(it->value.GetString()) == "false");
  };
  std::string id = json::getString(doc, "payment_id").value_or("");
  std::vector<Event> events;
  if (auto action = json::getString(doc, "action")) {
    events.push_back({id, *action, json::getString(doc, "event_id").value_or("")});
  }
  if (auto it = doc.FindMember("actions"); it != doc.MemberEnd() && it->value.IsArray()) {
    for (const auto& a : it->value.GetArray()) {
      if (a.IsString()) events.push_back({id, a.GetString(), ""});
    }
  }
  if (flag("apply")) {
    std::lock_guard lock(mutex);
    auto it = payments.find(id);
    if (it == payments.end()) return gcError(404, "invalid_api_usage", "resource_not_found", id);
    for (const auto& e : events) it->second.status = statusAfter(e.action, it->second.status);
  }
  auto hook = owner->webhook(events, flag("deliver"));
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "body", hook.body);
  json::kv(w, "signature", hook.signature);
  json::kvInt(w, "delivery_status", hook.delivery_status);
  w.EndObject();
  return {200, std::string(sb.GetString(), sb.GetSize())};
}

SimResponse GoCardlessSimulator::Impl::handle(const SimRequest& req) {
  if (req.method == "GET" && req.path == "/health") return {200, R"({"ok":true})"};
  if (req.method == "POST" && req.path == "/sim/webhooks") return simWebhook(req);
  if (req.method == "GET" && req.path == "/sim/stats") {
    std::lock_guard lock(mutex);
    return {200, R"({"payments":)" + std::to_string(payments.size()) + R"(,"create_requests":)" +
                     std::to_string(create_requests) + R"(,"webhooks_sent":)" +
                     std::to_string(webhooks_sent) + "}"};
  }
  if (req.header("authorization") != "Bearer " + options.api_key) {
    return gcError(401, "invalid_api_usage", "authentication_failed",
                   "Authentication failed: the access token is invalid");
  }
  if (req.header("gocardless-version") != kApiVersion) {
    return gcError(400, "invalid_api_usage", "version_not_found",
                   "GoCardless-Version header missing or unknown");
  }
  if (req.method == "POST" && req.path == "/payments") return create(req);
  const std::string payments_prefix = "/payments/";
  if (req.method == "GET" && req.path.rfind(payments_prefix, 0) == 0) {
    std::lock_guard lock(mutex);
    auto it = payments.find(req.path.substr(payments_prefix.size()));
    if (it == payments.end()) {
      return gcError(404, "invalid_api_usage", "resource_not_found", "Resource not found");
    }
    SimResponse resp{200, paymentJson(it->second)};
    resp.delay = std::chrono::milliseconds(options.latency_ms);
    return resp;
  }
  const std::string scenario_prefix = "/scenario_simulators/payment_";
  const std::string run_suffix = "/actions/run";
  if (req.method == "POST" && req.path.rfind(scenario_prefix, 0) == 0 &&
      req.path.size() > scenario_prefix.size() + run_suffix.size() &&
      req.path.compare(req.path.size() - run_suffix.size(), run_suffix.size(), run_suffix) == 0) {
    std::string action = req.path.substr(
        scenario_prefix.size(), req.path.size() - scenario_prefix.size() - run_suffix.size());
    rapidjson::Document doc;
    doc.Parse(req.body.c_str());
    const auto* data = doc.HasParseError() ? nullptr : json::getObject(doc, "data");
    const auto* links = data ? json::getObject(*data, "links") : nullptr;
    std::string id = links ? json::getString(*links, "resource").value_or("") : "";
    if (!owner->advance(id, {action})) {
      return gcError(404, "invalid_api_usage", "resource_not_found", "Resource not found");
    }
    return {200, R"({"scenario_simulators":{"id":"payment_)" + action + R"("}})"};
  }
  return gcError(404, "invalid_api_usage", "path_not_found", "Path not found");
}

void GoCardlessSimulator::Impl::asyncLoop() {
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
    lock.unlock();
    owner->advance(id, {"submitted", "confirmed"});
    lock.lock();
  }
}

GoCardlessSimulator::GoCardlessSimulator(simkit::SimOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.api_key.empty()) impl_->options.api_key = kDefaultApiKey;
  if (impl_->options.webhook_secret.empty()) impl_->options.webhook_secret = kDefaultWebhookSecret;
  impl_->owner = this;
  impl_->async_thread = std::thread([this] { impl_->asyncLoop(); });
  impl_->server = std::make_unique<simkit::SimServer>(
      impl_->options.host, impl_->options.port,
      [this](const SimRequest& r) { return impl_->handle(r); }, impl_->options.threads);
}

GoCardlessSimulator::~GoCardlessSimulator() {
  impl_->server->shutdown();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->async_thread.join();
}

std::string GoCardlessSimulator::baseUrl() const { return impl_->server->baseUrl(); }
int GoCardlessSimulator::port() const { return impl_->server->port(); }

long GoCardlessSimulator::objectsCreated() const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<long>(impl_->payments.size());
}
long GoCardlessSimulator::createRequests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->create_requests;
}
long GoCardlessSimulator::webhooksSent() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->webhooks_sent;
}

bool GoCardlessSimulator::advance(const std::string& payment_id,
                                  const std::vector<std::string>& actions) {
  std::vector<Event> events;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->payments.find(payment_id);
    if (it == impl_->payments.end()) return false;
    for (const auto& action : actions) {
      it->second.status = statusAfter(action, it->second.status);
      events.push_back({payment_id, action, ""});
    }
  }
  webhook(events, true);
  return true;
}

GoCardlessSimulator::SignedWebhook GoCardlessSimulator::webhook(const std::vector<Event>& events,
                                                                bool deliver) {
  std::string now = nowRfc3339();
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "events");
  w.StartArray();
  for (const auto& e : events) {
    std::string paymux_id;
    {
      std::lock_guard lock(impl_->mutex);
      auto it = impl_->payments.find(e.payment_id);
      if (it != impl_->payments.end()) paymux_id = it->second.paymux_id;
    }
    bool bank = e.action == "failed" || e.action == "charged_back";
    w.StartObject();
    json::kv(w, "id", e.event_id.empty() ? gcId("EV") : e.event_id);
    json::kv(w, "created_at", now);
    json::kv(w, "resource_type", "payments");
    json::kv(w, "action", e.action);
    json::key(w, "links");
    w.StartObject();
    json::kv(w, "payment", e.payment_id);
    w.EndObject();
    json::key(w, "details");
    w.StartObject();
    json::kv(w, "origin", bank ? "bank" : "gocardless");
    json::kv(w, "cause", e.action == "failed"         ? "insufficient_funds"
                         : e.action == "charged_back" ? "authorisation_disputed"
                                                      : "payment_" + e.action);
    json::kv(w, "description", "Simulated payment " + e.action + ".");
    w.EndObject();
    json::key(w, "metadata");
    w.StartObject();
    w.EndObject();
    json::key(w, "resource_metadata");
    w.StartObject();
    if (!paymux_id.empty()) json::kv(w, "paymux_id", paymux_id);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  SignedWebhook hook;
  hook.body.assign(sb.GetString(), sb.GetSize());
  hook.signature = webhookSignature(impl_->options.webhook_secret, hook.body);
  if (deliver && !impl_->options.webhook_url.empty()) {
    http::HttpRequestSpec spec{"POST", impl_->options.webhook_url,
                               {{"Content-Type", "application/json"},
                                {"Webhook-Signature", hook.signature},
                                {"User-Agent", "gocardless-webhook-service/1.1"}},
                               hook.body};
    auto result = impl_->executor.send(spec, std::chrono::milliseconds(10000));
    hook.delivery_status = result.ok() ? result.response.status : 0;
    std::lock_guard lock(impl_->mutex);
    ++impl_->webhooks_sent;
  }
  return hook;
}

}  // namespace paymux::connectors::gocardless
