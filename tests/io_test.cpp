// tests/io_test.cpp — I/O that blocks only the calling thread, and its errors.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace std::chrono_literals;

namespace {

struct socket_pair {
  int ends[2];
  socket_pair() { REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0); }
  ~socket_pair() {
    for (int fd : ends)
      if (fd >= 0) ::close(fd);
  }
};

// A listening socket on a free loopback port.
struct loopback_listener {
  int fd;
  sockaddr_in address{};
  loopback_listener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t size = sizeof address;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    REQUIRE(listen(fd, 128) == 0);
  }
  ~loopback_listener() { ::close(fd); }
};

// How many of the next accept4 calls fail with ECONNABORTED, as Linux's does when the
// connection was reset before it could be accepted (the peer's address is gone).
std::atomic<int> accepts_to_abort{0};

}  // namespace

// accept4 as the runtime sees it in this test program, which defines it and so comes
// before the C library in the dynamic linker's search: it fails accepts_to_abort
// times, then hands the call on to the C library's accept4.
extern "C" int accept4(int fd, sockaddr* __restrict address, socklen_t* __restrict length,
                       int flags) {
  if (accepts_to_abort > 0) {
    --accepts_to_abort;
    errno = ECONNABORTED;
    return -1;
  }
  using accept4_function = int (*)(int, sockaddr*, socklen_t*, int);
  static auto c_library_accept4 = reinterpret_cast<accept4_function>(dlsym(RTLD_NEXT, "accept4"));
  return c_library_accept4(fd, address, length, flags);
}

namespace {

std::error_code error_of(auto call) {
  try {
    call();
  } catch (const std::system_error& e) {
    return e.code();
  }
  return {};
}

}  // namespace

TEST_SUITE("io") {

// While one thread waits for data, do the others keep running (and can they send it)?
TEST_CASE_TEMPLATE("a_read_that_would_block_parks_only_the_calling_thread", B,
                   SPINDLE_TEST_BACKENDS) {
  socket_pair pair;
  std::atomic<int> progress{0};
  auto reader = B::spawn([&] {
    char buffer[16];
    std::size_t got = B::io::recv(pair.ends[0], buffer, sizeof buffer);
    return std::string(buffer, got);
  });
  auto writer = B::spawn([&] {
    for (int i = 0; i < 100; ++i) {
      ++progress;
      B::this_thread::yield();
    }
    B::io::send(pair.ends[1], "hello", 5);
  });
  writer.join();
  CHECK(reader.join() == "hello");
  CHECK(progress == 100);
}

// Does read report the end of the stream as 0 once the peer has closed?
TEST_CASE_TEMPLATE("recv_returns_zero_when_the_peer_closes", B, SPINDLE_TEST_BACKENDS) {
  socket_pair pair;
  auto reader = B::spawn([&] {
    char buffer[8];
    return B::io::recv(pair.ends[0], buffer, sizeof buffer);
  });
  B::this_thread::sleep_for(5ms);
  ::close(std::exchange(pair.ends[1], -1));
  CHECK(reader.join() == 0);
}

// Writing to a peer that is gone: an error with its errno, and no SIGPIPE?
TEST_CASE_TEMPLATE("sending_to_a_closed_peer_throws_epipe_instead_of_raising_sigpipe", B,
                   SPINDLE_TEST_BACKENDS) {
  socket_pair pair;
  ::close(std::exchange(pair.ends[1], -1));
  auto code = error_of([&] { B::io::send(pair.ends[0], "x", 1); });
  CHECK(code == std::errc::broken_pipe);
}

// Does wait_readable give up at its timeout, and see data once it is there?
TEST_CASE_TEMPLATE("wait_readable_times_out_when_nothing_arrives", B, SPINDLE_TEST_BACKENDS) {
  socket_pair pair;
  CHECK_FALSE(B::io::wait_readable(pair.ends[0], 5ms));
  B::io::write(pair.ends[1], "!", 1);
  CHECK(B::io::wait_readable(pair.ends[0], 10s));
  CHECK(B::io::wait_writable(pair.ends[0], 10s));
}

// "Wait for ever" as the longest timeout there is: does it wait, or overflow the clock
// into the past and give up at once?
TEST_CASE_TEMPLATE("wait_readable_with_the_longest_timeout_waits_for_the_data", B,
                   SPINDLE_TEST_BACKENDS) {
  socket_pair pair;
  auto writer = B::spawn([&] {
    B::this_thread::sleep_for(5ms);
    B::io::write(pair.ends[1], "!", 1);
  });
  CHECK(B::io::wait_readable(pair.ends[0], std::chrono::nanoseconds::max()));
  writer.join();
  CHECK(B::io::wait_writable(pair.ends[0], std::chrono::nanoseconds::max()));
}

// A connection aborted before it was accepted: is it skipped, and the next one
// accepted, instead of the whole accept failing?
TEST_CASE_TEMPLATE("accept_skips_a_connection_aborted_before_it_was_accepted", B,
                   SPINDLE_TEST_BACKENDS) {
  loopback_listener listener;
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(connect(client, reinterpret_cast<const sockaddr*>(&listener.address),
                  sizeof listener.address) == 0);
  accepts_to_abort = 2;
  int accepted = -1;
  CHECK(error_of([&] { accepted = B::io::accept(listener.fd); }) == std::error_code{});
  CHECK(accepts_to_abort == 0);
  CHECK(accepted >= 0);
  if (accepted >= 0) B::io::close(accepted);
  ::close(client);
}

// Is a descriptor that is not open an error rather than a hang?
TEST_CASE_TEMPLATE("reading_a_descriptor_that_is_not_open_throws_ebadf", B, SPINDLE_TEST_BACKENDS) {
  char buffer[4];
  int closed_fd;
  {
    socket_pair pair;
    closed_fd = pair.ends[0];
  }
  CHECK(error_of([&] { B::io::read(closed_fd, buffer, sizeof buffer); }) ==
        std::errc::bad_file_descriptor);
  CHECK(error_of([&] { B::io::recv(closed_fd, buffer, sizeof buffer); }) ==
        std::errc::bad_file_descriptor);
}

// Many clients, one thread per connection: is every request answered?
TEST_CASE_TEMPLATE("one_thread_per_connection_serves_every_client", B, SPINDLE_TEST_BACKENDS) {
  loopback_listener listener;
  constexpr int clients = 20;
  auto server = B::spawn([&] {
    std::vector<typename B::template thread<void>> connections;
    for (int i = 0; i < clients; ++i) {
      int fd = B::io::accept(listener.fd);
      connections.push_back(B::spawn([fd] {
        char buffer[64];
        std::size_t got = B::io::recv(fd, buffer, sizeof buffer);
        std::string reply = "echo " + std::string(buffer, got);
        B::io::send(fd, reply.data(), reply.size());
        B::io::close(fd);
      }));
    }
    for (auto& c : connections) c.join();
  });
  std::vector<typename B::template thread<std::string>> users;
  for (int i = 0; i < clients; ++i) {
    users.push_back(B::spawn([&listener, i] {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      B::io::connect(fd, reinterpret_cast<const sockaddr*>(&listener.address),
                     sizeof listener.address);
      std::string request = "client " + std::to_string(i);
      B::io::send(fd, request.data(), request.size());
      std::string answer;
      char buffer[64];
      while (std::size_t got = B::io::recv(fd, buffer, sizeof buffer)) answer.append(buffer, got);
      B::io::close(fd);
      return answer;
    }));
  }
  for (int i = 0; i < clients; ++i)
    CHECK(users[static_cast<std::size_t>(i)].join() == "echo client " + std::to_string(i));
  server.join();
}

// Connecting to a port where nobody listens: the kernel's refusal, as an error?
TEST_CASE_TEMPLATE("connecting_where_nobody_listens_throws_connection_refused", B,
                   SPINDLE_TEST_BACKENDS) {
  sockaddr_in nowhere;
  {
    loopback_listener closed_soon;
    nowhere = closed_soon.address;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto code = error_of(
      [&] { B::io::connect(fd, reinterpret_cast<const sockaddr*>(&nowhere), sizeof nowhere); });
  ::close(fd);
  CHECK(code == std::errc::connection_refused);
}

// A signal handler runs while a thread waits for data: does the wait go on, unharmed?
TEST_CASE_TEMPLATE("a_signal_during_a_blocked_read_does_not_fail_it", B, SPINDLE_TEST_BACKENDS) {
  struct sigaction quiet {};
  quiet.sa_handler = [](int) {};
  sigemptyset(&quiet.sa_mask);
  quiet.sa_flags = 0;  // no SA_RESTART: blocking calls see EINTR
  struct sigaction previous {};
  REQUIRE(sigaction(SIGALRM, &quiet, &previous) == 0);
  itimerval every_two_ms{{0, 2000}, {0, 2000}};
  REQUIRE(setitimer(ITIMER_REAL, &every_two_ms, nullptr) == 0);
  socket_pair pair;
  auto reader = B::spawn([&] {
    char buffer[8];
    return B::io::recv(pair.ends[0], buffer, sizeof buffer);
  });
  B::this_thread::sleep_for(30ms);
  B::io::send(pair.ends[1], "late", 4);
  CHECK(reader.join() == 4);
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  // An alarm already sent may still be on its way to another kernel thread (under
  // valgrind, which queues signals per thread, to an M:N worker): it lands here first.
  std::this_thread::sleep_for(20ms);
  signal(SIGALRM, SIG_IGN);  // discards an alarm still pending, before the old action returns
  sigaction(SIGALRM, &previous, nullptr);
}

// Green only: closing a descriptor with io::close wakes the threads parked on it.
TEST_CASE("closing_a_descriptor_wakes_the_green_threads_waiting_on_it") {
  namespace green = spindle::green;
  int ends[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
  auto reader = green::spawn([&] {
    char buffer[8];
    return error_of([&] { green::io::recv(ends[0], buffer, sizeof buffer); });
  });
  green::this_thread::yield();  // the reader parks in the reactor
  green::io::close(ends[0]);
  CHECK(reader.join() == std::errc::bad_file_descriptor);
  ::close(ends[1]);
}

using spindle_test::waits_in_epoll;

// fork() while a thread waits on a pipe, and the child then waits for I/O of its own: on
// green the epoll instance would be shared (fork copies its descriptor), and the child
// would take the event meant for the parent's reader, which then sleeps for ever. Does
// the parent's reader get its byte?
TEST_CASE_TEMPLATE("a_forked_child_waiting_for_io_does_not_take_the_parents_events", B,
                   SPINDLE_TEST_BACKENDS) {
  auto outcome = spindle_test::run_in_child(
      [] {
        int data[2], ready[2], childs_own[2];
        if (pipe2(data, O_CLOEXEC) != 0 || pipe2(ready, O_CLOEXEC) != 0 ||
            pipe2(childs_own, O_CLOEXEC) != 0)
          return 3;
        auto reader = B::spawn([&] {
          char c = 0;
          B::io::read(data[0], &c, 1);
          return c;
        });
        auto forks = B::spawn([&] {
          pid_t child = fork();
          if (child == 0) {
            B::io::close(data[0]);  // the child's copy of the reader (green) lets go
            ::write(ready[1], "r", 1);
            B::io::wait_readable(childs_own[0], std::chrono::seconds(2));
            _exit(0);
          }
          // Blocking calls on purpose: the parent's scheduler must not look at epoll
          // while the child sits in its wait.
          char r;
          ::read(ready[0], &r, 1);
          for (int i = 0; i < 5000 && !waits_in_epoll(child); ++i) usleep(1000);
          ::write(data[1], "x", 1);
          usleep(200 * 1000);
          return child;
        });
        pid_t child = forks.join();
        char got = reader.join();
        waitpid(child, nullptr, 0);
        return got == 'x' ? 0 : 4;
      },
      std::chrono::seconds(30));
  INFO(outcome.describe());
  CHECK(outcome.exited_with(0));
}

}  // TEST_SUITE("io")
