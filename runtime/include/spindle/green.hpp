// spindle/green.hpp — the green (1:N) backend: everything a program includes.
//
// Concept: many user-level threads multiplexed onto the ONE kernel thread that uses
// them, switched by Boost.Context, never calling fork or clone. Blocking a green thread
// (a mutex, a channel, sleep_for, join) parks it and runs another; the kernel thread
// only sleeps when no green thread can run.
// Explained in: docs/02-the-api.md and docs/05-scheduler.md.
// Read next: spindle/green/thread.hpp, then runtime/green/scheduler.cpp.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "spindle/backend.hpp"
#include "spindle/barrier.hpp"
#include "spindle/channel.hpp"
#include "spindle/errors.hpp"
#include "spindle/green/condition_variable.hpp"
#include "spindle/green/mutex.hpp"
#include "spindle/green/policy.hpp"
#include "spindle/green/preemption.hpp"
#include "spindle/green/remote.hpp"
#include "spindle/green/thread.hpp"
#include "spindle/green/watchdog.hpp"
#include "spindle/io.hpp"
#include "spindle/latch.hpp"
#include "spindle/local.hpp"
#include "spindle/once.hpp"
#include "spindle/select.hpp"
#include "spindle/semaphore.hpp"
#include "spindle/stop.hpp"

namespace spindle::green {

// What the primitives written once for both backends (channel, semaphore, latch,
// barrier, once) are built from.
struct sync_primitives {
  using mutex = green::mutex;
  using condition_variable = green::condition_variable;
  using thread_id = green::thread_id;
  static thread_id current_thread() { return this_thread::get_id(); }
  static spindle::local_slot& local_slot(std::size_t key);  // the running thread's slot
};

template <class T>
using channel = basic_channel<T, sync_primitives>;
template <std::ptrdiff_t Max = 1 << 30>
using counting_semaphore = basic_counting_semaphore<Max, sync_primitives>;
using binary_semaphore = counting_semaphore<1>;
using latch = basic_latch<sync_primitives>;
template <class Completion = no_completion>
using barrier = basic_barrier<sync_primitives, Completion>;
using once_flag = basic_once_flag<sync_primitives>;
template <class T>
using local = basic_local<T, sync_primitives>;

template <class F, class... Args>
void call_once(once_flag& flag, F&& f, Args&&... args) {
  flag.call_once(std::forward<F>(f), std::forward<Args>(args)...);
}

// The backend as one type, for programs written once over spindle::backend.
struct backend {
  static constexpr std::string_view name = "green";

  using thread_id = green::thread_id;
  using mutex = green::mutex;
  using condition_variable = green::condition_variable;
  using once_flag = green::once_flag;
  using latch = green::latch;
  template <class R>
  using thread = green::thread<R>;
  template <class T>
  using channel = green::channel<T>;
  template <std::ptrdiff_t Max = 1 << 30>
  using counting_semaphore = green::counting_semaphore<Max>;
  template <class Completion = no_completion>
  using barrier = green::barrier<Completion>;
  template <class T>
  using local = green::local<T>;

  template <class F, class... A>
  static auto spawn(const spawn_options& options, F&& f, A&&... a) {
    return green::spawn(options, std::forward<F>(f), std::forward<A>(a)...);
  }
  template <class F, class... A>
  requires std::is_invocable_v<std::decay_t<F>, std::decay_t<A>...>
  static auto spawn(F&& f, A&&... a) {
    return green::spawn(std::forward<F>(f), std::forward<A>(a)...);
  }
  template <class F, class... Args>
  static void call_once(once_flag& flag, F&& f, Args&&... args) {
    flag.call_once(std::forward<F>(f), std::forward<Args>(args)...);
  }

  using io = io_calls<backend>;

  struct this_thread {
    static void yield() { green::this_thread::yield(); }
    template <class Rep, class Period>
    static void sleep_for(std::chrono::duration<Rep, Period> d) {
      green::this_thread::sleep_for(d);
    }
    template <class Clock, class Duration>
    static void sleep_until(std::chrono::time_point<Clock, Duration> t) {
      green::this_thread::sleep_until(t);
    }
    static thread_id get_id() noexcept { return green::this_thread::get_id(); }
    static std::string_view name() noexcept { return green::this_thread::name(); }
    static void set_name(std::string_view n) { green::this_thread::set_name(n); }
  };
};

static_assert(spindle::backend<backend>);

// spindle::green::io::recv(fd, ...) and the rest: see spindle/io.hpp.
using io = io_calls<backend>;

}  // namespace spindle::green
