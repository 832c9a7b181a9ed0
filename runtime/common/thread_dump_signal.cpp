// runtime/common/thread_dump_signal.cpp — the thread dump signal's handler, and the
// statistics' text. The contract is in spindle/diagnostics.hpp and
// runtime/common/thread_dump_signal.hpp.
//
// Explained in: docs/13-debugging.md. Read next: runtime/green/diagnostics.cpp.
#include "thread_dump_signal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "spindle/diagnostics.hpp"

namespace spindle::detail {

std::atomic<std::uint64_t> thread_dump_request_count{0};

namespace {

// One pipe per backend with a dump thread (the clone backend's, the M:N backend's), each
// written once by enable_thread_dump_signal, before the handler can run.
int pipe_ends[dump_pipes][2] = {{-1, -1}, {-1, -1}};

// Async-signal-safe: an atomic increment and a write(2) per pipe that cannot block
// (O_NONBLOCK: if a pipe is full, requests are pending already).
void on_dump_signal(int) {
  int saved = errno;
  thread_dump_request_count.fetch_add(1, std::memory_order_relaxed);
  for (auto& ends : pipe_ends) {
    if (ends[1] >= 0) {
      char byte = 1;
      (void)!::write(ends[1], &byte, 1);
    }
  }
  errno = saved;
}

}  // namespace

int install_thread_dump_handler(int signo, bool pipe, unsigned which) {
  if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP) {
    throw std::invalid_argument("spindle: enable_thread_dump_signal: signal " +
                                std::to_string(signo) + " cannot be caught");
  }
  static std::once_flag made[dump_pipes];
  if (pipe) {
    std::call_once(made[which], [which] {
      if (::pipe2(pipe_ends[which], O_CLOEXEC | O_NONBLOCK) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "spindle: enable_thread_dump_signal: pipe2");
      }
      ::fcntl(pipe_ends[which][0], F_SETFL, 0);  // the reader blocks; only the handler must not
    });
  }
  struct sigaction action = {};
  action.sa_handler = on_dump_signal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: the wait a green scheduler sleeps in must end, so that it looks.
  if (::sigaction(signo, &action, nullptr) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "spindle: enable_thread_dump_signal: sigaction");
  }
  return pipe ? pipe_ends[which][0] : -1;
}

}  // namespace spindle::detail

namespace spindle {

void write_statistics(std::ostream& out, const runtime_statistics& stats) {
  out << "threads_alive:" << stats.threads_alive << '\n'
      << "threads_runnable:" << stats.threads_runnable << '\n'
      << "threads_blocked:" << stats.threads_blocked << '\n';
  for (const auto& [kind, n] : stats.blocked_by_kind)
    out << "threads_blocked_on:" << kind << '=' << n << '\n';
  out << "switches:" << stats.switches << '\n'
      << "spawns:" << stats.spawns << '\n'
      << "parks:" << stats.parks << '\n'
      << "timer_wakeups:" << stats.timer_wakeups << '\n'
      << "io_wakeups:" << stats.io_wakeups << '\n'
      << "stack_bytes_in_use:" << stats.stack_bytes_in_use << '\n'
      << "stack_bytes_cached:" << stats.stack_bytes_cached << '\n'
      << "longest_run_ns:" << stats.longest_run_ns << '\n'
      << "longest_run_thread:" << stats.longest_run_thread << '\n';
}

}  // namespace spindle
