// The listening socket: the contracts are in listener.hpp.
//
// Explained in: docs/10-spindle-kv.md (the server).
// Read next: examples/kv/stop_signal.hpp.
#include "listener.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace spindle_kv {
namespace {

[[noreturn]] void fail(int error, const std::string& what) {
  throw std::system_error(error, std::system_category(), what);
}

// The kernel caps the queue of connections not yet accepted at net.core.somaxconn.
constexpr int backlog = SOMAXCONN;

}  // namespace

Listener::Listener(const std::string& address, int port) {
  std::string where = address + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int status = ::getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (status != 0) fail(EINVAL, "cannot listen on " + where + ": " + ::gai_strerror(status));
  fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int error = fd_ < 0 ? errno : 0;
  int yes = 1;
  if (fd_ >= 0 &&
      (::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
       ::bind(fd_, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd_, backlog) != 0)) {
    error = errno;
  }
  ::freeaddrinfo(found);
  if (error != 0) {
    if (fd_ >= 0) ::close(fd_);
    fail(error, "cannot listen on " + where);
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

Listener::~Listener() { ::close(fd_); }

void Listener::stop_accepting() const { ::shutdown(fd_, SHUT_RDWR); }

void configure_client_socket(int fd) {
  // Redis's tcp-keepalive 300: first probe after 300 s idle, then every 100 s, 3 tries.
  int yes = 1, idle = 300, interval = 100, probes = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof yes);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

std::string socket_address(int fd, SocketEnd end) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  int got =
      end == SocketEnd::peer ? ::getpeername(fd, raw, &length) : ::getsockname(fd, raw, &length);
  if (got != 0) return "";
  char text[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (address.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    port = ntohs(v4->sin_port);
  } else if (address.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    port = ntohs(v6->sin6_port);
  }
  return std::string(text) + ":" + std::to_string(port);
}

}  // namespace spindle_kv
