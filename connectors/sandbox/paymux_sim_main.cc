// paymux-sim: the bundled provider simulators as a standalone process (scripts/run, e2e tests).
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "connectors/sandbox/sandbox_simulator.h"

namespace {
void usage() {
  std::fprintf(stderr,
               "usage: paymux-sim --listen HOST:PORT [--webhook-url URL] [--webhook-secret S]\n"
               "                  [--api-key K] [--latency-ms N] [--slow-ms N] [--timeout-ms N]\n"
               "                  [--async-ms N] [--threads N]\n");
}
}  // namespace

int main(int argc, char** argv) {
  paymux::connectors::sandbox::SimulatorOptions options;
  options.port = 8090;
  if (const char* secret = std::getenv("SANDBOX_WEBHOOK_SECRET")) options.webhook_secret = secret;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) {
      usage();
      return 2;
    }
    std::string value = argv[++i];
    try {
      if (arg == "--listen") {
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
      } else {
        usage();
        return 2;
      }
    } catch (const std::exception&) {
      usage();
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // why: server threads inherit the mask
  paymux::connectors::sandbox::SandboxSimulator sim(options);
  std::printf("paymux-sim listening on %s\n", sim.baseUrl().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
