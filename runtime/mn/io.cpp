// runtime/mn/io.cpp — the I/O calls on the M:N backend: the non-blocking calls of
// runtime/common/nonblocking_io.hpp, parked in the shared reactor when they would block.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (timers and I/O). Read next:
// runtime/mn/reactor.cpp.
#include <unistd.h>

#include "../common/nonblocking_io.hpp"
#include "reactor.hpp"
#include "spindle/mn.hpp"

namespace spindle {
namespace {

using spindle::detail::io_clock;
using spindle::detail::io_wait;

// A descriptor closed by io::close meanwhile is EBADF, never retried: its number may
// name another file by now.
struct park_in_reactor {
  bool operator()(int fd, io_wait what, io_clock::time_point deadline) const {
    using mn::detail::io_outcome;
    io_outcome outcome = mn::detail::reactor::instance().wait(mn::detail::running(), fd,
                                                              what == io_wait::readable, deadline);
    if (outcome == io_outcome::closed) spindle::detail::throw_io_error(EBADF, "wait", fd);
    return outcome == io_outcome::ready;
  }
};
park_in_reactor park;
using calls = spindle::detail::nonblocking_calls<park_in_reactor>;

}  // namespace

using mn_io = io_calls<mn::backend>;

template <>
std::size_t mn_io::read(int fd, void* buffer, std::size_t size) {
  return calls::read(park, fd, buffer, size);
}

template <>
std::size_t mn_io::write(int fd, const void* data, std::size_t size) {
  return calls::write(park, fd, data, size);
}

template <>
std::size_t mn_io::recv(int fd, void* buffer, std::size_t size, int flags) {
  return calls::recv(park, fd, buffer, size, flags);
}

template <>
std::size_t mn_io::send(int fd, const void* data, std::size_t size, int flags) {
  return calls::send(park, fd, data, size, flags);
}

template <>
int mn_io::accept(int listener, sockaddr* address, socklen_t* length) {
  return calls::accept(park, listener, address, length);
}

template <>
void mn_io::connect(int fd, const sockaddr* address, socklen_t length) {
  calls::connect(park, fd, address, length);
}

template <>
bool mn_io::wait_readable(int fd, std::chrono::nanoseconds timeout) {
  return calls::wait_readable(park, fd, timeout);
}

template <>
bool mn_io::wait_writable(int fd, std::chrono::nanoseconds timeout) {
  return calls::wait_writable(park, fd, timeout);
}

template <>
void mn_io::close(int fd) {
  mn::detail::reactor::instance().forget(fd);
  // Linux releases the descriptor even when close reports EINTR: never retry it.
  if (::close(fd) != 0 && errno != EINTR) spindle::detail::throw_io_error(errno, "close", fd);
}

}  // namespace spindle
