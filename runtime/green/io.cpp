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
namespace {

using spindle::detail::io_clock;
using spindle::detail::io_wait;

// Parks the calling green thread in its scheduler's reactor. A descriptor closed by
// io::close meanwhile is EBADF, never retried: its number may name another file by now.
struct park_in_reactor {
  bool operator()(int fd, io_wait what, io_clock::time_point deadline) const {
    using green::detail::readiness;
    using green::detail::wait_outcome;
    auto& s = green::detail::scheduler::here();
    wait_outcome outcome = s.io().wait(
        s, fd, what == io_wait::readable ? readiness::readable : readiness::writable, deadline);
    if (outcome == wait_outcome::closed) spindle::detail::throw_io_error(EBADF, "wait", fd);
    return outcome == wait_outcome::ready;
  }
};
park_in_reactor park;

using calls = spindle::detail::nonblocking_calls<park_in_reactor>;

}  // namespace

using green_io = io_calls<green::backend>;

template <>
std::size_t green_io::read(int fd, void* buffer, std::size_t size) {
  return calls::read(park, fd, buffer, size);
}

template <>
std::size_t green_io::write(int fd, const void* data, std::size_t size) {
  return calls::write(park, fd, data, size);
}

template <>
std::size_t green_io::recv(int fd, void* buffer, std::size_t size, int flags) {
  return calls::recv(park, fd, buffer, size, flags);
}

template <>
std::size_t green_io::send(int fd, const void* data, std::size_t size, int flags) {
  return calls::send(park, fd, data, size, flags);
}

template <>
int green_io::accept(int listener, sockaddr* address, socklen_t* length) {
  return calls::accept(park, listener, address, length);
}

template <>
void green_io::connect(int fd, const sockaddr* address, socklen_t length) {
  calls::connect(park, fd, address, length);
}

// The reactor is edge-triggered: it reports changes, so a thread may park only after
// learning the descriptor is not ready. The I/O calls learn it from EAGAIN; the waits
// ask poll(2) without blocking (nonblocking_calls::wait_readable).
template <>
bool green_io::wait_readable(int fd, std::chrono::nanoseconds timeout) {
  return calls::wait_readable(park, fd, timeout);
}

template <>
bool green_io::wait_writable(int fd, std::chrono::nanoseconds timeout) {
  return calls::wait_writable(park, fd, timeout);
}

template <>
void green_io::close(int fd) {
  auto& s = green::detail::scheduler::here();
  s.io().forget(s, fd);
  // Linux releases the descriptor even when close reports EINTR: never retry it.
  if (::close(fd) != 0 && errno != EINTR) spindle::detail::throw_io_error(errno, "close", fd);
}

}  // namespace spindle
