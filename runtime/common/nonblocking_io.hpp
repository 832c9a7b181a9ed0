// runtime/common/nonblocking_io.hpp — the I/O calls of a backend whose threads must not
// block their kernel thread: the green and M:N backends.
//
// Concept: the calls of runtime/common/io_calls.hpp made on descriptors in non-blocking
// mode (sockets with MSG_DONTWAIT, other descriptors switched to O_NONBLOCK, which stays:
// the file description is shared with whoever else holds it), so that "would block" comes
// back as EAGAIN and the backend's Park parks just the calling thread in its reactor.
// Park: bool(int fd, io_wait, io_clock::time_point deadline).
// Explained in: docs/08-reactor.md. Read next: runtime/green/io.cpp, runtime/mn/io.cpp.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io_calls.hpp"

namespace spindle::detail {

inline void make_non_blocking(int fd, const char* call) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) throw_io_error(errno, call, fd);
  if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw_io_error(errno, call, fd);
  }
}

// Whether `fd` is ready for `events` now, asked of poll(2) without blocking: a reactor
// may park a thread only after learning its descriptor is not ready.
inline bool ready_now(int fd, short events) {
  pollfd watched{fd, events, 0};
  int ready = ::poll(&watched, 1, 0);
  if (ready < 0 && errno != EINTR) throw_io_error(errno, "poll", fd);
  if (ready > 0 && (watched.revents & POLLNVAL)) throw_io_error(EBADF, "poll", fd);
  return ready > 0;
}

template <class Park>
struct nonblocking_calls {
  static std::size_t read(Park& park, int fd, void* buffer, std::size_t size) {
    make_non_blocking(fd, "read");
    return static_cast<std::size_t>(
        retry([&] { return ::read(fd, buffer, size); }, park, fd, io_wait::readable, "read"));
  }
  static std::size_t write(Park& park, int fd, const void* data, std::size_t size) {
    make_non_blocking(fd, "write");
    auto bytes = static_cast<const char*>(data);
    return send_everything([&](std::size_t done) { return ::write(fd, bytes + done, size - done); },
                           park, fd, size, "write");
  }
  static std::size_t recv(Park& park, int fd, void* buffer, std::size_t size, int flags) {
    return static_cast<std::size_t>(
        retry([&] { return ::recv(fd, buffer, size, flags | MSG_DONTWAIT); }, park, fd,
              io_wait::readable, "recv"));
  }
  static std::size_t send(Park& park, int fd, const void* data, std::size_t size, int flags) {
    auto bytes = static_cast<const char*>(data);
    return send_everything(
        [&](std::size_t done) {
          return ::send(fd, bytes + done, size - done, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
        },
        park, fd, size, "send");
  }
  static int accept(Park& park, int listener, sockaddr* address, socklen_t* length) {
    make_non_blocking(listener, "accept");
    return accept_with(park, listener, address, length, SOCK_NONBLOCK);
  }
  static void connect(Park& park, int fd, const sockaddr* address, socklen_t length) {
    make_non_blocking(fd, "connect");
    connect_with(park, fd, address, length);
  }
  static bool wait_readable(Park& park, int fd, std::chrono::nanoseconds timeout) {
    return ready_now(fd, POLLIN) || park(fd, io_wait::readable, deadline_after(timeout));
  }
  static bool wait_writable(Park& park, int fd, std::chrono::nanoseconds timeout) {
    return ready_now(fd, POLLOUT) || park(fd, io_wait::writable, deadline_after(timeout));
  }
};

}  // namespace spindle::detail
