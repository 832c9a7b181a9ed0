// runtime/mn/diagnostics.cpp — the M:N threads' statistics and thread dump.
//
// Concept: as on the clone backend (runtime/clone/diagnostics.cpp), the parking lot lists
// every live thread under its one lock, and the statistics and the dump read that list
// while holding it; the dump a signal asks for is printed by a kernel thread made for it.
// Explained in: docs/13-debugging.md, docs/15-many-to-many.md and runtime/mn/README.md.
// Read next: runtime/mn/lot.hpp.
#include "spindle/diagnostics.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string_view>

#include "../clone/kernel_thread.hpp"
#include "../common/deadlock_report.hpp"
#include "../common/run_clock.hpp"
#include "../common/thread_dump_signal.hpp"
#include "lot.hpp"
#include "reactor.hpp"
#include "worker.hpp"

namespace spindle::mn::detail {
namespace {

const char* state_name(const record* r) {
  switch (r->st) {
    case state::runnable:
      return "runnable";
    case state::running:
      return "running";
    case state::blocked:
      return std::string_view(r->waiting_on.what) == "sleep" ? "sleeping" : "blocked";
    case state::finished:
      return "finished";
  }
  return "?";
}

// Caller holds the lot's lock.
runtime_statistics statistics_held(const lot& l) {
  runtime_statistics stats;
  for (const record* r = l.all_threads(); r; r = r->all_next) {
    ++stats.threads_alive;
    if (r->st != state::blocked) continue;
    ++stats.threads_blocked;
    bool counted = false;
    for (auto& [kind, n] : stats.blocked_by_kind)
      if (kind == r->waiting_on.what) counted = (++n, true);
    if (!counted) stats.blocked_by_kind.emplace_back(r->waiting_on.what, 1);
  }
  stats.spawns = l.entered();
  stats.parks = l.parks();
  stats.timer_wakeups = l.timer_wakeups();
  stats.io_wakeups = reactor::instance().ready_events();
  return stats;
}

void print_dumps(void* pipe) noexcept {
  int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(pipe));
  for (;;) {
    char byte;
    ssize_t n = ::read(fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    try {
      spindle::mn::dump_threads(std::cerr);
    } catch (...) {
      static constexpr char failed[] = "spindle: the thread dump ran out of memory\n";
      (void)!::write(2, failed, sizeof failed - 1);
    }
  }
}

}  // namespace
}  // namespace spindle::mn::detail

namespace spindle::mn {

runtime_statistics statistics() {
  detail::lot& l = detail::lot::instance();
  auto held = l.hold();
  return detail::statistics_held(l);
}

void dump_threads(std::ostream& out) {
  detail::lot& l = detail::lot::instance();
  std::ostringstream text;
  {
    auto held = l.hold();
    const spindle::detail::thread_directory<detail::record> threads(l.all_threads(),
                                                                    l.finished_owners());
    text << "spindle: M:N threads on " << detail::worker_count() << " workers:\n";
    const std::int64_t now = spindle::detail::clock_ns();
    for (const detail::record* r = l.all_threads(); r; r = r->all_next) {
      text << "  " << r->id << " \"" << r->name << "\" " << detail::state_name(r);
      if (r->st == detail::state::blocked) {
        text << " on ";
        spindle::detail::describe_wait(text, r, threads);
        text << " (parked " << l.parks() - r->park_number << " parks ago) for "
             << spindle::detail::format_ns(now - r->blocked_since);
      }
      text << '\n';
    }
    write_statistics(text, detail::statistics_held(l));
  }
  out << text.str() << std::flush;
}

void enable_thread_dump_signal(int signo) {
  static std::once_flag started;
  int pipe = spindle::detail::install_thread_dump_handler(signo, true, 1);
  std::call_once(started, [pipe] {
    auto* dumper = clone::detail::start(detail::print_dumps,
                                        reinterpret_cast<void*>(static_cast<std::intptr_t>(pipe)));
    clone::detail::detach(dumper);
  });
}

}  // namespace spindle::mn
