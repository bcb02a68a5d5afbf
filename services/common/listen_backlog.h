#pragma once
#include <cstdint>

namespace paymux::net {

/// Raises the accept backlog of this process's listening socket on `port` (TCP, any address).
/// Returns false when no such socket was found.
// why: Pistache 0.0.5's Endpoint::init() never passes Options::backlog() on to its listener,
// so every server listened with a backlog of 128. A thousand clients connecting at once
// overflowed it, and each dropped SYN cost its client a 1 s retransmit (p99 1.5 s at 1,000
// clients). listen() on a listening socket only updates its backlog.
bool widenListenBacklog(uint16_t port, int backlog = 4096);

}  // namespace paymux::net
