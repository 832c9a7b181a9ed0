// runtime/common/nonblocking_io.hpp — the I/O calls of a backend whose threads must not
// block their kernel thread: the green and M:N backends.
//
// Concept: the calls of runtime/common/io_calls.hpp made on descriptors in non-blocking
// mode (sockets with MSG_DONTWAIT, other descriptors switched to O_NONBLOCK, which stays:
// the file description is shared with whoever else holds it), so that "would block" comes
// back as EAGAIN and the backend's reactor (reactor_of<B>, below) parks just the calling
// thread. Each such backend's io.cpp says how to park and forget, and instantiates these.
// Explained in: docs/08-reactor.md. Read next: runtime/green/io.cpp, runtime/mn/io.cpp.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io_calls.hpp"
#include "spindle/io.hpp"

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

// What a backend with a reactor supplies, in its io.cpp, for the calls below:
//   static bool park(int fd, io_wait, io_clock::time_point deadline);  // true: ready
//   static void forget(int fd);  // wake whoever waits on fd (their calls get EBADF)
// Then `template struct io_calls<B>;` there makes B's calls from these definitions.
template <class Backend>
struct reactor_of;

}  // namespace spindle::detail

namespace spindle {

template <class B>
std::size_t io_calls<B>::read(int fd, void* buffer, std::size_t size) {
  detail::make_non_blocking(fd, "read");
  return static_cast<std::size_t>(detail::retry([&] { return ::read(fd, buffer, size); },
                                                detail::reactor_of<B>::park, fd,
                                                detail::io_wait::readable, "read"));
}

template <class B>
std::size_t io_calls<B>::write(int fd, const void* data, std::size_t size) {
  detail::make_non_blocking(fd, "write");
  auto bytes = static_cast<const char*>(data);
  return detail::send_everything(
      [&](std::size_t done) { return ::write(fd, bytes + done, size - done); },
      detail::reactor_of<B>::park, fd, size, "write");
}

template <class B>
std::size_t io_calls<B>::recv(int fd, void* buffer, std::size_t size, int flags) {
  return static_cast<std::size_t>(
      detail::retry([&] { return ::recv(fd, buffer, size, flags | MSG_DONTWAIT); },
                    detail::reactor_of<B>::park, fd, detail::io_wait::readable, "recv"));
}

template <class B>
std::size_t io_calls<B>::send(int fd, const void* data, std::size_t size, int flags) {
  auto bytes = static_cast<const char*>(data);
  return detail::send_everything(
      [&](std::size_t done) {
        return ::send(fd, bytes + done, size - done, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
      },
      detail::reactor_of<B>::park, fd, size, "send");
}

template <class B>
int io_calls<B>::accept(int listener, sockaddr* address, socklen_t* length) {
  detail::make_non_blocking(listener, "accept");
  return detail::accept_with(detail::reactor_of<B>::park, listener, address, length, SOCK_NONBLOCK);
}

template <class B>
void io_calls<B>::connect(int fd, const sockaddr* address, socklen_t length) {
  detail::make_non_blocking(fd, "connect");
  detail::connect_with(detail::reactor_of<B>::park, fd, address, length);
}

// A reactor may park a thread only after learning that its descriptor is not ready: the
// calls above learn it from EAGAIN, the waits from poll(2) without blocking (ready_now).
template <class B>
bool io_calls<B>::wait_readable(int fd, std::chrono::nanoseconds timeout) {
  return detail::ready_now(fd, POLLIN) ||
         detail::reactor_of<B>::park(fd, detail::io_wait::readable,
                                     detail::deadline_after(timeout));
}

template <class B>
bool io_calls<B>::wait_writable(int fd, std::chrono::nanoseconds timeout) {
  return detail::ready_now(fd, POLLOUT) ||
         detail::reactor_of<B>::park(fd, detail::io_wait::writable,
                                     detail::deadline_after(timeout));
}

template <class B>
void io_calls<B>::close(int fd) {
  detail::reactor_of<B>::forget(fd);
  // Linux releases the descriptor even when close reports EINTR: never retry it.
  if (::close(fd) != 0 && errno != EINTR) detail::throw_io_error(errno, "close", fd);
}
}  // namespace spindle
