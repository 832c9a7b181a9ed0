// The listening socket, and how spindle-kv sets up each connection's socket.
//
// A server listens on one TCP socket; each accept() on it hands out a new socket for one
// client. Stopping a server means waking the thread blocked in accept(): shutdown() on a
// listening socket does that on both backends (the kernel wakes the blocked accept on
// the clone backend, and epoll reports the change to the reactor on the green one), and
// every accept after it fails with EINVAL.
//
// Explained in: docs/10-spindle-kv.md (the server).
// Read next: examples/kv/stop_signal.hpp.
#pragma once

#include <string>

namespace spindle_kv {

class Listener {
 public:
  // Listens on address (a numeric IPv4 or IPv6 address) and port; port 0 lets the
  // kernel choose a free one (port() says which). Throws std::system_error naming the
  // address when it cannot (EADDRINUSE, EACCES, ...).
  Listener(const std::string& address, int port);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int fd() const { return fd_; }
  int port() const { return port_; }

  // Makes every accept() on the socket, the one now blocked included, fail with EINVAL.
  // Async-signal-safe, and safe to call from any thread.
  void stop_accepting() const;

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Sets up an accepted client socket as Redis does: no Nagle delay for small replies
// (TCP_NODELAY), and keepalive probes after 300 s of silence, so that a client whose
// machine vanished without a word is noticed and its thread ends.
void configure_client_socket(int fd);

// A connected socket's address as "ip:port" (Redis's CLIENT LIST form; IPv6 as
// "addr:port" too), its peer's or its own; "" if the kernel cannot say.
enum class SocketEnd { peer, local };
std::string socket_address(int fd, SocketEnd end);

}  // namespace spindle_kv
