// runtime/green/lifetime.cpp — when a kernel thread's scheduler is born and dies.
//
// Concept: nothing has to be started. The first green call on a kernel thread makes its
// scheduler, and the code already running there becomes the root green thread (named
// "main" on the process's first thread), so a plain main() can spawn and join. When
// the kernel thread exits, the scheduler is torn down if only the root thread is left;
// threads still alive then are abandoned, as detached std::threads are at exit. Its birth
// also arms the stack-overflow report for the kernel thread (runtime/green/overflow.cpp);
// its retirement stops the watchdog (runtime/green/watchdog.cpp) and the preemption timer
// (runtime/green/preemption.cpp).
// Explained in: docs/05-scheduler.md (birth and death). Read next: runtime/green/thread.cpp.
#include <cxxabi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <mutex>
#include <string>
#include <utility>

#include "context.hpp"
#include "local_slots.hpp"
#include "overflow.hpp"
#include "remote.hpp"
#include "scheduler.hpp"
#include "stack.hpp"
#include "switch_hooks.hpp"

namespace spindle::green::detail {
namespace {

// Usable bytes of the scheduler loop's own stack.
constexpr std::size_t loop_stack_size = 64 * 1024;

// Ids are unique in the process: every scheduler takes them from here in blocks, and
// the first scheduler's root thread is 1.
std::atomic<std::uint64_t> ids_taken{0};

// The object whose destructor runs when the kernel thread exits.
struct teardown_at_thread_exit {
  ~teardown_at_thread_exit();
};
thread_local teardown_at_thread_exit teardown;

// Guards all_schedulers and every scheduler's listed_ links.
std::mutex all_schedulers_lock;

}  // namespace

scheduler* all_schedulers = nullptr;

[[gnu::tls_model("initial-exec")]] constinit thread_local scheduler* current_scheduler = nullptr;

void scheduler::take_ids() noexcept {
  next_id_ = ids_taken.fetch_add(ids_per_block, std::memory_order_relaxed) + 1;
  ids_end_ = next_id_ + ids_per_block;
}

// The first green call on a kernel thread: here() found no scheduler.
scheduler& scheduler::make_here() {
  current_scheduler = new scheduler();
  (void)&teardown;  // odr-use: registers the destructor for this kernel thread
  return *current_scheduler;
}

scheduler* scheduler::here_if_any() noexcept { return current_scheduler; }

scheduler::scheduler()
    : running_(&root_),
      root_stack_(switch_hooks::kernel_stack()),
      eh_globals_(reinterpret_cast<exception_state*>(abi::__cxa_get_globals())) {
  root_.id = new_thread_id();
  root_.name = getpid() == static_cast<pid_t>(syscall(SYS_gettid))
                   ? "main"
                   : "root of kernel thread " + std::to_string(syscall(SYS_gettid));
  root_.st = state::running;
  root_.home = this;
  link(&root_);
  loop_.name = "scheduler";
  allocate_stack(loop_stack_size, stack_kind::guarded, loop_.stack);
  loop_.context = make_context<loop_entry>(loop_.stack, loop_.stack.high());
  arm_overflow_reports();
  list();
}

// The first code of the loop's context, on its own stack, run by the first switch to it.
void scheduler::loop_entry() noexcept {
  started();
  scheduler& s = here();
  s.run();
  s.leave_scheduler();
}

// Called by the constructor and by retire, on the scheduler's own kernel thread.
void scheduler::list() noexcept {
  kernel_tid_ = syscall(SYS_gettid);
  std::lock_guard<std::mutex> held(all_schedulers_lock);
  listed_next_ = all_schedulers;
  if (all_schedulers) all_schedulers->listed_prev_ = this;
  all_schedulers = this;
}

// Looked up in the list, under its lock, rather than read through `home`: that scheduler
// may have been freed with its kernel thread.
long scheduler::kernel_tid_of(const void* home) noexcept {
  std::lock_guard<std::mutex> held(all_schedulers_lock);
  for (const scheduler* s = all_schedulers; s; s = s->listed_next_) {
    if (s == home) return s->kernel_tid_;
  }
  return 0;
}

void scheduler::unlist() noexcept {
  std::lock_guard<std::mutex> held(all_schedulers_lock);
  (listed_prev_ ? listed_prev_->listed_next_ : all_schedulers) = listed_next_;
  if (listed_next_) listed_next_->listed_prev_ = listed_prev_;
  listed_prev_ = listed_next_ = nullptr;
}

// Runs on the root thread with no other thread alive: stops the loop, lets its context
// finish, then frees its stack and the kernel thread's alternate signal stack.
scheduler::~scheduler() {
  assert(running_ == &root_ && all_ == &root_ && root_.all_next == nullptr);
  stopping_ = true;
  switch_to(&loop_);
  switch_hooks::frames_abandoned(loop_.stack);
  free_stack(loop_.stack);
  disarm_overflow_reports();
}

// Called as the kernel thread exits. Frees everything if the root thread is the only
// one left (after reaping finished detached threads); otherwise the live threads are
// abandoned with their stacks, since resuming them now could run arbitrary code.
void scheduler::retire(scheduler* s) noexcept {
  s->watchdog_.stop();  // abandoned threads cannot stall anyone now
  s->preemption_.stop();
  s->unlist();                        // its kernel thread is leaving: no tool can look at it now
  if (s->inbox_) s->inbox_->close();  // handles held elsewhere now post in vain
  s->reap_finished();
  destroy_locals(&s->root_);
  if (s->running_ == &s->root_ && s->all_ == &s->root_ && s->root_.all_next == nullptr) {
    delete s;
  }
}

// The scheduler stays reachable while retire runs: the root's local destructors may use
// the green API. Order of thread-exit destructors: this object is constructed after the
// scheduler's stack cache (here() maps a stack first), so it is destroyed before it.
teardown_at_thread_exit::~teardown_at_thread_exit() {
  if (scheduler* s = current_scheduler) {
    scheduler::retire(s);
    current_scheduler = nullptr;
  }
}

}  // namespace spindle::green::detail
