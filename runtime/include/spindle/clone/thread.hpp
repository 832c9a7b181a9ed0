// spindle/clone/thread.hpp — spawn, the thread handle, and this_thread, on kernel threads.
//
// Concept: the same API as spindle/green/thread.hpp, but each thread is a kernel task
// made with the clone system call, scheduled by the kernel.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/thread.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

#include "spindle/backend.hpp"
#include "spindle/clone/detail/record.hpp"
#include "spindle/detail/thread_handle.hpp"
#include "spindle/detail/timed_waits.hpp"

namespace spindle::clone {

using spindle::spawn_options;

struct thread_id_tag;
using thread_id = basic_thread_id<thread_id_tag>;

namespace detail {
// What the shared thread handle does underneath, on the clone backend.
struct handle_ops {
  using record = detail::record;
  using thread_id = clone::thread_id;
  static constexpr const char* handle_name = "spindle::clone::thread";
  static void wait_for_finish(record* r) { detail::wait_for_finish(r); }
  static void reap(record* r) noexcept { detail::reap(r); }
  static void detach(record* r) noexcept { detail::detach(r); }
  [[noreturn]] static void abandon(const record* r) noexcept { detail::abandon_joinable(r); }
};
}  // namespace detail

template <class R>
using thread = spindle::detail::thread_handle<R, detail::handle_ops>;

// Starts f(args...) on a new kernel thread. Throws std::system_error when the kernel
// refuses (memory, mappings, tasks), and std::runtime_error if this glibc is one the
// backend cannot verify (docs/09-clone-backend.md).
template <class F, class... Args>
requires std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(const spawn_options& options, F&& f, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  using task = detail::task<R, std::decay_t<F>, std::decay_t<Args>...>;
  auto* t = new task(std::forward<F>(f), std::forward<Args>(args)...);
  detail::start(t, options);
  return thread<R>(t);
}

template <class F, class... Args>
requires std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(F&& f, Args&&... args) {
  return spawn(spawn_options{}, std::forward<F>(f), std::forward<Args>(args)...);
}

namespace this_thread {

// sched_yield: the kernel runs another runnable task, if any, on this CPU.
void yield() noexcept;
// clock_nanosleep until the deadline; the kernel runs other threads meanwhile.
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

}  // namespace this_thread

}  // namespace spindle::clone
