// runtime/green/diagnostics.cpp — the green scheduler's statistics and thread dump.
//
// Concept: everything here is computed when asked, on the scheduler's own kernel thread,
// from what the scheduler keeps anyway: its list of threads (alive, runnable, blocked
// and on what), its hand-over and park counts, and a few counts kept on paths that are
// slow already (spawn, a timer firing, an epoll wait). A thread's age in its state is
// told in parks: the record keeps the number of its park (for the deadlock report), so
// "parked 12 parks ago" costs nothing, where a clock read at every park would cost the
// park path tens of instructions.
// Explained in: docs/13-debugging.md. Read next: runtime/common/thread_dump_signal.cpp.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "../common/deadlock_report.hpp"
#include "../common/thread_dump_signal.hpp"
#include "scheduler.hpp"
#include "stack.hpp"

namespace spindle::green::detail {
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
      return r->detached ? "finished" : "finished-unjoined";
  }
  return "?";
}

void count_kind(runtime_statistics& stats, const char* what) {
  for (auto& [kind, n] : stats.blocked_by_kind)
    if (kind == what) return void(++n);
  stats.blocked_by_kind.emplace_back(what, 1);
}

using spindle::detail::format_ns;

}  // namespace

// How long `r` has been in its state, at `now`, while run times are measured. The
// running thread's state began with its run; the others stamp state_since as they change.
std::int64_t scheduler::time_in_state(const record* r, std::int64_t now) const noexcept {
  return now - (r == running_ ? run_started_ : r->state_since);
}

runtime_statistics scheduler::statistics() const {
  runtime_statistics stats;
  std::size_t pooled_in_use = 0;
  for (const record* r = all_; r; r = r->all_next) {
    if (r->st != state::finished) ++stats.threads_alive;
    if (r->st == state::runnable) ++stats.threads_runnable;
    if (r->st == state::blocked) {
      ++stats.threads_blocked;
      count_kind(stats, r->waiting_on.what);
    }
    stats.stack_bytes_in_use += r->stack.size;
    if (r != &root_ && r->stack.guard == 0) pooled_in_use += r->stack.size;
  }
  stats.stack_bytes_in_use += loop_.stack.size;
  stats.switches = handovers();
  stats.spawns = spawns_;
  stats.parks = parks_;
  stats.timer_wakeups = timer_wakeups_;
  stats.io_wakeups = reactor_.ready_events();
  std::size_t slabs = pooled_slab_bytes();
  stats.stack_bytes_cached =
      kept_guarded_stack_bytes() + (slabs > pooled_in_use ? slabs - pooled_in_use : 0);
  stats.longest_run_ns = static_cast<std::uint64_t>(longest_run_);
  stats.longest_run_thread = longest_run_id_;
  return stats;
}

// One line per thread, then its stack; the wait is named as the deadlock report names it.
void scheduler::dump(std::ostream& out) const {
  const spindle::detail::thread_directory<record> threads(all_, finished_owners_);
  std::ostringstream text;
  text << "spindle: green threads of kernel thread " << kernel_tid_ << ":\n";
  const std::int64_t now = measuring_ ? clock_ns() : 0;
  for (const record* r = all_; r; r = r->all_next) {
    text << "  " << r->id << " \"" << r->name << "\" " << state_name(r);
    if (r->st == state::blocked) {
      text << " on ";
      spindle::detail::describe_wait(text, r, threads);
      text << " (parked " << parks_ - r->park_number << " parks ago";
      if (r->timer_slot != record::no_timer) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(r->deadline - clock::now());
        text << ", deadline in " << left.count() << " ms";
      }
      text << ")";
    }
    if (measuring_ && r->st != state::finished) text << " for " << format_ns(time_in_state(r, now));
    if (policy_) {
      std::string place = policy_->describe(r);
      if (!place.empty()) text << " [" << place << "]";
    }
    text << "\n    stack: ";
    if (r == &root_) {
      text << "kernel stack";
    } else {
      text << (r->stack.guard ? "guarded " : "pooled ") << r->stack.size / 1024 << " KiB at "
           << r->stack.low;
    }
    text << '\n';
  }
  write_statistics(text, statistics());
  out << text.str() << std::flush;
}

// Called by the loop when the dump signal came since the last answer (the handler only
// counted it). Writes to standard error, as the deadlock report does.
void scheduler::answer_dump_request() noexcept {
  dumps_answered_ = thread_dump_requests();
  try {
    dump(std::cerr);
  } catch (...) {
    static constexpr char failed[] = "spindle: the thread dump ran out of memory\n";
    (void)!::write(2, failed, sizeof failed - 1);
  }
}

}  // namespace spindle::green::detail

namespace spindle::green {

runtime_statistics statistics() { return detail::scheduler::here().statistics(); }

void dump_threads(std::ostream& out) { detail::scheduler::here().dump(out); }

void measure_run_times(bool on) { detail::scheduler::here().measure_run_times(on); }

void enable_thread_dump_signal(int signo) {
  spindle::detail::install_thread_dump_handler(signo, false);
}

}  // namespace spindle::green
