// runtime/mn/io.cpp — the I/O calls on the M:N backend: the non-blocking calls of
// runtime/common/nonblocking_io.hpp, parked in the shared reactor when they would block.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (timers and I/O). Read next:
// runtime/mn/reactor.cpp.
#include <unistd.h>

#include "../common/nonblocking_io.hpp"
#include "reactor.hpp"
#include "spindle/mn.hpp"

namespace spindle {

using detail::io_clock;
using detail::io_wait;

// How an M:N thread waits for a descriptor: parked in the reactor all workers share
// (runtime/mn/reactor.cpp). A descriptor closed by io::close meanwhile is EBADF, never
// retried: its number may name another file by now.
template <>
struct detail::reactor_of<mn::backend> {
  static bool park(int fd, io_wait what, io_clock::time_point deadline) {
    using mn::detail::io_outcome;
    io_outcome outcome = mn::detail::reactor::instance().wait(mn::detail::running(), fd,
                                                              what == io_wait::readable, deadline);
    if (outcome == io_outcome::closed) throw_io_error(EBADF, "wait", fd);
    return outcome == io_outcome::ready;
  }
  static void forget(int fd) { mn::detail::reactor::instance().forget(fd); }
};

// The calls themselves are runtime/common/nonblocking_io.hpp's, over the reactor above.
template struct io_calls<mn::backend>;

}  // namespace spindle
