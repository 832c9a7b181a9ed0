// runtime/clone/io.cpp — the I/O calls on the clone backend: the plain system calls.
//
// A clone thread is a kernel task, so a blocking read blocks only that task: the kernel
// parks it and runs the others. No reactor is needed; the only waiting spindle does
// itself is poll(2), for wait_readable/wait_writable and for descriptors that someone
// put in non-blocking mode.
// Explained in: docs/08-reactor.md. Read next: runtime/green/io.cpp.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/io_calls.hpp"
#include "spindle/clone.hpp"

namespace spindle {
namespace {

using spindle::detail::io_clock;
using spindle::detail::io_wait;

// Sleeps in poll(2) until the descriptor is ready or the deadline passes.
struct poll_descriptor {
  bool operator()(int fd, io_wait what, io_clock::time_point deadline) const {
    pollfd watched{fd, static_cast<short>(what == io_wait::readable ? POLLIN : POLLOUT), 0};
    for (;;) {
      timespec timeout{};
      const timespec* limit = nullptr;
      if (deadline != io_clock::time_point::max()) {
        auto left = deadline - io_clock::now();
        if (left < left.zero()) left = left.zero();
        auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
        timeout = {static_cast<time_t>(seconds.count()),
                   static_cast<long>((left - seconds).count())};
        limit = &timeout;
      }
      int ready = ppoll(&watched, 1, limit, nullptr);
      if (ready > 0 && (watched.revents & POLLNVAL)) {
        spindle::detail::throw_io_error(EBADF, "poll", fd);
      }
      if (ready > 0) return true;
      if (ready == 0) return false;
      if (errno != EINTR) spindle::detail::throw_io_error(errno, "poll", fd);
    }
  }
};
poll_descriptor park;

}  // namespace

using clone_io = io_calls<clone::backend>;

template <>
std::size_t clone_io::read(int fd, void* buffer, std::size_t size) {
  return static_cast<std::size_t>(spindle::detail::retry([&] { return ::read(fd, buffer, size); },
                                                         park, fd, io_wait::readable, "read"));
}

template <>
std::size_t clone_io::write(int fd, const void* data, std::size_t size) {
  auto bytes = static_cast<const char*>(data);
  return spindle::detail::send_everything(
      [&](std::size_t done) { return ::write(fd, bytes + done, size - done); }, park, fd, size,
      "write");
}

template <>
std::size_t clone_io::recv(int fd, void* buffer, std::size_t size, int flags) {
  return static_cast<std::size_t>(spindle::detail::retry(
      [&] { return ::recv(fd, buffer, size, flags); }, park, fd, io_wait::readable, "recv"));
}

template <>
std::size_t clone_io::send(int fd, const void* data, std::size_t size, int flags) {
  auto bytes = static_cast<const char*>(data);
  return spindle::detail::send_everything(
      [&](std::size_t done) { return ::send(fd, bytes + done, size - done, flags | MSG_NOSIGNAL); },
      park, fd, size, "send");
}

template <>
int clone_io::accept(int listener, sockaddr* address, socklen_t* length) {
  return spindle::detail::accept_with(park, listener, address, length, 0);
}

template <>
void clone_io::connect(int fd, const sockaddr* address, socklen_t length) {
  spindle::detail::connect_with(park, fd, address, length);
}

template <>
bool clone_io::wait_readable(int fd, std::chrono::nanoseconds timeout) {
  return park(fd, io_wait::readable, spindle::detail::deadline_after(timeout));
}

template <>
bool clone_io::wait_writable(int fd, std::chrono::nanoseconds timeout) {
  return park(fd, io_wait::writable, spindle::detail::deadline_after(timeout));
}

// A clone thread blocked in read on this descriptor is NOT woken by close (Linux keeps
// the file open until that call returns): shut a socket down first to wake it.
template <>
void clone_io::close(int fd) {
  if (::close(fd) != 0 && errno != EINTR) spindle::detail::throw_io_error(errno, "close", fd);
}

}  // namespace spindle
