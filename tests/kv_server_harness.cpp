// Test support for spindle-kv's server: the contracts are in kv_server_harness.hpp.
//
// Explained in: docs/10-spindle-kv.md (testing the server).
// Read next: tests/kv_server_test.cpp.
#include "kv_server_harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>

namespace spindle_kv::testing {
namespace {

using namespace std::chrono_literals;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) + " is not set: run the test with meson test");
  }
  return value;
}

// In the child of fork: points stdin, stdout at the given descriptors and runs argv.
[[noreturn]] void run_program(const std::vector<std::string>& argv, int input, int output) {
  if (input >= 0) ::dup2(input, STDIN_FILENO);
  if (output >= 0) ::dup2(output, STDOUT_FILENO);
  std::vector<char*> pointers;
  for (const std::string& a : argv) pointers.push_back(const_cast<char*>(a.c_str()));
  pointers.push_back(nullptr);
  ::execvp(pointers[0], pointers.data());
  std::fprintf(stderr, "cannot run %s: %s\n", pointers[0], std::strerror(errno));
  ::_exit(127);
}

// Reads the server's stdout until the line that announces its port.
int announced_port(int output) {
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd ready{output, POLLIN, 0};
    if (::poll(&ready, 1, 100) <= 0) continue;
    char buffer[512];
    ssize_t got = ::read(output, buffer, sizeof buffer);
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
    std::size_t at = text.find("listening on 127.0.0.1:");
    std::size_t end = text.find(',', at);
    if (at != std::string::npos && end != std::string::npos) {
      return std::atoi(text.c_str() + at + std::strlen("listening on 127.0.0.1:"));
    }
  }
  FAIL("spindle-kv did not announce its port; its stdout was: " << text);
  return 0;
}

}  // namespace

std::string backend_under_test() { return environment("SPINDLE_KV_BACKEND"); }

RunningServer::RunningServer(const std::filesystem::path& dir, const Options& options) {
  std::vector<std::string> argv = {environment("SPINDLE_KV"), "--port", "0",         "--backend",
                                   backend_under_test(),      "--dir",  dir.string()};
  argv.insert(argv.end(), options.arguments.begin(), options.arguments.end());
  int ends[2];
  REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    if (options.max_open_files > 0) {
      rlimit limit{static_cast<rlim_t>(options.max_open_files),
                   static_cast<rlim_t>(options.max_open_files)};
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    run_program(argv, -1, ends[1]);
  }
  ::close(ends[1]);
  output_ = ends[0];
  port_ = announced_port(output_);
}

RunningServer::~RunningServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ::close(output_);
}

int RunningServer::stop(int signal) {
  REQUIRE(pid_ > 0);
  ::kill(pid_, signal);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      FAIL("spindle-kv did not stop within 20 s of signal " << signal);
    }
    std::this_thread::sleep_for(10ms);
  }
  pid_ = -1;
  return status;
}

Client::Client(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd_ >= 0);
  timeval limit{client_timeout.count(), 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

bool Client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EPIPE || errno == ECONNRESET)) return false;
    REQUIRE_MESSAGE(sent > 0, "send failed: " << std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

std::optional<std::size_t> Client::receive_more() {
  char buffer[64 * 1024];
  for (;;) {
    ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    if (got > 0) {
      received_.append(buffer, static_cast<std::size_t>(got));
      return static_cast<std::size_t>(got);
    }
    if (got == 0 || errno == ECONNRESET) return std::nullopt;
    if (errno == EINTR) continue;
    REQUIRE_MESSAGE(errno != EAGAIN, "no reply within " << client_timeout.count()
                                                        << " s; received so far: " << received_);
    FAIL("recv failed: " << std::strerror(errno));
  }
}

std::string Client::replies(std::size_t count) {
  std::size_t end = 0;
  for (std::size_t found = 0; found < count;) {
    if (auto length = reply_length(std::string_view(received_).substr(end))) {
      end += *length;
      ++found;
    } else {
      REQUIRE_MESSAGE(receive_more(), "the server closed the connection after "
                                          << found << " of " << count << " replies");
    }
  }
  std::string taken = received_.substr(0, end);
  received_.erase(0, end);
  return taken;
}

bool Client::answered_within(std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (!reply_length(received_)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd readable{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) == 0) {
      return false;
    }
    if (!receive_more()) return false;
  }
  return true;
}

std::string Client::call(const std::vector<std::string>& argv) {
  REQUIRE(send(request(argv)));
  return replies(1);
}

std::string Client::until_closed() {
  while (receive_more()) {
  }
  return std::exchange(received_, {});
}

void Client::reset() {
  linger abort_on_close{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  close();
}

void Client::close() {
  ::close(fd_);
  fd_ = -1;
}

std::string request(const std::vector<std::string>& argv) {
  std::string bytes = "*" + std::to_string(argv.size()) + "\r\n";
  for (const std::string& a : argv) bytes += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return bytes;
}

std::string bulk(std::string_view value) {
  return "$" + std::to_string(value.size()) + "\r\n" + std::string(value) + "\r\n";
}

std::optional<std::size_t> reply_length(std::string_view bytes) {
  std::size_t line_end = bytes.find("\r\n");
  if (bytes.empty() || line_end == std::string_view::npos) return std::nullopt;
  std::size_t after_line = line_end + 2;
  long long n = std::atoll(std::string(bytes.substr(1, line_end - 1)).c_str());
  switch (bytes[0]) {
    case '$': {
      if (n < 0) return after_line;
      std::size_t end = after_line + static_cast<std::size_t>(n) + 2;
      return bytes.size() >= end ? std::optional(end) : std::nullopt;
    }
    case '*': {
      std::size_t end = after_line;
      for (long long i = 0; i < n; ++i) {
        auto item = reply_length(bytes.substr(end));
        if (!item) return std::nullopt;
        end += *item;
      }
      return end;
    }
    default:  // +simple, -error, :integer
      return after_line;
  }
}

std::string redis_cli(int port, const std::vector<std::string>& arguments,
                      const std::filesystem::path& input) {
  std::vector<std::string> argv = {"timeout", "--kill-after=5", "20", "redis-cli",
                                   "-h",      "127.0.0.1",      "-p", std::to_string(port)};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  int in = ::open(input.empty() ? "/dev/null" : input.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE_MESSAGE(in >= 0, "cannot open " << input);
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) run_program(argv, in, out[1]);
  ::close(in);
  ::close(out[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t got; (got = ::read(out[0], buffer, sizeof buffer)) != 0;) {
    if (got < 0 && errno == EINTR) continue;
    REQUIRE(got > 0);
    text.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0),
                  "redis-cli failed (wait status "
                      << status
                      << "; 124: timed out, 127: not "
                         "installed, apt-get install redis-tools); its output: "
                      << text);
  return text;
}

std::string info_field(std::string_view info, std::string_view field) {
  std::string key = "\n" + std::string(field) + ":";
  std::size_t at = info.find(key);
  if (at == std::string_view::npos) return "";
  at += key.size();
  return std::string(info.substr(at, info.find('\r', at) - at));
}

}  // namespace spindle_kv::testing
