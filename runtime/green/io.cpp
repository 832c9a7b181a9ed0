// runtime/green/io.cpp — the I/O calls on the green backend: non-blocking system calls,
// and the reactor when they would block.
//
// The calls are runtime/common/nonblocking_io.hpp's, shared with the M:N backend: sockets
// are read and written with MSG_DONTWAIT, so no per-descriptor state is needed; read,
// write, accept and connect switch the descriptor to non-blocking mode first.
// Explained in: docs/08-reactor.md. Read next: runtime/green/reactor.cpp.
#include <unistd.h>

#include "../common/nonblocking_io.hpp"
#include "scheduler.hpp"
#include "spindle/green.hpp"

namespace spindle {

using detail::io_clock;
using detail::io_wait;

// How a green thread waits for a descriptor: parked in its scheduler's reactor, which is
// edge-triggered (runtime/green/reactor.cpp). A descriptor closed by io::close meanwhile is
// EBADF, never retried: its number may name another file by now.
template <>
struct detail::reactor_of<green::backend> {
  static bool park(int fd, io_wait what, io_clock::time_point deadline) {
    using green::detail::readiness;
    using green::detail::wait_outcome;
    auto& s = green::detail::scheduler::here();
    wait_outcome outcome = s.io().wait(
        s, fd, what == io_wait::readable ? readiness::readable : readiness::writable, deadline);
    if (outcome == wait_outcome::closed) throw_io_error(EBADF, "wait", fd);
    return outcome == wait_outcome::ready;
  }
  static void forget(int fd) {
    auto& s = green::detail::scheduler::here();
    s.io().forget(s, fd);
  }
};

// The calls themselves are runtime/common/nonblocking_io.hpp's, over the reactor above.
template struct io_calls<green::backend>;

}  // namespace spindle
