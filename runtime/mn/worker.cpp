// runtime/mn/worker.cpp — the workers' scheduler loop, run queues, stealing and sleep.
//
// Start at worker::run: one round fires the expired timers, takes a thread from its own
// run queue or steals one, and runs it until it switches back; with nothing to run, the
// worker sleeps (worker::idle). Every switch goes through the loop, as Go's does (a
// thread calls mcall(park_m), which finishes the park on the scheduler's stack): the loop
// is where a park's lock is released after the thread's context is saved.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md. Read next: runtime/mn/lot.cpp.
#include "worker.hpp"

#include <cxxabi.h>
#include <sched.h>

#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../clone/futex.hpp"
#include "../clone/kernel_thread.hpp"
#include "../green/context.hpp"
#include "../green/switch_hooks.hpp"
#include "lot.hpp"
#include "overflow.hpp"
#include "reactor.hpp"
#include "spindle/mn/thread.hpp"

namespace boost::context::detail {
extern "C" [[gnu::noplt]] transfer_t jump_fcontext(fcontext_t const to, void* vp);
}  // namespace boost::context::detail

namespace spindle::mn::detail {

namespace futex = clone::detail::futex;
namespace switch_hooks = green::detail::switch_hooks;
using boost::context::detail::jump_fcontext;
// M:N switches with Boost.Context's fcontext on every architecture (green's own x86-64
// jump, runtime/green/context_x86_64.S, takes no transfer and serves one kernel thread).
using transfer = boost::context::detail::transfer_t;

namespace {

// A test-and-test-and-set lock for the run queues and the list of sleepers, held for a
// few stores. Under valgrind, which runs one kernel thread at a time, a spinner must
// give the processor up, or the holder never runs: hence sched_yield after a while.
class spinlock {
 public:
  void lock() noexcept {
    while (taken_.exchange(true, std::memory_order_acquire)) {
      for (unsigned spins = 0; taken_.load(std::memory_order_relaxed); ++spins) {
        if (spins < 64) {
          __builtin_ia32_pause();
        } else {
          sched_yield();
        }
      }
    }
  }
  void unlock() noexcept { taken_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> taken_{false};
};

// A worker's run queue: first in, first out, linked through the records' `next`. Its
// owner pushes and pops at either end's usual place; a thief takes the older half from
// the front. A spinlock per queue rather than Chase-Lev's lock-free deque: a queue is
// locked by its owner and, rarely, one thief, for a few stores, and a locked queue can
// hand over half of itself at once, which is what an idle worker wants (docs:
// runtime/mn/README.md, "why a locked queue").
class run_queue {
 public:
  // Read without the lock: a hint for the owner and the thieves, exact under the lock.
  std::size_t size() const noexcept { return size_.load(std::memory_order_seq_cst); }

  void push_back(record* r) noexcept {
    r->next = nullptr;
    std::lock_guard hold(lock_);
    (tail_ ? tail_->next : head_) = r;
    tail_ = r;
    size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
  }

  record* pop_front() noexcept {
    if (size() == 0) return nullptr;
    std::lock_guard hold(lock_);
    record* r = head_;
    if (!r) return nullptr;
    head_ = r->next;
    if (!head_) tail_ = nullptr;
    size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return r;
  }

  // Takes the older half (rounded up) off the front; returns them linked by `next`,
  // null-terminated, and their count in `taken`.
  record* take_half(std::size_t& taken) noexcept {
    std::lock_guard hold(lock_);
    std::size_t n = size_.load(std::memory_order_relaxed);
    taken = (n + 1) / 2;
    if (taken == 0) return nullptr;
    record* first = head_;
    record* last = first;
    for (std::size_t i = 1; i < taken; ++i) last = last->next;
    head_ = last->next;
    if (!head_) tail_ = nullptr;
    last->next = nullptr;
    size_.store(n - taken, std::memory_order_relaxed);
    return first;
  }

 private:
  spinlock lock_;
  record* head_ = nullptr;  // guarded by lock_
  record* tail_ = nullptr;  // guarded by lock_
  std::atomic<std::size_t> size_{0};
};

}  // namespace

struct worker {
  unsigned index = 0;
  run_queue queue;

  // Sleeping (worker::idle): 1 once a waker chose this worker; the futex it sleeps on.
  std::atomic<std::uint32_t> sleep_word{0};
  std::atomic<bool> polling{false};  // asleep in the reactor: a waker must interrupt it
  bool listed_idle = false;          // in the pool's list of sleepers; guarded by its lock

  // The switch: touched only by this worker's kernel thread.
  context loop_context = nullptr;                // the loop's saved context while a thread runs
  record* running = nullptr;                     // the thread the loop switched to
  after_switch pending = after_switch::yielded;  // what that thread asked for
  exception_state* eh_globals = nullptr;         // this kernel thread's __cxa_eh_globals
  std::uint64_t random_state = 0;                // whom to try first when stealing
  unsigned rounds = 0;                           // of the loop: every polls_every-th polls I/O
  static constexpr unsigned polls_every = 61;

  [[noreturn]] void run() noexcept;
  void run_thread(record* r) noexcept;
  void finish_switch(record* was, context saved) noexcept;
  record* steal() noexcept;
  void idle() noexcept;
  void sleep(clock::time_point deadline, bool in_reactor) noexcept;
};

namespace {

// The workers, made once by ensure_started and never destroyed: they run until the
// process exits, and may park threads while static destructors run.
struct pool {
  worker* workers[max_workers] = {};
  std::atomic<unsigned> count{0};
  std::mutex starting;  // serialises ensure_started
  std::atomic<unsigned> next_target{0};

  // Sleepers: the workers in worker::idle. A waker takes the one that slept last.
  spinlock idle_lock;
  std::vector<worker*> idle;                // guarded by idle_lock
  std::atomic<unsigned> idle_count{0};      // idle.size(), read without the lock
  worker* timekeeper = nullptr;             // the sleeper that waits for the earliest
  clock::time_point timekeeper_deadline{};  // timer, and until when; guarded by the lot

  pool* before_fork = nullptr;  // in a forked child, the parent's pool: abandoned, kept
};

// Replaced in a forked child (after_fork_in_child); the old one is abandoned there.
pool* current_pool = new pool;
pool& the_pool() { return *current_pool; }

[[gnu::tls_model("initial-exec")]] constinit thread_local worker* this_worker = nullptr;

// Sets the chosen sleeper's word and wakes it, in the reactor if it sleeps there: the
// word is set before `polling` is read, and the sleeper sets `polling` before it reads the
// word (both sequentially consistent), so one of them sees the other.
void rouse(worker* w) noexcept {
  w->sleep_word.store(1, std::memory_order_seq_cst);
  futex::wake_private(w->sleep_word, 1);
  if (w->polling.load(std::memory_order_seq_cst)) reactor::instance().interrupt();
}

// Takes one sleeper off the list and wakes it; none if none sleeps.
void wake_one_sleeper() noexcept {
  pool& p = the_pool();
  worker* w;
  {
    std::lock_guard hold(p.idle_lock);
    if (p.idle.empty()) return;
    w = p.idle.back();
    p.idle.pop_back();
    w->listed_idle = false;
    p.idle_count.fetch_sub(1, std::memory_order_seq_cst);
  }
  rouse(w);
}

void unlist_idle(worker* w) noexcept {
  pool& p = the_pool();
  std::lock_guard hold(p.idle_lock);
  if (!w->listed_idle) return;
  std::erase(p.idle, w);
  w->listed_idle = false;
  p.idle_count.fetch_sub(1, std::memory_order_seq_cst);
}

bool work_anywhere() noexcept {
  pool& p = the_pool();
  unsigned n = p.count.load(std::memory_order_acquire);
  for (unsigned i = 0; i < n; ++i)
    if (p.workers[i]->queue.size() != 0) return true;
  return false;
}

std::uint64_t next_random(std::uint64_t& state) noexcept {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

void worker_entry(void* argument) noexcept { static_cast<worker*>(argument)->run(); }

unsigned processors_available() noexcept {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n < 1 ? 1 : (static_cast<unsigned>(n) > max_workers ? max_workers : n);
}

unsigned workers_from_environment() {
  const char* text = std::getenv("SPINDLE_MN_THREADS");
  if (!text || !*text) return processors_available();
  char* end = nullptr;
  errno = 0;
  unsigned long n = std::strtoul(text, &end, 10);
  if (errno != 0 || *end != '\0' || n == 0 || n > max_workers || text[0] == '-') {
    throw std::invalid_argument(std::string("spindle::mn: SPINDLE_MN_THREADS=\"") + text +
                                "\" is not a number of workers from 1 to " +
                                std::to_string(max_workers));
  }
  return static_cast<unsigned>(n);
}

}  // namespace

// The scheduler loop of one worker, on its kernel thread's own stack. Never returns: the
// workers live as long as the process.
void worker::run() noexcept {
  this_worker = this;
  eh_globals = reinterpret_cast<exception_state*>(abi::__cxa_get_globals());
  lot& l = lot::instance();
  for (;;) {
    if (l.any_timer()) l.fire_expired_timers();
    if (++rounds % polls_every == 0 && reactor::instance().has_waiters()) {
      reactor::instance().poll(clock::time_point::min());
    }
    record* next = queue.pop_front();
    if (!next) next = steal();
    if (next) {
      run_thread(next);
    } else {
      idle();
    }
  }
}

// Switches to `r` and, when it switches back (to this worker: the loop's context is
// this kernel thread's), finishes what it asked for.
void worker::run_thread(record* r) noexcept {
  running = r;
  std::memcpy(eh_globals, &r->eh, sizeof(exception_state));
  context to = std::exchange(r->context, nullptr);
  assert(to && "a context resumed twice");
  switch_hooks::departure kept = switch_hooks::before_switch(r->stack);
  transfer back = jump_fcontext(to, nullptr);
  switch_hooks::after_switch(kept);
  record* was = std::exchange(running, nullptr);
  std::memcpy(&was->eh, eh_globals, sizeof(exception_state));
  static constexpr exception_state none{};  // the loop handles no exception
  std::memcpy(eh_globals, &none, sizeof(exception_state));
  finish_switch(was, back.fctx);
}

// The second half of every switch away, on the loop's stack: the thread's context is
// saved, so now, and not before, may another worker run it.
void worker::finish_switch(record* was, context saved) noexcept {
  switch (pending) {
    case after_switch::yielded:
      was->context = saved;
      make_runnable(was);
      return;
    case after_switch::parked:
      was->context = saved;
      lot::instance().raw_lock().unlock();
      return;
    case after_switch::finished: {
      bool detached = was->detached;  // read under the lot's lock, still held
      lot::instance().raw_lock().unlock();
      if (detached) reap(was);
      return;
    }
  }
}

// Takes the older half of the first non-empty run queue among the others, starting at a
// random one; keeps the first thread to run and queues the rest here.
record* worker::steal() noexcept {
  pool& p = the_pool();
  unsigned n = p.count.load(std::memory_order_acquire);
  if (n < 2) return nullptr;
  unsigned start = static_cast<unsigned>(next_random(random_state) % n);
  for (unsigned i = 0; i < n; ++i) {
    worker* victim = p.workers[(start + i) % n];
    if (victim == this || victim->queue.size() == 0) continue;
    std::size_t taken = 0;
    record* first = victim->queue.take_half(taken);
    if (!first) continue;
    for (record* r = first->next; r;) {
      record* after = r->next;
      queue.push_back(r);
      r = after;
    }
    return first;
  }
  return nullptr;
}

// Nothing to run here or to steal: sleep until a waker chooses this worker. The worker
// lists itself before it looks at the queues once more, and a waker queues its thread
// before it looks at the list (both sequentially consistent), so one of them sees the
// other: no thread is left queued while every worker sleeps. The first sleeper keeps
// time: it sleeps only until the earliest timer, and the lot wakes it sooner when an
// earlier one is set (earliest_deadline_moved).
void worker::idle() noexcept {
  pool& p = the_pool();
  sleep_word.store(0, std::memory_order_relaxed);
  {
    std::lock_guard hold(p.idle_lock);
    p.idle.push_back(this);
    listed_idle = true;
    p.idle_count.fetch_add(1, std::memory_order_seq_cst);
  }
  if (work_anywhere()) return unlist_idle(this);
  lot& l = lot::instance();
  clock::time_point deadline = clock::time_point::max();
  bool keeps_time = false;
  {
    auto held = l.hold();
    if (!p.timekeeper) {
      keeps_time = true;
      p.timekeeper = this;
      deadline = p.timekeeper_deadline = l.next_deadline();
    }
  }
  sleep(deadline, keeps_time && reactor::instance().has_waiters());
  if (keeps_time) {
    auto held = l.hold();
    p.timekeeper = nullptr;
  }
  unlist_idle(this);
  // The timekeeper leaves: another sleeper takes its place, or timers would go unwatched.
  if (keeps_time && p.idle_count.load(std::memory_order_seq_cst) > 0) wake_one_sleeper();
}

// Until the word is set or the deadline passes: on the futex, or in the reactor, which
// also wakes the threads whose descriptors are ready (onto this worker's queue).
void worker::sleep(clock::time_point deadline, bool in_reactor) noexcept {
  if (in_reactor) {
    polling.store(true, std::memory_order_seq_cst);
    if (sleep_word.load(std::memory_order_seq_cst) == 0) reactor::instance().poll(deadline);
    polling.store(false, std::memory_order_relaxed);
    return;
  }
  while (sleep_word.load(std::memory_order_acquire) == 0) {
    if (deadline == clock::time_point::max()) {
      futex::wait_private(sleep_word, std::uint32_t{0});
      continue;
    }
    auto left = deadline - clock::now();
    if (left <= left.zero()) break;
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
    timespec relative{static_cast<time_t>(seconds.count()),
                      static_cast<long>((left - seconds).count())};
    futex::wait_private(sleep_word, std::uint32_t{0}, &relative);
  }
}

void io_wait_began() noexcept {
  pool& p = the_pool();
  if (worker* keeper = p.timekeeper) {
    if (!keeper->polling.load(std::memory_order_seq_cst)) rouse(keeper);
  } else if (p.idle_count.load(std::memory_order_seq_cst) > 0) {
    wake_one_sleeper();
  }
}

void earliest_deadline_moved(clock::time_point deadline) noexcept {
  pool& p = the_pool();
  if (worker* keeper = p.timekeeper) {
    if (deadline < p.timekeeper_deadline) {
      p.timekeeper_deadline = deadline;
      rouse(keeper);
    }
  } else if (p.idle_count.load(std::memory_order_seq_cst) > 0) {
    wake_one_sleeper();  // it finds no keeper and keeps time
  }
}

void make_runnable(record* r) noexcept {
  pool& p = the_pool();
  worker* w = current_worker();
  if (!w) {
    unsigned n = p.count.load(std::memory_order_acquire);
    w = p.workers[p.next_target.fetch_add(1, std::memory_order_relaxed) % n];
  }
  w->queue.push_back(r);
  if (p.idle_count.load(std::memory_order_seq_cst) > 0) wake_one_sleeper();
}

// The thread side of every switch away: it saves its context by jumping to the loop of
// the worker it runs on, and lands, when run again, possibly on another worker, whose
// loop context it keeps for its next switch.
void switch_to_loop(after_switch what) {
  worker* w = current_worker();
  w->pending = what;
  context to = std::exchange(w->loop_context, nullptr);
  if (what == after_switch::finished) {
    switch_hooks::before_last_switch(switch_hooks::kernel_stack());
    jump_fcontext(to, nullptr);
    __builtin_unreachable();
  }
  switch_hooks::departure kept = switch_hooks::before_switch(switch_hooks::kernel_stack());
  transfer landed = jump_fcontext(to, nullptr);
  switch_hooks::after_switch(kept);
  current_worker()->loop_context = landed.fctx;
}

void started(context loop) noexcept {
  switch_hooks::after_switch();
  current_worker()->loop_context = loop;
}

// An empty asm with a memory clobber: the compiler must read the thread-local pointer
// again after it, and cannot keep its address from before a switch.
worker* current_worker() noexcept {
  asm volatile("" ::: "memory");
  return this_worker;
}

int index_of(const worker* w) noexcept { return w ? static_cast<int>(w->index) : -1; }

record* running_on_worker() noexcept {
  worker* w = current_worker();
  return w ? w->running : nullptr;
}

void after_fork_in_child() noexcept {
  pool* parent = current_pool;
  current_pool = new (std::nothrow) pool;
  if (!current_pool) std::abort();  // a child with no memory for a few hundred bytes
  current_pool->before_fork = parent;
  if (worker* self = current_worker()) {
    self->queue.~run_queue();
    new (&self->queue) run_queue;
    self->index = 0;
    self->listed_idle = false;
    self->polling.store(false);
    current_pool->workers[0] = self;
    current_pool->count.store(1);
  }
}

unsigned worker_count() noexcept { return the_pool().count.load(std::memory_order_acquire); }

void ensure_started(unsigned requested) {
  pool& p = the_pool();
  unsigned running = p.count.load(std::memory_order_acquire);
  if (running != 0 && (requested == 0 || requested == running)) return;
  if (requested > max_workers) {
    throw std::invalid_argument("spindle::mn::start: " + std::to_string(requested) +
                                " workers; the most is " + std::to_string(max_workers));
  }
  std::lock_guard hold(p.starting);
  running = p.count.load(std::memory_order_relaxed);
  if (running != 0) {
    if (requested == 0 || requested == running) return;
    throw std::logic_error("spindle::mn::start: the backend already runs " +
                           std::to_string(running) + " workers; it cannot start with " +
                           std::to_string(requested));
  }
  unsigned n = requested ? requested : workers_from_environment();
  install_overflow_reports();
  for (unsigned i = 0; i < n; ++i) {
    auto* w = new worker;
    w->index = i;
    w->random_state = 0x9e3779b97f4a7c15ull * (i + 1);
    p.workers[i] = w;
  }
  p.idle.reserve(n);
  // Published once they all run: until then a worker that finds nothing sleeps, and the
  // first thread made runnable wakes it. If one cannot be made, those made serve.
  unsigned started = 0;
  try {
    for (; started < n; ++started) clone::detail::start(worker_entry, p.workers[started]);
  } catch (...) {
    p.count.store(started, std::memory_order_release);
    throw;
  }
  p.count.store(n, std::memory_order_release);
}

}  // namespace spindle::mn::detail
