#include "connectors/paypal/paypal_simulator.h"

#include <array>
#include <ctime>
#include <stdexcept>

#include "connectors/paypal/paypal_sim_internal.h"
#include "connectors/paypal/paypal_transformers.h"
#include "connectors/paypal/paypal_webhook.h"
#include "services/common/crypto.h"
#include "services/common/json.h"
#include "services/common/log.h"

namespace paymux::connectors::paypal {
namespace {

std::string extra(const simkit::SimOptions& o, const std::string& key,
                  const std::string& fallback) {
  auto it = o.extra.find(key);
  return it == o.extra.end() || it->second.empty() ? fallback : it->second;
}

simkit::SimResponse unauthorized() {
  return {401,
          R"({"error":"invalid_token","error_description":"Token signature verification failed"})"};
}

std::string signedWebhookJson(const SignedWebhook& hook, const std::string& delivery) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "event_id", hook.event_id);
  json::kv(w, "body", hook.body);
  json::key(w, "headers");
  w.StartObject();
  for (const auto& [k, v] : hook.headers) json::kv(w, k, v);
  w.EndObject();
  json::kv(w, "delivery", delivery);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

/// "deliver" as a JSON bool or string; default true.
bool deliverFlag(const rapidjson::Value& doc) {
  auto it = doc.FindMember("deliver");
  if (it == doc.MemberEnd()) return true;
  if (it->value.IsBool()) return it->value.GetBool();
  return !(it->value.IsString() && std::string(it->value.GetString()) == "false");
}

}  // namespace

std::string paypalError(const std::string& name, const std::string& message,
                        const std::string& issue, const std::string& description) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "name", name);
  json::kv(w, "message", message);
  json::kv(w, "debug_id", paypalId(13));
  if (!issue.empty()) {
    json::key(w, "details");
    w.StartArray();
    w.StartObject();
    json::kv(w, "issue", issue);
    json::kv(w, "description", description);
    w.EndObject();
    w.EndArray();
  }
  json::key(w, "links");
  w.StartArray();
  w.StartObject();
  json::kv(
      w, "href",
      "https://developer.paypal.com/docs/api/orders/v2/#error-" + (issue.empty() ? name : issue));
  json::kv(w, "rel", "information_link");
  json::kv(w, "method", "GET");
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::string paypalId(size_t length) {
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string bytes = crypto::randomBytes(length);
  std::string id(length, '0');
  for (size_t i = 0; i < length; ++i) {
    id[i] = kAlphabet[static_cast<unsigned char>(bytes[i]) % kAlphabet.size()];
  }
  return id;
}

std::string scenarioOf(const std::string& text) {
  static constexpr std::array<std::string_view, 9> kTokens = {
      "tok_capture_decline", "tok_success", "tok_decline", "tok_timeout", "tok_error",
      "tok_unknown",         "tok_async",   "tok_action",  "tok_slow"};
  for (auto token : kTokens) {
    if (text.find(token) != std::string::npos) return std::string(token);
  }
  return "tok_success";
}

PayPalSimulator::Impl::Impl(simkit::SimOptions opts) : options(std::move(opts)) {
  client_id = extra(options, "client_id", "sim_client");
  client_secret = extra(options, "client_secret", "sim_secret");
  webhook_id = extra(options, "webhook_id",
                     options.webhook_secret.empty() ? "SIMWEBHOOK0001" : options.webhook_secret);
  token_ttl = std::chrono::seconds(std::stoi(extra(options, "token_ttl_s", "3600")));
}

simkit::SimResponse PayPalSimulator::Impl::handle(const simkit::SimRequest& req) {
  if (req.method == "GET" && req.path == "/health") return {200, R"({"ok":true})"};
  if (req.method == "GET" && req.path == "/certs/paypal.pem") {
    simkit::SimResponse resp{200, signer.certificatePem()};
    resp.content_type = "application/x-pem-file";
    return resp;
  }
  if (req.method == "GET" && req.path == "/checkoutnow") return checkoutNow(req);
  if (req.path.rfind("/sim/", 0) == 0) return simRoute(req);
  simkit::SimResponse resp;
  if (req.method == "POST" && req.path == "/v1/oauth2/token") {
    resp = issueToken(req);
  } else if (req.path.rfind("/v1/", 0) == 0 || req.path.rfind("/v2/", 0) == 0) {
    resp = bearerValid(req) ? api(req) : unauthorized();
  } else {
    return {404, paypalError("RESOURCE_NOT_FOUND", "The specified resource does not exist.")};
  }
  resp.delay += std::chrono::milliseconds(options.latency_ms);
  return resp;
}

simkit::SimResponse PayPalSimulator::Impl::issueToken(const simkit::SimRequest& req) {
  std::string expected = "Basic " + crypto::base64Encode(client_id + ":" + client_secret);
  if (!crypto::constantTimeEquals(req.header("authorization"), expected)) {
    return {401,
            R"({"error":"invalid_client","error_description":"Client Authentication failed"})"};
  }
  if (req.body.find("grant_type=client_credentials") == std::string::npos) {
    return {400, R"({"error":"unsupported_grant_type","error_description":"Grant Type is NULL"})"};
  }
  std::string token = "A21AA" + crypto::randomToken(60);
  {
    std::lock_guard lock(mutex);
    tokens[token] = Clock::now() + token_ttl;
    ++tokens_issued;
  }
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "scope",
           "https://uri.paypal.com/services/payments/payouts "
           "https://uri.paypal.com/services/payments/payment/authcapture");
  json::kv(w, "access_token", token);
  json::kv(w, "token_type", "Bearer");
  json::kv(w, "app_id", "APP-SIMULATOR000001");
  json::kvInt(w, "expires_in", token_ttl.count());
  json::kv(w, "nonce", log::nowRfc3339() + crypto::randomToken(16));
  w.EndObject();
  return {200, std::string(sb.GetString(), sb.GetSize())};
}

bool PayPalSimulator::Impl::bearerValid(const simkit::SimRequest& req) {
  std::string header = req.header("authorization");
  if (header.rfind("Bearer ", 0) != 0) return false;
  std::lock_guard lock(mutex);
  if (reject_bearer > 0) {
    --reject_bearer;
    return false;
  }
  auto it = tokens.find(header.substr(7));
  if (it == tokens.end()) return false;
  if (Clock::now() >= it->second) {
    tokens.erase(it);
    return false;
  }
  return true;
}

simkit::SimResponse PayPalSimulator::Impl::checkoutNow(const simkit::SimRequest& req) {
  std::string order_id;
  if (auto at = req.query.find("token="); at != std::string::npos) {
    order_id = req.query.substr(at + 6, req.query.find('&', at) - at - 6);
  }
  std::string resource, return_url;
  try {
    std::lock_guard lock(mutex);
    resource = approveLocked(order_id);
    return_url = orders.at(order_id).return_url;
  } catch (const std::out_of_range&) {
    return {404, paypalError("RESOURCE_NOT_FOUND", "The specified resource does not exist.")};
  }
  SignedWebhook hook = owner->event("CHECKOUT.ORDER.APPROVED", "checkout-order", resource);
  schedule(std::chrono::milliseconds(0), [this, hook] { deliver(hook); });
  if (return_url.empty()) {
    simkit::SimResponse resp{200, "<html><body>Payment approved.</body></html>"};
    resp.content_type = "text/html";
    return resp;
  }
  simkit::SimResponse resp{302, ""};
  resp.headers.emplace_back("Location",
                            return_url + (return_url.find('?') == std::string::npos ? "?" : "&") +
                                "token=" + order_id + "&PayerID=SIMPAYER0001");
  return resp;
}

simkit::SimResponse PayPalSimulator::Impl::simRoute(const simkit::SimRequest& req) {
  if (req.method == "GET" && req.path == "/sim/stats") {
    std::lock_guard lock(mutex);
    return {200, "{\"objects_created\":" + std::to_string(objects) +
                     ",\"tokens_issued\":" + std::to_string(tokens_issued) +
                     ",\"schema_failures\":" + std::to_string(schema_failures) +
                     ",\"webhooks_sent\":" + std::to_string(webhooks_sent) + "}"};
  }
  if (req.method != "POST" || (req.path != "/sim/approve" && req.path != "/sim/webhooks")) {
    return {404, paypalError("RESOURCE_NOT_FOUND", "No such simulator route.")};
  }
  rapidjson::Document doc;
  doc.Parse(req.body.c_str(), req.body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return {400, paypalError("INVALID_REQUEST", "Body is not a JSON object.")};
  }
  bool deliver_it = deliverFlag(doc) && !options.webhook_url.empty();
  SignedWebhook hook;
  try {
    if (req.path == "/sim/approve") {
      hook = owner->approve(json::getString(doc, "order_id").value_or(""), false);
    } else {
      std::string type = json::getString(doc, "event_type").value_or("");
      std::string id = json::getString(doc, "id").value_or("");
      std::string status = json::getString(doc, "status").value_or("");
      EventOptions opts;
      opts.event_id = json::getString(doc, "event_id").value_or("");
      if (type.rfind("CHECKOUT.", 0) == 0) {
        hook = owner->event(type, "checkout-order", owner->orderResource(id), opts);
      } else if (type.rfind("PAYMENT.CAPTURE.", 0) == 0) {
        hook = owner->event(type, "capture", owner->captureResource(id, status), opts);
      } else if (type.rfind("PAYMENT.PAYOUTS-ITEM.", 0) == 0) {
        hook = owner->event(type, "payouts_item", owner->payoutItemResource(id, status), opts);
      } else {
        return {400, paypalError("INVALID_REQUEST", "Unsupported event_type.")};
      }
    }
  } catch (const std::out_of_range&) {
    return {404, paypalError("RESOURCE_NOT_FOUND", "The specified resource does not exist.")};
  }
  if (deliver_it) schedule(std::chrono::milliseconds(0), [this, hook] { deliver(hook); });
  return {200, signedWebhookJson(hook, deliver_it ? "queued" : "none")};
}

void PayPalSimulator::Impl::schedule(std::chrono::milliseconds delay, std::function<void()> task) {
  {
    std::lock_guard lock(mutex);
    tasks.emplace(Clock::now() + delay, std::move(task));
  }
  cv.notify_all();
}

void PayPalSimulator::Impl::workerLoop() {
  std::unique_lock lock(mutex);
  while (!stopping) {
    if (tasks.empty()) {
      cv.wait(lock);
      continue;
    }
    auto when = tasks.begin()->first;
    if (Clock::now() < when) {
      cv.wait_until(lock, when);
      continue;
    }
    auto task = std::move(tasks.begin()->second);
    tasks.erase(tasks.begin());
    lock.unlock();
    task();
    lock.lock();
  }
}

long PayPalSimulator::Impl::deliver(const SignedWebhook& hook) {
  if (options.webhook_url.empty()) return 0;
  http::HttpRequestSpec spec{
      "POST", options.webhook_url, {{"Content-Type", "application/json"}}, hook.body};
  for (const auto& header : hook.headers) spec.headers.push_back(header);
  auto result = executor.send(spec, std::chrono::milliseconds(10000));
  std::lock_guard lock(mutex);
  ++webhooks_sent;
  return result.ok() ? result.response.status : 0;
}

PayPalSimulator::PayPalSimulator(simkit::SimOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->owner = this;
  impl_->worker = std::thread([this] { impl_->workerLoop(); });
  impl_->server = std::make_unique<simkit::SimServer>(
      impl_->options.host, impl_->options.port,
      [this](const simkit::SimRequest& r) { return impl_->handle(r); }, impl_->options.threads);
  impl_->base_url = impl_->server->baseUrl();
}

PayPalSimulator::~PayPalSimulator() {
  impl_->server->shutdown();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->worker.join();
}

std::string PayPalSimulator::baseUrl() const { return impl_->base_url; }
int PayPalSimulator::port() const { return impl_->server->port(); }
std::string PayPalSimulator::certificateUrl() const {
  return impl_->base_url + "/certs/paypal.pem";
}
const std::string& PayPalSimulator::certificatePem() const {
  return impl_->signer.certificatePem();
}
std::string PayPalSimulator::webhookId() const { return impl_->webhook_id; }

long PayPalSimulator::objectsCreated() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->objects;
}
long PayPalSimulator::tokensIssued() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->tokens_issued;
}
long PayPalSimulator::schemaFailures() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->schema_failures;
}
long PayPalSimulator::webhooksSent() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->webhooks_sent;
}

void PayPalSimulator::rejectNextBearer(int count) {
  std::lock_guard lock(impl_->mutex);
  impl_->reject_bearer = count;
}

SignedWebhook PayPalSimulator::approve(const std::string& order_id, bool deliver) {
  std::string resource;
  {
    std::lock_guard lock(impl_->mutex);
    resource = impl_->approveLocked(order_id);
  }
  EventOptions opts;
  opts.deliver = deliver;
  return event("CHECKOUT.ORDER.APPROVED", "checkout-order", resource, opts);
}

SignedWebhook PayPalSimulator::event(const std::string& event_type,
                                     const std::string& resource_type,
                                     const std::string& resource_json,
                                     const EventOptions& options) {
  int64_t when = options.transmission_unix != 0 ? options.transmission_unix
                                                : static_cast<int64_t>(std::time(nullptr));
  SignedWebhook hook;
  hook.event_id = options.event_id.empty() ? "WH-" + paypalId(17) : options.event_id;
  std::string time = formatRfc3339(when);
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "id", hook.event_id);
  json::kv(w, "event_version", "1.0");
  json::kv(w, "create_time", time);
  json::kv(w, "resource_type", resource_type);
  json::kv(w, "resource_version", "2.0");
  json::kv(w, "event_type", event_type);
  json::kv(w, "summary", "Simulated " + event_type);
  json::key(w, "resource");
  json::raw(w, resource_json);
  json::key(w, "links");
  w.StartArray();
  w.StartObject();
  json::kv(w, "href", impl_->base_url + "/v1/notifications/webhooks-events/" + hook.event_id);
  json::kv(w, "rel", "self");
  json::kv(w, "method", "GET");
  w.EndObject();
  w.EndArray();
  w.EndObject();
  hook.body.assign(sb.GetString(), sb.GetSize());
  std::string transmission_id = crypto::hexEncode(crypto::randomBytes(16));
  std::string webhook_id = options.webhook_id.empty() ? impl_->webhook_id : options.webhook_id;
  hook.headers = {
      {"paypal-transmission-id", transmission_id},
      {"paypal-transmission-time", time},
      {"paypal-transmission-sig",
       impl_->signer.sign(signedMessage(transmission_id, time, webhook_id, hook.body))},
      {"paypal-cert-url", certificateUrl()},
      {"paypal-auth-algo", "SHA256withRSA"},
      {"paypal-auth-version", "v2"},
  };
  if (options.deliver) hook.delivery_status = impl_->deliver(hook);
  return hook;
}

}  // namespace paymux::connectors::paypal
