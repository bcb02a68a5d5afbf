#include "connectors/sandbox/sandbox_simulator.h"

#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include "connectors/sandbox/sandbox_transformers.h"
#include "connectors/simkit/sim_server.h"
#include "services/common/crypto.h"
#include "services/common/http_client.h"
#include "services/common/json.h"

namespace paymux::connectors::sandbox {
namespace {

struct Payment {
  std::string id, kind, status, currency, reference, token, failure_code, failure_message,
      redirect_url;
  int64_t amount = 0;
};

std::string paymentJson(const Payment& p, bool include_reference = true) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "id", p.id);
  json::kv(w, "object", "payment");
  json::kv(w, "kind", p.kind);
  json::kv(w, "status", p.status);
  json::kvInt(w, "amount", p.amount);
  json::kv(w, "currency", p.currency);
  if (include_reference) json::kv(w, "reference", p.reference);
  if (!p.failure_code.empty()) {
    json::kv(w, "failure_code", p.failure_code);
    json::kv(w, "failure_message", p.failure_message);
  }
  if (!p.redirect_url.empty()) json::kv(w, "redirect_url", p.redirect_url);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

simkit::SimResponse error(int status, const std::string& code) {
  return {status, "{\"error\":{\"code\":\"" + code + "\"}}"};
}

}  // namespace

struct SandboxSimulator::Impl {
  SimulatorOptions options;
  mutable std::mutex mutex;
  std::map<std::string, Payment> payments;
  std::map<std::string, std::string> idempotency;  // key -> payment id
  std::vector<std::string> created_order;
  SimulatorStats stats;
  http::CurlExecutor executor;

  // Asynchronous outcomes (tok_async), completed by one thread.
  std::condition_variable cv;
  std::multimap<std::chrono::steady_clock::time_point, std::string> due;
  bool stopping = false;
  std::thread async_thread;
  std::unique_ptr<simkit::SimServer> server;
  SandboxSimulator* owner = nullptr;

  simkit::SimResponse handle(const simkit::SimRequest& req);
  simkit::SimResponse create(const simkit::SimRequest& req);
  void asyncLoop();
};

simkit::SimResponse SandboxSimulator::Impl::create(const simkit::SimRequest& req) {
  if (req.header("authorization") != "Bearer " + options.api_key) return error(401, "unauthorized");
  rapidjson::Document doc;
  doc.Parse(req.body.c_str());
  if (doc.HasParseError() || !doc.IsObject()) return error(400, "invalid_json");
  auto amount = json::getInt(doc, "amount");
  auto currency = json::getString(doc, "currency");
  auto kind = json::getString(doc, "kind");
  auto reference = json::getString(doc, "reference");
  if (!amount || *amount <= 0 || !currency || !kind || !reference) {
    return error(400, "parameter_missing");
  }
  std::string token = json::getString(doc, "token").value_or("tok_success");
  std::string key = req.header("idempotency-key");
  std::lock_guard lock(mutex);
  ++stats.create_requests;
  if (token == "tok_error") return error(503, "server_error");
  if (options.fail_status != 0) return error(options.fail_status, "outage");
  simkit::SimResponse resp;
  resp.delay = std::chrono::milliseconds(options.latency_ms);
  if (!key.empty()) {
    auto it = idempotency.find(key);
    if (it != idempotency.end()) {
      resp.body = paymentJson(payments[it->second]);
      return resp;
    }
  }
  Payment p;
  p.id = crypto::randomId("sbx", 16);
  p.kind = *kind;
  p.amount = *amount;
  p.currency = *currency;
  p.reference = *reference;
  p.token = token;
  bool payout = p.kind == "payout";
  std::string success = payout ? "paid" : "succeeded";
  if (token == "tok_decline") {
    p.status = "failed";
    p.failure_code = payout ? "account_closed" : "card_declined";
    p.failure_message = payout ? "The beneficiary account is closed." : "The card was declined.";
  } else if (token == "tok_timeout") {
    // The provider does the work but its answer comes too late: only a status fetch or a
    // webhook tells paymux the outcome.
    p.status = success;
    resp.delay += std::chrono::milliseconds(options.timeout_ms);
  } else if (token == "tok_slow") {
    p.status = success;
    resp.delay += std::chrono::milliseconds(options.slow_ms);
  } else if (token == "tok_slow_async") {
    p.status = "processing";
    resp.delay += std::chrono::milliseconds(options.slow_ms);
  } else if (token == "tok_async") {
    p.status = "processing";
    due.emplace(std::chrono::steady_clock::now() + std::chrono::milliseconds(options.async_ms), p.id);
    cv.notify_all();
  } else if (token == "tok_action") {
    p.status = "requires_action";
    p.redirect_url = "https://sandbox.invalid/authenticate/" + p.id;
  } else if (token == "tok_unknown") {
    p.status = "under_review";
  } else {
    p.status = success;
  }
  payments[p.id] = p;
  created_order.push_back(p.id);
  if (!key.empty()) idempotency[key] = p.id;
  ++stats.payments;
  resp.body = paymentJson(p);
  return resp;
}

simkit::SimResponse SandboxSimulator::Impl::handle(const simkit::SimRequest& req) {
  if (req.method == "GET" && req.path == "/health") return {200, "{\"ok\":true}"};
  if (req.method == "POST" && req.path == "/v1/payments") return create(req);
  const std::string prefix = "/v1/payments/";
  if (req.method == "GET" && req.path == "/v1/payments") {
    if (req.header("authorization") != "Bearer " + options.api_key) return error(401, "unauthorized");
    std::string wanted = req.query.rfind("reference=", 0) == 0 ? req.query.substr(10) : "";
    std::lock_guard lock(mutex);
    ++stats.status_requests;
    for (const auto& [id, p] : payments) {
      if (p.reference == wanted) return {200, paymentJson(p)};
    }
    return error(404, "resource_missing");
  }
  if (req.method == "GET" && req.path.rfind(prefix, 0) == 0) {
    if (req.header("authorization") != "Bearer " + options.api_key) return error(401, "unauthorized");
    std::lock_guard lock(mutex);
    ++stats.status_requests;
    auto it = payments.find(req.path.substr(prefix.size()));
    if (it == payments.end()) return error(404, "resource_missing");
    simkit::SimResponse resp{200, paymentJson(it->second)};
    resp.delay = std::chrono::milliseconds(options.latency_ms);
    return resp;
  }
  if (req.method == "GET" && req.path == "/sim/stats") {
    std::lock_guard lock(mutex);
    return {200, "{\"create_requests\":" + std::to_string(stats.create_requests) +
                     ",\"payments\":" + std::to_string(stats.payments) +
                     ",\"webhooks_sent\":" + std::to_string(stats.webhooks_sent) + "}"};
  }
  if (req.method == "POST" && req.path == "/sim/webhooks") {
    rapidjson::Document doc;
    doc.Parse(req.body.c_str());
    if (doc.HasParseError() || !doc.IsObject()) return error(400, "invalid_json");
    auto hook = owner->webhook(json::getString(doc, "payment_id").value_or(""),
                               json::getString(doc, "status").value_or(""),
                               json::getString(doc, "deliver").value_or("true") != "false",
                               json::getString(doc, "event_id").value_or(""),
                               json::getInt(doc, "amount").value_or(-1),
                               json::getString(doc, "currency").value_or(""));
    rapidjson::StringBuffer sb;
    json::Writer w(sb);
    w.StartObject();
    json::kv(w, "body", hook.body);
    json::kv(w, "signature", hook.signature);
    json::kvInt(w, "delivery_status", hook.delivery_status);
    w.EndObject();
    return {200, std::string(sb.GetString(), sb.GetSize())};
  }
  return error(404, "not_found");
}

void SandboxSimulator::Impl::asyncLoop() {
  std::unique_lock lock(mutex);
  while (!stopping) {
    if (due.empty()) {
      cv.wait(lock);
      continue;
    }
    auto when = due.begin()->first;
    if (std::chrono::steady_clock::now() < when) {
      cv.wait_until(lock, when);
      continue;
    }
    std::string id = due.begin()->second;
    due.erase(due.begin());
    auto& p = payments[id];
    p.status = p.kind == "payout" ? "paid" : "succeeded";
    lock.unlock();
    owner->webhook(id, p.status, !options.webhook_url.empty());
    lock.lock();
  }
}

SandboxSimulator::SandboxSimulator(SimulatorOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->owner = this;
  impl_->async_thread = std::thread([this] { impl_->asyncLoop(); });
  impl_->server = std::make_unique<simkit::SimServer>(
      impl_->options.host, impl_->options.port,
      [this](const simkit::SimRequest& r) { return impl_->handle(r); }, impl_->options.threads);
}

SandboxSimulator::~SandboxSimulator() {
  impl_->server->shutdown();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->async_thread.join();
}

std::vector<std::string> SandboxSimulator::paymentIds() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->created_order;
}

std::string SandboxSimulator::baseUrl() const { return impl_->server->baseUrl(); }
int SandboxSimulator::port() const { return impl_->server->port(); }

SimulatorStats SandboxSimulator::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

SandboxSimulator::SignedWebhook SandboxSimulator::webhook(const std::string& payment_id,
                                                          const std::string& status, bool deliver,
                                                          const std::string& event_id,
                                                          int64_t amount,
                                                          const std::string& currency,
                                                          int64_t timestamp,
                                                          bool include_reference) {
  Payment p;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->payments.find(payment_id);
    if (it != impl_->payments.end()) p = it->second;
    p.id = payment_id;
  }
  if (!status.empty()) p.status = status;
  if (amount >= 0) p.amount = amount;
  if (!currency.empty()) p.currency = currency;
  if (timestamp == 0) timestamp = static_cast<int64_t>(std::time(nullptr));
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "id", event_id.empty() ? crypto::randomId("evt", 20) : event_id);
  json::kv(w, "type", "payment.updated");
  json::kvInt(w, "created", timestamp);
  json::key(w, "data");
  json::raw(w, paymentJson(p, include_reference));
  w.EndObject();
  SignedWebhook hook;
  hook.body.assign(sb.GetString(), sb.GetSize());
  hook.signature = signatureHeader(impl_->options.webhook_secret, timestamp, hook.body);
  if (deliver && !impl_->options.webhook_url.empty()) {
    http::HttpRequestSpec spec{"POST", impl_->options.webhook_url,
                               {{"Content-Type", "application/json"},
                                {"Sandbox-Signature", hook.signature}},
                               hook.body};
    auto result = impl_->executor.send(spec, std::chrono::milliseconds(10000));
    hook.delivery_status = result.ok() ? result.response.status : 0;
    std::lock_guard lock(impl_->mutex);
    ++impl_->stats.webhooks_sent;
  }
  return hook;
}

}  // namespace paymux::connectors::sandbox
