// spindle/clone.hpp — the clone (1:1) backend: everything a program includes.
//
// Concept: each spindle thread is a kernel task made with the clone system call itself,
// as NPTL makes threads, with its own stack, TLS and thread control block. The kernel is
// the scheduler: blocking parks the kernel task on a futex; there is no run queue, timer
// queue or reactor of spindle's own.
// Explained in: docs/09-clone-backend.md. Read next: spindle/clone/thread.hpp, then
// runtime/clone/parking_lot.cpp.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "spindle/backend.hpp"
#include "spindle/barrier.hpp"
#include "spindle/channel.hpp"
#include "spindle/clone/condition_variable.hpp"
#include "spindle/clone/mutex.hpp"
#include "spindle/clone/thread.hpp"
#include "spindle/errors.hpp"
#include "spindle/io.hpp"
#include "spindle/latch.hpp"
#include "spindle/local.hpp"
#include "spindle/once.hpp"
#include "spindle/select.hpp"
#include "spindle/semaphore.hpp"
#include "spindle/stop.hpp"

namespace spindle::clone {

// What the primitives written once for both backends (channel, semaphore, latch,
// barrier, once) are built from.
struct sync_primitives {
  using mutex = clone::mutex;
  using condition_variable = clone::condition_variable;
  using thread_id = clone::thread_id;
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
  static constexpr std::string_view name = "clone";

  using thread_id = clone::thread_id;
  using mutex = clone::mutex;
  using condition_variable = clone::condition_variable;
  using once_flag = clone::once_flag;
  using latch = clone::latch;
  template <class R>
  using thread = clone::thread<R>;
  template <class T>
  using channel = clone::channel<T>;
  template <std::ptrdiff_t Max = 1 << 30>
  using counting_semaphore = clone::counting_semaphore<Max>;
  template <class Completion = no_completion>
  using barrier = clone::barrier<Completion>;
  template <class T>
  using local = clone::local<T>;

  template <class F, class... A>
  static auto spawn(const spawn_options& options, F&& f, A&&... a) {
    return clone::spawn(options, std::forward<F>(f), std::forward<A>(a)...);
  }
  template <class F, class... A>
  requires std::is_invocable_v<std::decay_t<F>, std::decay_t<A>...>
  static auto spawn(F&& f, A&&... a) {
    return clone::spawn(std::forward<F>(f), std::forward<A>(a)...);
  }
  template <class F, class... Args>
  static void call_once(once_flag& flag, F&& f, Args&&... args) {
    flag.call_once(std::forward<F>(f), std::forward<Args>(args)...);
  }

  using io = io_calls<backend>;

  struct this_thread {
    static void yield() { clone::this_thread::yield(); }
    template <class Rep, class Period>
    static void sleep_for(std::chrono::duration<Rep, Period> d) {
      clone::this_thread::sleep_for(d);
    }
    template <class Clock, class Duration>
    static void sleep_until(std::chrono::time_point<Clock, Duration> t) {
      clone::this_thread::sleep_until(t);
    }
    static thread_id get_id() { return clone::this_thread::get_id(); }
    static std::string_view name() { return clone::this_thread::name(); }
    static void set_name(std::string_view n) { clone::this_thread::set_name(n); }
  };
};

static_assert(spindle::backend<backend>);

// spindle::clone::io::recv(fd, ...) and the rest: see spindle/io.hpp.
using io = io_calls<backend>;

}  // namespace spindle::clone
