#include "services/worker/delivery_wakeup.h"

#include <chrono>
#include <pqxx/pqxx>
#include <thread>

#include "services/common/log.h"

namespace paymux::worker {
namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::function<void()>& on_ready)
      : pqxx::notification_receiver(conn, kDeliveriesChannel), on_ready_(on_ready) {}
  void operator()(const std::string&, int) override { on_ready_(); }

 private:
  const std::function<void()>& on_ready_;
};

}  // namespace

void DeliveryWakeup::run(const std::atomic<bool>& stop) {
  bool warned = false;
  while (!stop.load()) {
    try {
      pqxx::connection conn(url_.reveal());
      Receiver receiver(conn, on_ready_);
      warned = false;
      // why: deliveries created while we were not listening are found by the dispatcher's poll.
      on_ready_();
      while (!stop.load()) conn.await_notification(1, 0);
    } catch (const std::exception&) {
      if (!warned) {
        log::warn("delivery wake-ups unavailable; dispatching on the poll interval until the"
                  " database is reachable");
        warned = true;
      }
      for (int i = 0; i < 10 && !stop.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
}

}  // namespace paymux::worker
