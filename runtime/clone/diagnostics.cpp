// runtime/clone/diagnostics.cpp — the clone threads' statistics and thread dump.
//
// Concept: the parking lot already lists every clone thread, with its state and what it
// waits on, under its one lock; the statistics and the dump read that list while holding
// it. The kernel schedules clone threads, so there is no switch or poll to count, and
// no scheduler loop to print the dump a signal asks for: a kernel thread made for it
// (with the low-level kernel_thread::start, so not a spindle thread) sleeps in read(2)
// on the handler's pipe and prints it.
// Explained in: docs/13-debugging.md. Read next: runtime/clone/parking_lot.hpp.
#include "spindle/diagnostics.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string_view>

#include "../common/deadlock_report.hpp"
#include "../common/run_clock.hpp"
#include "../common/thread_dump_signal.hpp"
#include "kernel_thread.hpp"
#include "parking_lot.hpp"

namespace spindle::clone::detail {
namespace {

const char* state_name(const record* r) {
  switch (r->st) {
    case state::running:
      return "running";
    case state::blocked:
      return std::string_view(r->waiting_on.what) == "sleep" ? "sleeping" : "blocked";
    case state::finished:
      return "finished";
  }
  return "?";
}

// Caller holds the parking lot's lock.
runtime_statistics statistics_held(const parking_lot& lot) {
  runtime_statistics stats;
  for (const record* r = lot.all_threads(); r; r = r->all_next) {
    if (r->st != state::finished) ++stats.threads_alive;
    if (r->st != state::blocked) continue;
    ++stats.threads_blocked;
    bool counted = false;
    for (auto& [kind, n] : stats.blocked_by_kind)
      if (kind == r->waiting_on.what) counted = (++n, true);
    if (!counted) stats.blocked_by_kind.emplace_back(r->waiting_on.what, 1);
  }
  stats.spawns = lot.entered();
  stats.parks = lot.parks();
  return stats;
}

// The dump thread: one dump per byte the handler wrote; never returns.
void print_dumps(void* pipe) noexcept {
  int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(pipe));
  for (;;) {
    char byte;
    ssize_t n = ::read(fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    try {
      spindle::clone::dump_threads(std::cerr);
    } catch (...) {
      static constexpr char failed[] = "spindle: the thread dump ran out of memory\n";
      (void)!::write(2, failed, sizeof failed - 1);
    }
  }
}

}  // namespace
}  // namespace spindle::clone::detail

namespace spindle::clone {

runtime_statistics statistics() {
  detail::parking_lot& lot = detail::parking_lot::instance();
  auto held = lot.hold();
  return detail::statistics_held(lot);
}

// The text is made under the lock and written after it, so that a slow stream cannot
// hold every clone thread's park and wake.
void dump_threads(std::ostream& out) {
  detail::parking_lot& lot = detail::parking_lot::instance();
  std::ostringstream text;
  {
    auto held = lot.hold();
    const spindle::detail::thread_directory<detail::record> threads(lot.all_threads(),
                                                                    lot.finished_owners());
    text << "spindle: clone threads:\n";
    const std::int64_t now = spindle::detail::clock_ns();
    for (const detail::record* r = lot.all_threads(); r; r = r->all_next) {
      text << "  " << r->id << " \"" << r->name << "\" ";
      if (r->kernel && !r->detached) text << "tid " << detail::tid(r->kernel) << ' ';
      text << detail::state_name(r);
      if (r->st == detail::state::blocked) {
        text << " on ";
        spindle::detail::describe_wait(text, r, threads);
        text << " (parked " << lot.parks() - r->park_number << " parks ago) for "
             << spindle::detail::format_ns(now - r->blocked_since);
      }
      text << '\n';
    }
    write_statistics(text, detail::statistics_held(lot));
  }
  out << text.str() << std::flush;
}

void enable_thread_dump_signal(int signo) {
  static std::once_flag started;
  int pipe = spindle::detail::install_thread_dump_handler(signo, true);
  std::call_once(started, [pipe] {
    detail::kernel_thread* dumper = detail::start(
        detail::print_dumps, reinterpret_cast<void*>(static_cast<std::intptr_t>(pipe)));
    detail::detach(dumper);
  });
}

}  // namespace spindle::clone
