#include "services/store/listener.h"

#include <chrono>
#include <pqxx/pqxx>
#include <thread>

#include "services/common/log.h"

namespace paymux::store {
namespace {

// why: short enough that stopping (every test harness does it) does not wait long.
constexpr long kStopCheckMicros = 100000;

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel,
           const std::function<void()>& on_notify)
      : pqxx::notification_receiver(conn, channel), on_notify_(on_notify) {}
  void operator()(const std::string&, int) override { on_notify_(); }

 private:
  const std::function<void()>& on_notify_;
};

}  // namespace

void NotificationListener::run(const std::atomic<bool>& stop) {
  bool warned = false;
  while (!stop.load()) {
    bool listening = false;
    try {
      pqxx::connection conn(url_.reveal());
      Receiver receiver(conn, channel_, on_notify_);  // issues the LISTEN
      listening = true;
      warned = false;
      on_listening_(true);
      while (!stop.load()) conn.await_notification(0, kStopCheckMicros);
    } catch (const std::exception&) {
      if (!warned) {
        log::warn("database notifications unavailable; retrying", {{"channel", channel_}});
        warned = true;
      }
    }
    if (listening) on_listening_(false);
    for (int i = 0; i < 10 && !stop.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace paymux::store
