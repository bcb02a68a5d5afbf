#include "services/common/listen_backlog.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace paymux::net {
namespace {

/// A loopback listener that never accepts, with accept backlog `backlog`; port() is its port.
class SilentListener {
 public:
  explicit SilentListener(int backlog) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, backlog), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
};

/// How many of `n` simultaneous connects to `port` complete within 300 ms, nobody accepting.
int connectsCompleted(uint16_t port, int n) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fds.push_back(fd);
  }
  usleep(300 * 1000);
  int completed = 0;
  for (int fd : fds) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    if (poll(&p, 1, 0) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
      ++completed;
    }
    close(fd);
  }
  return completed;
}

TEST(ListenBacklog, WidenedBacklogQueuesEveryConnectionOfABurst) {
  SilentListener narrow(1);
  EXPECT_LT(connectsCompleted(narrow.port(), 40), 40);  // the kernel drops the SYNs over 1 + 1

  SilentListener widened(1);
  ASSERT_TRUE(widenListenBacklog(widened.port(), 64));
  EXPECT_EQ(connectsCompleted(widened.port(), 40), 40);
}

TEST(ListenBacklog, NoListenerOnThePortIsReported) {
  uint16_t unused;
  {
    SilentListener gone(1);
    unused = gone.port();
  }
  EXPECT_FALSE(widenListenBacklog(unused));
}

}  // namespace
}  // namespace paymux::net
