// Records what a real redis-server replies to each request of a cases file, as a golden
// replies file (see kv_golden_format.hpp). Run by examples/kv/compare_with_redis.sh:
//
//   kv_golden_recorder PORT CASES_FILE REPLIES_FILE "HEADER LINE"
//
// Each case is sent on its own connection to 127.0.0.1:PORT, followed by a marker
// request (ECHO of a unique word, then QUIT, inline). Everything read until the server closes
// the connection is the reply; the marker's replies are cut off the end. A case that
// makes the server close first (a protocol error, QUIT) simply has no marker reply.
//
// Explained in: docs/10-spindle-kv.md (testing against redis).
// Read next: examples/kv/compare_with_redis.sh.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "kv_golden_format.hpp"

namespace {

using spindle_kv::testing::escape_bytes;

// Inline, and without a CR: a case that sends an over-long "*n" or "$n" line must
// still be over the limit when Redis looks for the CR that would end it.
constexpr std::string_view marker_request = "ECHO __golden_end__42\nQUIT\n";
constexpr std::string_view marker_reply = "$16\r\n__golden_end__42\r\n+OK\r\n";

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  timeval timeout{5, 0};  // a case that leaves a request unfinished must not hang us
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail("connect");
  return fd;
}

// Sends bytes; the server may close the connection early, which is not an error.
void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
}

std::string receive_until_closed(int fd) {
  std::string reply;
  char buffer[65536];
  for (;;) {
    ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == ECONNRESET) return reply;
    if (got < 0) fail("recv (the case may leave a request unfinished)");
    if (got == 0) return reply;
    reply.append(buffer, static_cast<std::size_t>(got));
  }
}

std::string record_one(int port, const std::string& request) {
  int fd = connect_to(port);
  std::string bytes = request + std::string(marker_request);
  send_all(fd, bytes);
  std::string reply = receive_until_closed(fd);
  ::close(fd);
  if (reply.ends_with(marker_reply)) reply.resize(reply.size() - marker_reply.size());
  return reply;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: kv_golden_recorder PORT CASES_FILE REPLIES_FILE HEADER_LINE\n";
    return 2;
  }
  try {
    int port = std::stoi(argv[1]);
    std::ofstream out(argv[3], std::ios::binary);
    out << "# Golden replies for spindle-kv, recorded by examples/kv/compare_with_redis.sh\n"
        << "# from examples/kv/golden_cases.txt. Do not edit: change the cases and re-record.\n"
        << "# " << argv[4] << "\n";
    for (const std::string& request : spindle_kv::testing::read_golden_cases(argv[2])) {
      out << "send " << escape_bytes(request) << "\n";
      out << "recv " << escape_bytes(record_one(port, request)) << "\n";
    }
    if (!out.flush()) throw std::runtime_error(std::string("cannot write ") + argv[3]);
  } catch (const std::exception& error) {
    std::cerr << "kv_golden_recorder: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
