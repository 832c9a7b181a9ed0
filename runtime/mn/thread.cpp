// runtime/mn/thread.cpp — spawn, join, detach and exit of M:N threads, and the roots.
//
// Concept: spawn is green's (a stack from runtime/green/stack.cpp, the record at its top,
// a context made by runtime/green/context.hpp), but the new thread goes on a worker's
// run queue and is registered in the parking lot, because its joiner may be on any
// kernel thread. A kernel thread that is not a worker gets a root record on its first
// call: it blocks on its own futex word, as a clone thread does.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md. Read next: runtime/mn/worker.cpp.
#include "spindle/mn/thread.hpp"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/context/detail/fcontext.hpp>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

#include "../common/deadlock_report.hpp"
#include "../common/escaped_exception.hpp"
#include "../green/context.hpp"
#include "../green/stack.hpp"
#include "../green/switch_hooks.hpp"
#include "lot.hpp"
#include "overflow.hpp"
#include "spindle/mn.hpp"
#include "worker.hpp"

namespace spindle::mn::detail {

namespace {

constexpr std::size_t minimum_stack_size = 16 * 1024;
constexpr std::size_t minimum_free_stack = 8 * 1024;

std::atomic<std::uint64_t> last_id{0};

std::string describe(const record* r) { return spindle::detail::describe_thread(r); }

[[noreturn]] void terminate_for_escaped_exception(const record* thread) noexcept {
  spindle::detail::terminate_for_escaped_exception("mn", thread->id, thread->name, thread->error);
}

// A root leaves the registry when its kernel thread exits (a thread_local's destructor).
struct root_holder {
  record* self = nullptr;
  ~root_holder() {
    if (!self) return;
    auto held = lot::instance().hold();
    lot::instance().leave(self);
    held.unlock();
    delete self;
  }
};
thread_local root_holder root_here;

record* register_root() {
  auto* r = new record;
  r->root = true;
  r->st = state::running;
  r->id = ++last_id;
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  r->name = tid == getpid() ? "main" : "root of kernel thread " + std::to_string(tid);
  {
    auto held = lot::instance().hold();
    lot::instance().enter(r);
  }
  root_here.self = r;
  name_in_overflow_reports(r, tid == getpid());
  return r;
}

// The last act of a thread, on its own stack: registered as finished under the lot's
// lock, which its worker's loop releases once this context has switched away for good.
[[noreturn]] void finish(record* self) noexcept {
  auto held = lot::instance().hold();
  if (self->error && self->detached) terminate_for_escaped_exception(self);
  lot::instance().leave(self);
  held.release();
  switch_to_loop(after_switch::finished);
  __builtin_unreachable();
}

void thread_entry(boost::context::detail::transfer_t from) noexcept {
  started(from.fctx);
  record* self = running_on_worker();
  self->run();
  spindle::detail::destroy_local_values(self->locals);
  finish(running_on_worker());
}

[[noreturn, gnu::cold]] void throw_stack_too_small(std::size_t stack_size) {
  throw std::invalid_argument("spindle::mn::spawn: stack_size " + std::to_string(stack_size) +
                              " is below the minimum of 16 KiB");
}

[[noreturn, gnu::cold]] void throw_task_too_large(const stack_span& stack, std::size_t bytes) {
  green::detail::free_stack(stack);
  throw std::invalid_argument(
      "spindle::mn::spawn: the thread's function and arguments (" + std::to_string(bytes) +
      " bytes) leave too little of the stack; pass them by pointer or choose a larger "
      "spawn_options::stack_size");
}

}  // namespace

record* root_if_any() noexcept { return root_here.self; }

record* running() {
  if (record* r = running_on_worker()) return r;
  if (record* r = root_here.self) return r;
  return register_root();
}

void* reserve_stack(const spawn_options& options, std::size_t bytes, std::size_t align,
                    stack_span& stack) {
  ensure_started();
  if (options.stack_size != 0 && options.stack_size < minimum_stack_size) {
    throw_stack_too_small(options.stack_size);
  }
  spindle::detail::check_priority(options.priority, "spindle::mn::spawn");
  spindle::detail::check_tickets(options.tickets, "spindle::mn::spawn");
  green::detail::allocate_stack(options.stack_size, stack_kind::guarded, stack);
  std::uintptr_t low = reinterpret_cast<std::uintptr_t>(stack.low);
  std::uintptr_t top = reinterpret_cast<std::uintptr_t>(stack.high()) - bytes;
  top &= ~(std::uintptr_t{align < 64 ? 64 : align} - 1);
  if (top < low + minimum_free_stack) throw_task_too_large(stack, bytes);
  return reinterpret_cast<void*>(top);
}

void unreserve_stack(const stack_span& stack) noexcept { green::detail::free_stack(stack); }

void start(record* thread, const spawn_options& options, const stack_span& stack) {
  thread->stack = stack;
  try {
    running();  // the spawner is known (and counted) before its child
    thread->name = options.name;
  } catch (...) {
    thread->~record();
    green::detail::free_stack(stack);
    throw;
  }
  thread->id = ++last_id;
  // Boost.Context's fcontext, which worker.cpp's jumps expect: frames grow down from the
  // record, which lies at the top of the stack.
  thread->context = boost::context::detail::make_fcontext(
      thread,
      static_cast<std::size_t>(reinterpret_cast<std::byte*>(thread) -
                               static_cast<std::byte*>(stack.low)),
      thread_entry);
  {
    auto held = lot::instance().hold();
    lot::instance().enter(thread);
  }
  make_runnable(thread);
}

void wait_for_finish(record* thread) {
  record* self = running();
  if (thread == self) {
    throw std::system_error(
        std::make_error_code(std::errc::resource_deadlock_would_occur),
        "spindle::mn::thread::join: thread " + describe(self) + " tried to join itself");
  }
  lot& l = lot::instance();
  auto held = l.hold();
  if (thread->left_in_parent) {
    throw std::system_error(std::make_error_code(std::errc::no_such_process),
                            "spindle::mn::thread::join: thread " + describe(thread) +
                                " stayed behind in the parent of a fork: only detach it");
  }
  if (thread->st == state::finished) return;
  thread->joiner = self;
  try {
    l.park(held, self, nullptr, {"join", thread, thread});
  } catch (...) {
    if (!held.owns_lock()) held = l.hold();
    thread->joiner = nullptr;
    throw;
  }
}

// The lock is taken and released first: the finishing thread held it across its last
// switch, so once it is ours, nothing runs on the stack any more.
// A thread left behind at a fork is abandoned, never destroyed: its function's objects
// are in the middle of their use in the parent.
void reap(record* thread) noexcept {
  {
    auto held = lot::instance().hold();
    if (thread->left_in_parent) return;
  }
  stack_span stack = thread->stack;
  thread->~record();
  green::detail::switch_hooks::frames_abandoned(stack);
  green::detail::free_stack(stack);
}

void detach(record* thread) noexcept {
  bool finished;
  {
    auto held = lot::instance().hold();
    thread->detached = true;
    finished = thread->st == state::finished;
    if (finished && thread->error) terminate_for_escaped_exception(thread);
  }
  if (finished) reap(thread);
}

void abandon_joinable(const record* thread) noexcept {
  std::fprintf(stderr,
               "spindle: the handle of M:N thread %s was destroyed while the thread was "
               "still joinable; call join() or detach() before the handle goes out of "
               "scope. Terminating.\n",
               describe(thread).c_str());
  std::terminate();
}

}  // namespace spindle::mn::detail

namespace spindle::mn {

void start(unsigned workers) {
  if (workers == 0) throw std::invalid_argument("spindle::mn::start: 0 workers");
  detail::ensure_started(workers);
}

unsigned workers() noexcept { return detail::worker_count(); }

local_slot& sync_primitives::local_slot(std::size_t key) {
  detail::record* self = detail::running();
  if (self->locals.size() <= key) self->locals.resize(key + 1);
  return self->locals[key];
}

}  // namespace spindle::mn

namespace spindle::mn::this_thread {

void yield() {
  if (detail::running_on_worker()) {
    detail::switch_to_loop(detail::after_switch::yielded);
  } else {
    sched_yield();
  }
}

void sleep_until(std::chrono::steady_clock::time_point deadline) {
  detail::record* self = detail::running();
  detail::lot& l = detail::lot::instance();
  for (;;) {
    auto held = l.hold();
    if (!l.park_until(held, self, deadline, nullptr, {"sleep", nullptr, nullptr})) return;
  }
}

thread_id get_id() { return thread_id{detail::running()->id}; }
std::string_view name() { return detail::running()->name; }
void set_name(std::string_view name) { detail::running()->name = name; }
int worker_index() noexcept { return detail::index_of(detail::current_worker()); }

}  // namespace spindle::mn::this_thread
