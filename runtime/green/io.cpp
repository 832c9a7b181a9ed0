// runtime/green/io.cpp — the I/O calls on the green backend: non-blocking system calls,
// and the reactor when they would block.
//
// Sockets are read and written with MSG_DONTWAIT, so no per-descriptor state is needed;
// read, write, accept and connect switch the descriptor to non-blocking mode first (it
// stays so: the file description is shared with whoever else holds it).
// Explained in: docs/08-reactor.md. Read next: runtime/green/reactor.cpp.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/io_calls.hpp"
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

void make_non_blocking(int fd, const char* call) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) spindle::detail::throw_io_error(errno, call, fd);
  if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    spindle::detail::throw_io_error(errno, call, fd);
  }
}

}  // namespace

using green_io = io_calls<green::backend>;

template <>
std::size_t green_io::read(int fd, void* buffer, std::size_t size) {
  make_non_blocking(fd, "read");
  return static_cast<std::size_t>(spindle::detail::retry([&] { return ::read(fd, buffer, size); },
                                                         park, fd, io_wait::readable, "read"));
}

template <>
std::size_t green_io::write(int fd, const void* data, std::size_t size) {
  make_non_blocking(fd, "write");
  auto bytes = static_cast<const char*>(data);
  return spindle::detail::send_everything(
      [&](std::size_t done) { return ::write(fd, bytes + done, size - done); }, park, fd, size,
      "write");
}

template <>
std::size_t green_io::recv(int fd, void* buffer, std::size_t size, int flags) {
  return static_cast<std::size_t>(
      spindle::detail::retry([&] { return ::recv(fd, buffer, size, flags | MSG_DONTWAIT); }, park,
                             fd, io_wait::readable, "recv"));
}

template <>
std::size_t green_io::send(int fd, const void* data, std::size_t size, int flags) {
  auto bytes = static_cast<const char*>(data);
  return spindle::detail::send_everything(
      [&](std::size_t done) {
        return ::send(fd, bytes + done, size - done, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
      },
      park, fd, size, "send");
}

template <>
int green_io::accept(int listener, sockaddr* address, socklen_t* length) {
  make_non_blocking(listener, "accept");
  return spindle::detail::accept_with(park, listener, address, length, SOCK_NONBLOCK);
}

template <>
void green_io::connect(int fd, const sockaddr* address, socklen_t length) {
  make_non_blocking(fd, "connect");
  spindle::detail::connect_with(park, fd, address, length);
}

namespace {

// The reactor is edge-triggered: it reports changes, so a thread may park only after
// learning the descriptor is not ready. The I/O calls learn it from EAGAIN; the waits
// ask poll(2) without blocking.
bool ready_now(int fd, short events) {
  pollfd watched{fd, events, 0};
  int ready = ::poll(&watched, 1, 0);
  if (ready < 0 && errno != EINTR) spindle::detail::throw_io_error(errno, "poll", fd);
  if (ready > 0 && (watched.revents & POLLNVAL)) {
    spindle::detail::throw_io_error(EBADF, "poll", fd);
  }
  return ready > 0;
}

}  // namespace

template <>
bool green_io::wait_readable(int fd, std::chrono::nanoseconds timeout) {
  return ready_now(fd, POLLIN) ||
         park(fd, io_wait::readable, spindle::detail::deadline_after(timeout));
}

template <>
bool green_io::wait_writable(int fd, std::chrono::nanoseconds timeout) {
  return ready_now(fd, POLLOUT) ||
         park(fd, io_wait::writable, spindle::detail::deadline_after(timeout));
}

template <>
void green_io::close(int fd) {
  auto& s = green::detail::scheduler::here();
  s.io().forget(s, fd);
  // Linux releases the descriptor even when close reports EINTR: never retry it.
  if (::close(fd) != 0 && errno != EINTR) spindle::detail::throw_io_error(errno, "close", fd);
}

}  // namespace spindle
