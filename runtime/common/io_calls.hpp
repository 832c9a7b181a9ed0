// runtime/common/io_calls.hpp — the I/O calls, written once over "how to wait".
//
// Concept: every call is the same loop: make the system call; on success return; on
// EINTR make it again; on EAGAIN wait for the descriptor and make it again; on anything
// else throw. Only the wait differs between backends: the green reactor parks the green
// thread (runtime/green/io.cpp), the clone backend polls (runtime/clone/io.cpp), which
// matters only for descriptors already in non-blocking mode.
// Explained in: docs/08-reactor.md. Read next: runtime/green/io.cpp.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

namespace spindle::detail {

enum class io_wait { readable, writable };
using io_clock = std::chrono::steady_clock;

[[noreturn]] inline void throw_io_error(int error, const char* call, int fd) {
  throw std::system_error(
      error, std::system_category(),
      std::string("spindle::io::") + call + " on descriptor " + std::to_string(fd));
}

// The moment `timeout` from now; a timeout longer than the clock can count (such as
// nanoseconds::max(), "for ever") is time_point::max(), never an overflow into the past.
inline io_clock::time_point deadline_after(std::chrono::nanoseconds timeout) {
  io_clock::time_point now = io_clock::now();
  if (timeout > io_clock::time_point::max() - now) return io_clock::time_point::max();
  return now + timeout;
}

// Makes `call()` until it succeeds, waiting with `wait` whenever it would block.
// Wait: bool(int fd, io_wait, io_clock::time_point deadline).
template <class Call, class Wait>
auto retry(Call call, Wait& wait, int fd, io_wait direction, const char* name) {
  for (;;) {
    auto result = call();
    if (result >= 0) return result;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_io_error(errno, name, fd);
    wait(fd, direction, io_clock::time_point::max());
  }
}

// Makes `send_some(offset)` until every byte has gone; returns the total.
template <class SendSome, class Wait>
std::size_t send_everything(SendSome send_some, Wait& wait, int fd, std::size_t size,
                            const char* name) {
  std::size_t sent = 0;
  while (sent < size) {
    sent += static_cast<std::size_t>(
        retry([&] { return send_some(sent); }, wait, fd, io_wait::writable, name));
  }
  return size;
}

// connect(2), waiting out EINPROGRESS (and an interrupted connect, which goes on in the
// kernel) for writability, then reading the outcome from SO_ERROR.
template <class Wait>
void connect_with(Wait& wait, int fd, const sockaddr* address, socklen_t length) {
  if (::connect(fd, address, length) == 0) return;
  if (errno != EINPROGRESS && errno != EINTR) throw_io_error(errno, "connect", fd);
  wait(fd, io_wait::writable, io_clock::time_point::max());
  int error = 0;
  socklen_t size = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
  if (error != 0) throw_io_error(error, "connect", fd);
}

// accept4(2); a connection the peer aborted before it was accepted (ECONNABORTED) is
// skipped, and the next one waited for.
template <class Wait>
int accept_with(Wait& wait, int listener, sockaddr* address, socklen_t* length, int flags) {
  for (;;) {
    int fd = ::accept4(listener, address, length, flags | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_io_error(errno, "accept", listener);
    wait(listener, io_wait::readable, io_clock::time_point::max());
  }
}

}  // namespace spindle::detail
