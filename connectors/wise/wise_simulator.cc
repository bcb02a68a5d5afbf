#include "connectors/wise/wise_simulator.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "connectors/simkit/sim_server.h"
#include "connectors/wise/wise_signer.h"
#include "connectors/wise/wise_simulator_wire.h"
#include "services/common/crypto.h"
#include "services/common/http_client.h"
#include "services/common/json.h"

namespace paymux::connectors::wise {
namespace {

using simkit::SimRequest;
using simkit::SimResponse;
using Clock = std::chrono::steady_clock;

using sim::Quote;
using sim::Recipient;
using sim::Transfer;

SimResponse wiseError(int status, const std::string& code, const std::string& message) {
  return {status, sim::errorJson(code, message)};
}

}  // namespace

struct WiseSimulator::Impl {
  simkit::SimOptions options;
  RsaSigner signer = RsaSigner::generate();
  mutable std::mutex mutex;
  std::map<std::string, Quote> quotes;
  std::map<std::string, Recipient> recipients;
  std::map<std::string, Transfer> transfers;
  std::map<std::string, std::string> by_customer_id;  // customerTransactionId -> transfer id
  long next_id = 50000000;
  long funding_calls = 0, funded = 0, webhooks_sent = 0;
  bool funding_failed_once = false, transfer_crashed_once = false;
  http::CurlExecutor executor;
  std::condition_variable cv;
  std::multimap<Clock::time_point, std::string> due;  // tok_async transfers to complete
  bool stopping = false;
  std::thread async_thread;
  std::unique_ptr<simkit::SimServer> server;
  WiseSimulator* owner = nullptr;

  bool extra(const std::string& name) const {
    auto it = options.extra.find(name);
    return it != options.extra.end() && it->second == "true";
  }
  SimResponse handle(const SimRequest& req);
  SimResponse quote(const SimRequest& req, const std::string& profile_id);
  SimResponse recipient(const SimRequest& req);
  SimResponse transfer(const SimRequest& req);
  SimResponse fund(const std::string& transfer_id);
  SimResponse simWebhook(const SimRequest& req);
  void asyncLoop();
};

SimResponse WiseSimulator::Impl::quote(const SimRequest& req, const std::string& profile_id) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(req.body.c_str());
  Quote q{profile_id, json::getString(doc, "sourceCurrency").value_or(""),
          json::getString(doc, "targetCurrency").value_or(""),
          json::getString(doc, "targetAmount").value_or("")};
  if (q.source_currency.empty() || q.target_currency.empty() || q.target_amount.empty()) {
    return wiseError(400, "error.quote.invalid", "sourceCurrency, targetCurrency, targetAmount");
  }
  std::string id = sim::uuid4();
  std::lock_guard lock(mutex);
  quotes[id] = q;
  return {200, R"({"id":")" + id + R"(","profile":)" + profile_id + R"(,"sourceCurrency":")" +
                   q.source_currency + R"(","targetCurrency":")" + q.target_currency +
                   R"(","targetAmount":)" + q.target_amount + R"(,"rate":1,"status":"PENDING"})"};
}

SimResponse WiseSimulator::Impl::recipient(const SimRequest& req) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(req.body.c_str());
  Recipient r{json::getString(doc, "accountHolderName").value_or(""),
              json::getString(doc, "currency").value_or("")};
  const auto* details = json::getObject(doc, "details");
  if (r.name.empty() || r.currency.empty() || details == nullptr) {
    return wiseError(422, "NOT_VALID", "accountHolderName, currency and details are required");
  }
  if (sim::scenarioOf(r.name) == "tok_error") {
    return wiseError(500, "error.system", "Internal error");
  }
  std::lock_guard lock(mutex);
  std::string id = std::to_string(next_id++);
  recipients[id] = r;
  return {200, R"({"id":)" + id + R"(,"accountHolderName":")" + r.name + R"(","currency":")" +
                   r.currency + R"(","active":true})"};
}

SimResponse WiseSimulator::Impl::transfer(const SimRequest& req) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(req.body.c_str());
  std::string account = json::getString(doc, "targetAccount").value_or("");
  std::string quote_id = json::getString(doc, "quoteUuid").value_or("");
  std::string customer_id = json::getString(doc, "customerTransactionId").value_or("");
  if (customer_id.size() != 36) {
    return wiseError(422, "NOT_VALID", "customerTransactionId must be a UUID");
  }
  std::lock_guard lock(mutex);
  // Wise's idempotency: the same customerTransactionId answers with the transfer it made.
  if (auto it = by_customer_id.find(customer_id); it != by_customer_id.end()) {
    return {200, sim::transferJson(transfers[it->second])};
  }
  auto recipient = recipients.find(account);
  auto quote = quotes.find(quote_id);
  if (recipient == recipients.end() || quote == quotes.end()) {
    return wiseError(422, "NOT_VALID", "unknown targetAccount or quoteUuid");
  }
  Transfer t;
  t.id = std::to_string(next_id++);
  t.recipient_id = account;
  t.quote_id = quote_id;
  t.quote = quote->second;
  t.customer_transaction_id = customer_id;
  t.scenario = sim::scenarioOf(recipient->second.name);
  t.status = t.scenario == "tok_unknown" ? "on_hold_for_review" : "incoming_payment_waiting";
  if (const auto* details = json::getObject(doc, "details")) {
    t.reference = json::getString(*details, "reference").value_or("");
  }
  transfers[t.id] = t;
  by_customer_id[customer_id] = t.id;
  if (extra("crash_after_transfer_once") && !transfer_crashed_once) {
    transfer_crashed_once = true;
    return wiseError(500, "error.system", "Internal error");
  }
  return {200, sim::transferJson(t)};
}

SimResponse WiseSimulator::Impl::fund(const std::string& transfer_id) {
  std::lock_guard lock(mutex);
  ++funding_calls;
  auto it = transfers.find(transfer_id);
  if (it == transfers.end()) return wiseError(404, "transfer.not-found", "no such transfer");
  Transfer& t = it->second;
  if (extra("fail_funding_once") && !funding_failed_once) {
    funding_failed_once = true;  // answers 500 having funded nothing
    return wiseError(500, "error.system", "Internal error");
  }
  if (t.status != "incoming_payment_waiting") {
    return wiseError(422, "transfer.invalid-state", "the transfer cannot be funded in its state");
  }
  if (t.scenario == "tok_decline") {
    return {200,
            R"({"type":"BALANCE","status":"REJECTED","errorCode":"transfer.insufficient_funds"})"};
  }
  t.status = "processing";
  ++funded;
  SimResponse resp{200, R"({"type":"BALANCE","status":"COMPLETED","errorCode":null})"};
  resp.delay = std::chrono::milliseconds(options.latency_ms);
  if (t.scenario == "tok_timeout") resp.delay += std::chrono::milliseconds(options.timeout_ms);
  if (t.scenario == "tok_slow") resp.delay += std::chrono::milliseconds(options.slow_ms);
  if (t.scenario == "tok_async") {
    due.emplace(Clock::now() + std::chrono::milliseconds(options.async_ms), t.id);
    cv.notify_all();
  }
  return resp;
}

SimResponse WiseSimulator::Impl::simWebhook(const SimRequest& req) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(req.body.c_str());
  if (doc.HasParseError() || !doc.IsObject()) return wiseError(400, "invalid_json", "bad body");
  auto flag = [&](const char* name) {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd()) return true;
    return it->value.IsBool()
               ? it->value.GetBool()
               : !(it->value.IsString() && std::string(it->value.GetString()) == "false");
  };
  std::string id = json::getString(doc, "transfer_id").value_or("");
  std::string state = json::getString(doc, "state").value_or("");
  if (flag("apply")) {
    std::lock_guard lock(mutex);
    auto it = transfers.find(id);
    if (it == transfers.end()) return wiseError(404, "transfer.not-found", "no such transfer");
    it->second.previous_status = it->second.status;
    it->second.status = state;
  }
  auto hook = owner->webhook(id, state, flag("deliver"),
                             json::getString(doc, "delivery_id").value_or(""),
                             json::getString(doc, "occurred_at").value_or(""));
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "body", hook.body);
  json::kv(w, "signature", hook.signature);
  json::kv(w, "delivery_id", hook.delivery_id);
  json::kvInt(w, "delivery_status", hook.delivery_status);
  w.EndObject();
  return {200, std::string(sb.GetString(), sb.GetSize())};
}

SimResponse WiseSimulator::Impl::handle(const SimRequest& req) {
  if (req.method == "GET" && req.path == "/health") return {200, R"({"ok":true})"};
  if (req.method == "POST" && req.path == "/sim/webhooks") return simWebhook(req);
  if (req.method == "GET" && req.path == "/sim/public_key") {
    // why: paymuxd's webhook.public_key must name this run's key (an e2e script saves it).
    SimResponse resp{200, signer.publicKeyPem()};
    resp.content_type = "application/x-pem-file";
    return resp;
  }
  if (req.method == "GET" && req.path == "/sim/stats") {
    std::lock_guard lock(mutex);
    return {200, R"({"transfers":)" + std::to_string(transfers.size()) + R"(,"funding_calls":)" +
                     std::to_string(funding_calls) + R"(,"transfers_funded":)" +
                     std::to_string(funded) + R"(,"webhooks_sent":)" +
                     std::to_string(webhooks_sent) + "}"};
  }
  if (req.header("authorization") != "Bearer " + options.api_key) {
    return {401, R"({"error":"invalid_token","error_description":"Invalid token"})"};
  }
  auto p = sim::splitPath(req.path);
  bool post = req.method == "POST";
  if (post && p.size() == 4 && p[0] == "v3" && p[1] == "profiles" && p[3] == "quotes") {
    return quote(req, p[2]);
  }
  if (post && p.size() == 6 && p[0] == "v3" && p[1] == "profiles" && p[3] == "transfers" &&
      p[5] == "payments") {
    return fund(p[4]);
  }
  if (post && req.path == "/v1/accounts") return recipient(req);
  if (post && req.path == "/v1/transfers") return transfer(req);
  if (req.method == "GET" && p.size() == 3 && p[0] == "v1" && p[1] == "transfers") {
    std::lock_guard lock(mutex);
    auto it = transfers.find(p[2]);
    if (it == transfers.end()) return wiseError(404, "transfer.not-found", "no such transfer");
    SimResponse resp{200, sim::transferJson(it->second)};
    resp.delay = std::chrono::milliseconds(options.latency_ms);
    return resp;
  }
  if (req.method == "PUT" && p.size() == 4 && p[0] == "v1" && p[1] == "transfers" &&
      p[3] == "cancel") {
    std::lock_guard lock(mutex);
    auto it = transfers.find(p[2]);
    if (it == transfers.end()) return wiseError(404, "transfer.not-found", "no such transfer");
    if (it->second.status != "incoming_payment_waiting") {
      return wiseError(422, "transfer.invalid-state", "the transfer cannot be cancelled");
    }
    it->second.previous_status = it->second.status;
    it->second.status = "cancelled";
    return {200, sim::transferJson(it->second)};
  }
  if (p.size() == 5 && p[0] == "v1" && p[1] == "simulation" && p[2] == "transfers") {
    if (!owner->advance(p[3], p[4]))
      return wiseError(404, "transfer.not-found", "no such transfer");
    std::lock_guard lock(mutex);
    return {200, sim::transferJson(transfers[p[3]])};
  }
  return wiseError(404, "not_found", "no such endpoint");
}

void WiseSimulator::Impl::asyncLoop() {
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
    owner->advance(id, "outgoing_payment_sent");
    lock.lock();
  }
}

WiseSimulator::WiseSimulator(simkit::SimOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.api_key.empty()) impl_->options.api_key = kDefaultApiKey;
  impl_->owner = this;
  impl_->async_thread = std::thread([this] { impl_->asyncLoop(); });
  impl_->server = std::make_unique<simkit::SimServer>(
      impl_->options.host, impl_->options.port,
      [this](const SimRequest& r) { return impl_->handle(r); }, impl_->options.threads);
}

WiseSimulator::~WiseSimulator() {
  impl_->server->shutdown();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->async_thread.join();
}

std::string WiseSimulator::baseUrl() const { return impl_->server->baseUrl(); }
int WiseSimulator::port() const { return impl_->server->port(); }
std::string WiseSimulator::publicKeyPem() const { return impl_->signer.publicKeyPem(); }

long WiseSimulator::transfersCreated() const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<long>(impl_->transfers.size());
}
long WiseSimulator::objectsCreated() const { return transfersCreated(); }
long WiseSimulator::fundingCalls() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->funding_calls;
}
long WiseSimulator::transfersFunded() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->funded;
}
long WiseSimulator::webhooksSent() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->webhooks_sent;
}

bool WiseSimulator::advance(const std::string& transfer_id, const std::string& state) {
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->transfers.find(transfer_id);
    if (it == impl_->transfers.end()) return false;
    it->second.previous_status = it->second.status;
    it->second.status = state;
  }
  webhook(transfer_id, state, true);
  return true;
}

WiseSimulator::SignedWebhook WiseSimulator::webhook(const std::string& transfer_id,
                                                    const std::string& state, bool deliver,
                                                    const std::string& delivery_id,
                                                    const std::string& occurred_at) {
  Transfer t;
  {
    std::lock_guard lock(impl_->mutex);
    if (auto it = impl_->transfers.find(transfer_id); it != impl_->transfers.end()) t = it->second;
  }
  SignedWebhook hook;
  hook.body = sim::stateChangeJson(transfer_id, t, state, occurred_at);
  hook.signature = impl_->signer.signBase64(hook.body);
  hook.delivery_id = delivery_id.empty() ? sim::uuid4() : delivery_id;
  if (deliver && !impl_->options.webhook_url.empty()) {
    http::HttpRequestSpec spec{"POST", impl_->options.webhook_url,
                               {{"Content-Type", "application/json"},
                                {"X-Signature-SHA256", hook.signature},
                                {"X-Delivery-Id", hook.delivery_id},
                                {"X-Test-Notification", "false"}},
                               hook.body};
    auto result = impl_->executor.send(spec, std::chrono::milliseconds(10000));
    hook.delivery_status = result.ok() ? result.response.status : 0;
    std::lock_guard lock(impl_->mutex);
    ++impl_->webhooks_sent;
  }
  return hook;
}

}  // namespace paymux::connectors::wise
