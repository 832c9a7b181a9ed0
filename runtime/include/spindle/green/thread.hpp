// spindle/green/thread.hpp — spawn, the thread handle, and this_thread.
//
// Concept: a green thread is started by spawn() and owned by the handle it returns,
// like std::thread but with a result: `auto t = spawn(f, x); R r = t.join();`.
// Explained in: docs/02-the-api.md and docs/05-scheduler.md.
// Read next: runtime/green/thread.cpp (what spawn and join do underneath).
#pragma once

#include <chrono>
#include <new>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "spindle/backend.hpp"
#include "spindle/detail/thread_handle.hpp"
#include "spindle/detail/timed_waits.hpp"
#include "spindle/green/detail/record.hpp"

namespace spindle::green {

using spindle::spawn_options;
using spindle::stack_kind;

// Sets the stack kind that spawn uses when spawn_options::stack is program_default, for
// every kernel thread of the program; returns the previous one. At start it is guarded.
// Throws std::invalid_argument unless `kind` is guarded or pooled. See docs/04-stacks.md
// for the trade-off: pooled stacks lift the vm.max_map_count cap but have no guard page.
stack_kind set_default_stack(stack_kind kind);
// The kind set_default_stack set last (guarded if it was never called).
stack_kind default_stack() noexcept;

struct thread_id_tag;
using thread_id = basic_thread_id<thread_id_tag>;

namespace detail {
// What the shared thread handle does underneath, on the green backend.
struct handle_ops {
  using record = detail::record;
  using thread_id = green::thread_id;
  static constexpr const char* handle_name = "spindle::green::thread";
  static void wait_for_finish(record* r) { detail::wait_for_finish(r); }
  static void reap(record* r) noexcept { detail::reap(r); }
  static void detach(record* r) noexcept { detail::detach(r); }
  [[noreturn]] static void abandon(const record* r) noexcept { detail::abandon_joinable(r); }
};
}  // namespace detail

// A handle to a green thread whose function returns R: move-only; join() returns the
// result or rethrows the exception; see spindle/detail/thread_handle.hpp for the rules.
template <class R>
using thread = spindle::detail::thread_handle<R, detail::handle_ops>;

// Starts f(args...) on a new green thread of the calling kernel thread's scheduler.
// The new thread is runnable; the caller keeps running until it yields or blocks.
// Throws std::system_error when no stack can be mapped (see docs/04-stacks.md), and
// std::invalid_argument for options it cannot honour (a stack_size below 16 KiB).
template <class F, class... Args>
requires std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(const spawn_options& options, F&& f, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  using task = detail::task<R, std::decay_t<F>, std::decay_t<Args>...>;
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

// Gives the processor to the next runnable green thread; returns when picked again.
void yield();
// Parks the caller until the deadline; other green threads run meanwhile.
void sleep_until(std::chrono::steady_clock::time_point deadline);

template <class Clock, class Duration>
void sleep_until(std::chrono::time_point<Clock, Duration> deadline) {
  sleep_until(spindle::detail::to_steady(deadline));
}

template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
  sleep_until(spindle::detail::steady_after(d));
}

thread_id get_id() noexcept;
std::string_view name() noexcept;
void set_name(std::string_view name);

// The caller's scheduling attributes (spawn_options::priority and ::tickets). A change
// takes effect the next time the thread becomes runnable (its next yield, or its wake):
// a policy places a runnable thread when it is awakened. Out of range throws
// std::invalid_argument.
void set_priority(int priority);
void set_tickets(std::uint32_t tickets);
int priority() noexcept;
std::uint32_t tickets() noexcept;

}  // namespace this_thread

// As this_thread::set_priority and set_tickets, for another live (not finished) green
// thread of the calling kernel thread's scheduler; false when there is none with `id`.
bool set_priority(thread_id id, int priority);
bool set_tickets(thread_id id, std::uint32_t tickets);

}  // namespace spindle::green
