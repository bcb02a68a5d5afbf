// paymux-sim: a bundled provider simulator as a standalone process (scripts/run, e2e tests).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "connectors/simulators.h"

namespace {
void usage() {
  std::fprintf(stderr,
               "usage: paymux-sim [--provider sandbox|stripe|...] --listen HOST:PORT\n"
               "                  [--webhook-url URL] [--webhook-secret S] [--api-key K]\n"
               "                  [--latency-ms N] [--slow-ms N] [--timeout-ms N] [--async-ms N]\n"
               "                  [--threads N] [--set KEY=VALUE]...\n"
               "The webhook secret may also come from $PAYMUX_SIM_WEBHOOK_SECRET (or, for the\n"
               "sandbox, $SANDBOX_WEBHOOK_SECRET), which keeps it out of the process list.\n");
}
}  // namespace

int main(int argc, char** argv) {
  paymux::simkit::SimOptions options;
  options.port = 8090;
  std::string provider = "sandbox";
  if (const char* s = std::getenv("PAYMUX_SIM_WEBHOOK_SECRET")) options.webhook_secret = s;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) {
      usage();
      return 2;
    }
    std::string value = argv[++i];
    try {
      if (arg == "--provider") {
        provider = value;
      } else if (arg == "--listen") {
        auto colon = value.rfind(':');
        options.host = value.substr(0, colon);
        options.port = std::stoi(value.substr(colon + 1));
      } else if (arg == "--webhook-url") {
        options.webhook_url = value;
      } else if (arg == "--webhook-secret") {
        options.webhook_secret = value;
      } else if (arg == "--api-key") {
        options.api_key = value;
      } else if (arg == "--latency-ms") {
        options.latency_ms = std::stoi(value);
      } else if (arg == "--slow-ms") {
        options.slow_ms = std::stoi(value);
      } else if (arg == "--timeout-ms") {
        options.timeout_ms = std::stoi(value);
      } else if (arg == "--async-ms") {
        options.async_ms = std::stoi(value);
      } else if (arg == "--threads") {
        options.threads = std::stoi(value);
      } else if (arg == "--set") {
        auto eq = value.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("--set KEY=VALUE");
        options.extra[value.substr(0, eq)] = value.substr(eq + 1);
      } else {
        usage();
        return 2;
      }
    } catch (const std::exception&) {
      usage();
      return 2;
    }
  }
  if (provider == "sandbox" && options.webhook_secret.empty()) {
    if (const char* s = std::getenv("SANDBOX_WEBHOOK_SECRET")) options.webhook_secret = s;
  }
  const auto& types = paymux::connectors::simulatorTypes();
  auto it = types.find(provider);
  if (it == types.end()) {
    std::fprintf(stderr, "paymux-sim: unknown provider %s\n", provider.c_str());
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // why: server threads inherit the mask
  auto sim = it->second(options);
  std::printf("paymux-sim %s listening on %s\n", provider.c_str(), sim.base_url.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
