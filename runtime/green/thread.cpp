// runtime/green/thread.cpp — spawn, join, detach and exit of green threads.
//
// Concept: spawn maps (or reuses) a stack, builds the thread's record at its top, makes
// a context that will start the thread's function there, and puts the thread on the run
// queue. The context starts in thread_entry(), which runs the function (its task stores
// the result), destroys the thread's locals and leaves for the next thread through
// finish_running, which wakes the joiner; join then frees the record and the stack.
// Explained in: docs/05-scheduler.md (a thread's life). Read next: runtime/green/mutex.cpp.
#include "spindle/green/thread.hpp"

#include <cstdint>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

#include "../common/deadlock_report.hpp"
#include "../common/escaped_exception.hpp"
#include "context.hpp"
#include "local_slots.hpp"
#include "scheduler.hpp"
#include "stack.hpp"

namespace spindle::green::detail {

namespace {

// Below this many usable bytes even a trivial thread may overflow its stack.
constexpr std::size_t minimum_stack_size = 16 * 1024;
// What must stay free below the record for the thread's own frames.
constexpr std::size_t minimum_free_stack = 8 * 1024;

std::string describe(const record* r) { return spindle::detail::describe_thread(r); }

[[noreturn]] void terminate_for_escaped_exception(const record* thread) noexcept {
  spindle::detail::terminate_for_escaped_exception("green", thread->id, thread->name,
                                                   thread->error);
}

// Called by a thread, on its own stack, as its run() returns with an exception: if it is
// detached, nobody can receive it. Otherwise join will, or detach will find it.
void settle_escaped_exception(const record* thread) noexcept {
  if (thread->detached) terminate_for_escaped_exception(thread);
}

// The first code of every green thread, on its own stack, run by the first switch to it.
// Never returns: finish_running switches away for good.
void thread_entry() noexcept {
  scheduler::started();
  scheduler& s = scheduler::here();
  record* thread = s.running();
  thread->run();
  if (thread->error) settle_escaped_exception(thread);
  destroy_locals(thread);
  s.finish_running();
}

}  // namespace

record* running() { return scheduler::here().running(); }

namespace {

// The throws of reserve_stack, out of line and cold: building their messages inline
// would make reserve_stack save registers on every spawn.
[[noreturn, gnu::cold, gnu::noinline]] void throw_stack_too_small(std::size_t stack_size) {
  throw std::invalid_argument("spindle::green::spawn: stack_size " + std::to_string(stack_size) +
                              " is below the minimum of 16 KiB");
}

[[noreturn, gnu::cold, gnu::noinline]] void throw_task_too_large(const stack_span& stack,
                                                                 std::size_t bytes) {
  free_stack(stack);
  throw std::invalid_argument(
      "spindle::green::spawn: the thread's function and arguments (" + std::to_string(bytes) +
      " bytes) leave too little of the stack; pass them by pointer or choose a larger "
      "spawn_options::stack_size");
}

[[gnu::cold, gnu::noinline]] void check_attributes(const spawn_options& options) {
  spindle::detail::check_priority(options.priority, "spindle::green::spawn");
  spindle::detail::check_tickets(options.tickets, "spindle::green::spawn");
}

// Whether a priority or ticket count could be out of range: one unsigned compare each.
bool attributes_may_be_bad(const spawn_options& options) noexcept {
  return static_cast<unsigned>(options.priority - min_priority) >
             static_cast<unsigned>(max_priority - min_priority) ||
         options.tickets - 1 >= max_tickets;
}

}  // namespace

void* reserve_stack(const spawn_options& options, std::size_t bytes, std::size_t align,
                    stack_span& stack) {
  scheduler::here();  // the root thread exists before any thread it spawns
  if (options.stack_size != 0 && options.stack_size < minimum_stack_size) {
    throw_stack_too_small(options.stack_size);
  }
  if (attributes_may_be_bad(options)) [[unlikely]]
    check_attributes(options);
  allocate_stack(options.stack_size, options.stack, stack);
  std::uintptr_t low = reinterpret_cast<std::uintptr_t>(stack.low);
  std::uintptr_t top = reinterpret_cast<std::uintptr_t>(stack.high()) - bytes;
  top &= ~(std::uintptr_t{align < 64 ? 64 : align} - 1);
  if (top < low + minimum_free_stack) throw_task_too_large(stack, bytes);
  return reinterpret_cast<void*>(top);
}

void unreserve_stack(const stack_span& stack) noexcept { free_stack(stack); }

void start(record* thread, const spawn_options& options, const stack_span& stack) {
  scheduler& s = scheduler::here();
  thread->stack = stack;
  // Most threads are unnamed, and assigning even an empty name calls into std::string.
  if (!options.name.empty()) {
    try {
      thread->name = options.name;
    } catch (...) {
      thread->~record();
      free_stack(stack);
      throw;
    }
  }
  thread->id = s.new_thread_id();
  thread->priority = options.priority;
  thread->tickets = options.tickets;
  // The record sits at the very top of the stack; the thread's frames grow below it.
  thread->context = make_context<thread_entry>(stack, thread);
  s.admit(thread);
}

void wait_for_finish(record* thread) {
  scheduler& s = scheduler::here();
  record* self = s.running();
  if (thread == self) {
    throw std::system_error(
        std::make_error_code(std::errc::resource_deadlock_would_occur),
        "spindle::green::thread::join: thread " + describe(self) + " tried to join itself");
  }
  if (thread->st == state::finished) return;
  thread->joiner = self;
  try {
    s.park(nullptr, {"join", thread, thread});
  } catch (...) {
    thread->joiner = nullptr;
    throw;
  }
}

// A thread is reaped on its own kernel thread, so its home is the caller's scheduler:
// one load, where here() would test the thread-local pointer too.
void reap(record* thread) noexcept { thread->home->reap(thread); }

// On one kernel thread `error` is only ever set once the function has thrown, so it can
// be read here even if the thread has not finished (it may be parked in a local's
// destructor): a thread that failed before it was detached ends the program here.
void detach(record* thread) noexcept {
  thread->detached = true;
  if (thread->error) terminate_for_escaped_exception(thread);
  if (thread->st == state::finished) reap(thread);
}

void abandon_joinable(const record* thread) noexcept {
  std::fprintf(stderr,
               "spindle: the handle of green thread %s was destroyed while the thread was "
               "still joinable; call join() or detach() before the handle goes out of "
               "scope. Terminating.\n",
               describe(thread).c_str());
  std::terminate();
}

}  // namespace spindle::green::detail

namespace spindle::green::this_thread {

namespace {
// A first yield on a kernel thread makes its scheduler; apart and cold, so that the common
// yield, with scheduler::yield inlined, needs no frame for the call to make_here.
[[gnu::cold, gnu::noinline]] void yield_making_the_scheduler() {
  detail::scheduler::here().yield();
}
}  // namespace

void yield() {
  if (detail::scheduler* s = detail::current_scheduler) [[likely]]
    return s->yield();
  yield_making_the_scheduler();
}

void sleep_until(std::chrono::steady_clock::time_point deadline) {
  auto& s = detail::scheduler::here();
  while (s.park_until(deadline, nullptr, {"sleep", nullptr, nullptr})) {
  }
}

thread_id get_id() noexcept { return thread_id{detail::running()->id}; }
std::string_view name() noexcept { return detail::running()->name; }
void set_name(std::string_view name) { detail::running()->name = name; }

void set_priority(int priority) {
  spindle::detail::check_priority(priority, "spindle::green::this_thread::set_priority");
  detail::running()->priority = priority;
}
void set_tickets(std::uint32_t tickets) {
  spindle::detail::check_tickets(tickets, "spindle::green::this_thread::set_tickets");
  detail::running()->tickets = tickets;
}
int priority() noexcept { return detail::running()->priority; }
std::uint32_t tickets() noexcept { return detail::running()->tickets; }

}  // namespace spindle::green::this_thread

namespace spindle::green {

bool set_priority(thread_id id, int priority) {
  spindle::detail::check_priority(priority, "spindle::green::set_priority");
  detail::record* r = detail::scheduler::here().find(id.value());
  if (r) r->priority = priority;
  return r != nullptr;
}

bool set_tickets(thread_id id, std::uint32_t tickets) {
  spindle::detail::check_tickets(tickets, "spindle::green::set_tickets");
  detail::record* r = detail::scheduler::here().find(id.value());
  if (r) r->tickets = tickets;
  return r != nullptr;
}

}  // namespace spindle::green
