// spindle/io.hpp — I/O calls that block only the calling spindle thread.
//
// Concept: one set of calls, two implementations. On the green backend a descriptor is
// used in non-blocking mode and a call that would block parks just the calling green
// thread in the reactor until epoll says the descriptor is ready; the others keep
// running. On the clone backend the same calls are the plain blocking system calls: the
// kernel is the scheduler and parks the kernel task. The contrast is the lesson.
//
//     char buffer[512];
//     std::size_t got = spindle::green::io::recv(fd, buffer, sizeof buffer);  // 0: peer closed
//
// Errors keep their meaning: each call throws std::system_error carrying the errno of
// the failed system call (ECONNRESET, EPIPE, EBADF, ...), whose what() names the call
// and the descriptor. EINTR is not an error: the call is simply made again, as Go does.
// Explained in: docs/08-reactor.md. Read next: runtime/common/io_calls.hpp.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>

namespace spindle {

// Backend is a backend's tag type (green::backend, clone::backend, mn::backend). The
// backends with a reactor (green, mn) get these members from runtime/common/nonblocking_io.hpp,
// instantiated in their io.cpp; clone defines its blocking ones in runtime/clone/io.cpp.
template <class Backend>
struct io_calls {
  // Reads at most `size` bytes; returns how many, 0 at end of file.
  static std::size_t read(int fd, void* buffer, std::size_t size);
  // Writes all `size` bytes (looping over partial writes); returns size.
  static std::size_t write(int fd, const void* data, std::size_t size);
  // recv(2) on a socket; returns 0 when the peer has closed.
  static std::size_t recv(int fd, void* buffer, std::size_t size, int flags = 0);
  // Sends all `size` bytes; never raises SIGPIPE (a closed peer is std::system_error EPIPE).
  static std::size_t send(int fd, const void* data, std::size_t size, int flags = 0);
  // Accepts a connection; the new descriptor is close-on-exec.
  static int accept(int listener, sockaddr* address = nullptr, socklen_t* length = nullptr);
  // Connects a socket, waiting for the connection to be made or refused.
  static void connect(int fd, const sockaddr* address, socklen_t length);
  // Waits until the descriptor is ready or the timeout passes; false on timeout.
  static bool wait_readable(int fd, std::chrono::nanoseconds timeout);
  static bool wait_writable(int fd, std::chrono::nanoseconds timeout);
  // Closes the descriptor. On the green backend, threads parked on it wake first and
  // their calls then fail with EBADF instead of waiting for ever.
  static void close(int fd);
};

}  // namespace spindle
