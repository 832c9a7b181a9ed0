// spindle/mn/thread.hpp — spawn, the thread handle, this_thread, and the workers.
//
// Concept: the same API as spindle/green/thread.hpp, but the thread spawned may run on
// any of the backend's worker kernel threads and move between them whenever it parks or
// yields. The workers are made at the first spawn (or by start(n)).
// Explained in: docs/02-the-api.md and runtime/mn/README.md.
// Read next: runtime/mn/thread.cpp.
#pragma once

#include <chrono>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "spindle/backend.hpp"
#include "spindle/detail/thread_handle.hpp"
#include "spindle/detail/timed_waits.hpp"
#include "spindle/mn/detail/record.hpp"

namespace spindle::clone::detail {
void ensure_ready();  // runtime/clone/kernel_thread.hpp: made the workers' kernel threads
}  // namespace spindle::clone::detail

namespace spindle::mn {

namespace detail {
// The workers are clone kernel threads, and libspindle-clone must come before libc in the
// program's lookup order (docs/09-clone-backend.md, "link only what is used"). A linker
// that drops libraries the program does not call (--as-needed, meson's default) would
// load it only after libc, through libspindle-mn: so every spawn names one of its
// functions, which keeps it on the program's own list. Costs no instruction at run time.
inline void keep_clone_library_linked() noexcept {
  asm volatile("" : : "r"(&spindle::clone::detail::ensure_ready));
}
}  // namespace detail

using spindle::spawn_options;
using spindle::stack_kind;

// Starts the backend with `workers` kernel threads (made by the clone backend's kernel
// thread layer). Without a call, the first spawn starts it with SPINDLE_MN_THREADS
// workers if that is set, else one per processor the process may run on
// (sched_getaffinity). Throws std::invalid_argument for 0 or more than max_workers (or
// a SPINDLE_MN_THREADS that is not such a number), std::logic_error if the backend has
// already started with another count, and what the clone backend throws when it cannot
// make a kernel thread.
inline constexpr unsigned max_workers = 256;
void start(unsigned workers);
// How many workers run (0 before the start).
unsigned workers() noexcept;

struct thread_id_tag;
using thread_id = basic_thread_id<thread_id_tag>;

namespace detail {
struct handle_ops {
  using record = detail::record;
  using thread_id = mn::thread_id;
  static constexpr const char* handle_name = "spindle::mn::thread";
  static void wait_for_finish(record* r) { detail::wait_for_finish(r); }
  static void reap(record* r) noexcept { detail::reap(r); }
  static void detach(record* r) noexcept { detail::detach(r); }
  [[noreturn]] static void abandon(const record* r) noexcept { detail::abandon_joinable(r); }
};
}  // namespace detail

template <class R>
using thread = spindle::detail::thread_handle<R, detail::handle_ops>;

// Starts f(args...) on a new M:N thread, runnable on any worker. The caller keeps
// running. Stacks are always guarded (a pooled stack belongs to one kernel thread's
// pool, and an M:N thread may finish on another): spawn_options::stack is ignored.
template <class F, class... Args>
requires std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(const spawn_options& options, F&& f, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  using task = detail::task<R, std::decay_t<F>, std::decay_t<Args>...>;
  detail::keep_clone_library_linked();
  detail::stack_span stack;
  void* place = detail::reserve_stack(options, sizeof(task), alignof(task), stack);
  task* t;
  try {
    t = ::new (place) task(std::forward<F>(f), std::forward<Args>(args)...);
  } catch (...) {
    detail::unreserve_stack(stack);
    throw;
  }
  detail::start(t, options, stack);
  return thread<R>(t);
}

template <class F, class... Args>
requires std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(F&& f, Args&&... args) {
  return spawn(spawn_options{}, std::forward<F>(f), std::forward<Args>(args)...);
}

namespace this_thread {

// An M:N thread goes behind the others of its worker's run queue; a root calls
// sched_yield.
void yield();
void sleep_until(std::chrono::steady_clock::time_point deadline);

template <class Clock, class Duration>
void sleep_until(std::chrono::time_point<Clock, Duration> deadline) {
  sleep_until(spindle::detail::to_steady(deadline));
}

template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
  sleep_until(spindle::detail::steady_after(d));
}

thread_id get_id();
std::string_view name();
void set_name(std::string_view name);
// Which worker runs the caller now (0 to workers() - 1), or -1 for a root: the value may
// differ after any yield or park. For the tests and the docs' migration demonstration.
int worker_index() noexcept;

}  // namespace this_thread

}  // namespace spindle::mn
