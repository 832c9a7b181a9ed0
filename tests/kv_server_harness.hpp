// Test support for spindle-kv's server: the real program started on a free loopback
// port, clients that speak raw bytes to it, and the real redis-cli.
//
// Nothing here may hang a test: every receive gives up after client_timeout, every
// redis-cli is run under timeout(1), and a server that does not stop is killed. Giving
// up is a test failure, never a pass: these are limits on waiting, not measurements.
//
// The server to test is named by the environment, as tests/meson.build sets it:
// SPINDLE_KV (the executable) and SPINDLE_KV_BACKEND (green or clone).
//
// Explained in: docs/10-spindle-kv.md (testing the server).
// Read next: tests/kv_server_test.cpp.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace spindle_kv::testing {

inline constexpr std::chrono::seconds client_timeout{10};

// The backend under test, from SPINDLE_KV_BACKEND.
std::string backend_under_test();

// One spindle-kv process, serving dir on a port the kernel chose.
class RunningServer {
 public:
  struct Options {
    std::vector<std::string> arguments;  // added to --port 0 --backend B --dir DIR
    long max_open_files = 0;             // RLIMIT_NOFILE for the server; 0 keeps the test's
  };
  explicit RunningServer(const std::filesystem::path& dir) : RunningServer(dir, Options{}) {}
  RunningServer(const std::filesystem::path& dir, const Options& options);
  ~RunningServer();  // kills the server if it still runs
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;

  int port() const { return port_; }

  // Sends the signal and waits for the server to exit (at most 20 s, then it is
  // killed and the test fails). Returns its wait status, as waitpid gives it.
  int stop(int signal);

 private:
  int pid_ = -1;
  int output_ = -1;  // the read end of the server's stdout
  int port_ = 0;
};

// A client socket connected to 127.0.0.1:port. Every receive waits at most
// client_timeout; a timeout fails the test.
class Client {
 public:
  explicit Client(int port);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends every byte; false if the server has closed the connection (EPIPE, ECONNRESET).
  bool send(std::string_view bytes);
  // Receives until `count` complete replies have arrived; returns them, concatenated.
  std::string replies(std::size_t count);
  // True if a complete reply arrives within `wait`; replies() then returns it. False
  // means only that none came in time: the question a test asks of a client the server
  // may not have accepted.
  bool answered_within(std::chrono::milliseconds wait);
  // Sends one request (as a RESP array) and returns its reply.
  std::string call(const std::vector<std::string>& argv);
  // Receives until the server closes the connection; returns what came before.
  std::string until_closed();
  // Closes with a reset (SO_LINGER 0): the server sees ECONNRESET, not an orderly end.
  void reset();
  // Closes normally (FIN): the server sees the end of the stream.
  void close();

 private:
  std::optional<std::size_t> receive_more();  // bytes received; nullopt once closed

  int fd_ = -1;
  std::string received_;
};

// A request as a RESP array of bulk strings: {"GET", "k"} -> "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".
std::string request(const std::vector<std::string>& argv);

// A bulk string reply: "v" -> "$1\r\nv\r\n".
std::string bulk(std::string_view value);

// The length of the first complete RESP reply in bytes, or nullopt if it is incomplete.
std::optional<std::size_t> reply_length(std::string_view bytes);

// Runs `redis-cli -h 127.0.0.1 -p PORT arguments...` with stdin read from `input`
// (empty: /dev/null), under `timeout 20`, and returns its stdout. Fails the test if it
// does not exit with status 0.
std::string redis_cli(int port, const std::vector<std::string>& arguments,
                      const std::filesystem::path& input = {});

// The value of "field:" in an INFO reply ("connected_clients" -> "3"), or "" if absent.
std::string info_field(std::string_view info, std::string_view field);

// Asks question() until answered(reply) holds, and returns that reply; fails the test
// after 20 s. For what the server does on its own time (purge a key, reap a child).
template <class Question, class Answered>
std::string ask_until(Question question, Answered answered) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string reply = question();
  while (!answered(reply)) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                    "still not the expected answer after 20 s: " << reply);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    reply = question();
  }
  return reply;
}

}  // namespace spindle_kv::testing
