// spindle/mn.hpp — the M:N backend: everything a program includes.
//
// Concept: green threads (runtime/green's stacks and context switch) run by N worker
// kernel threads (made by runtime/clone's kernel-thread layer), each with a run queue
// of its own; an idle worker steals half of another's queue, and sleeps on a futex when
// none has work. A thread may run on a different worker after every yield or park, so
// its blocking and waking go through one parking lot shared by all workers.
// Explained in: runtime/mn/README.md, docs/02-the-api.md and docs/15-many-to-many.md.
// Read next: spindle/mn/thread.hpp, then runtime/mn/worker.cpp.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "spindle/backend.hpp"
#include "spindle/barrier.hpp"
#include "spindle/channel.hpp"
#include "spindle/errors.hpp"
#include "spindle/io.hpp"
#include "spindle/latch.hpp"
#include "spindle/local.hpp"
#include "spindle/mn/condition_variable.hpp"
#include "spindle/mn/mutex.hpp"
#include "spindle/mn/thread.hpp"
#include "spindle/once.hpp"
#include "spindle/select.hpp"
#include "spindle/semaphore.hpp"
#include "spindle/stop.hpp"

namespace spindle::mn {

// What the primitives written once for both backends (channel, semaphore, latch,
// barrier, once) are built from.
struct sync_primitives {
  using mutex = mn::mutex;
  using condition_variable = mn::condition_variable;
  using thread_id = mn::thread_id;
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
  static constexpr std::string_view name = "mn";

  using thread_id = mn::thread_id;
  using mutex = mn::mutex;
  using condition_variable = mn::condition_variable;
  using once_flag = mn::once_flag;
  using latch = mn::latch;
  template <class R>
  using thread = mn::thread<R>;
  template <class T>
  using channel = mn::channel<T>;
  template <std::ptrdiff_t Max = 1 << 30>
  using counting_semaphore = mn::counting_semaphore<Max>;
  template <class Completion = no_completion>
  using barrier = mn::barrier<Completion>;
  template <class T>
  using local = mn::local<T>;

  template <class F, class... A>
  static auto spawn(const spawn_options& options, F&& f, A&&... a) {
    return mn::spawn(options, std::forward<F>(f), std::forward<A>(a)...);
  }
  template <class F, class... A>
  requires std::is_invocable_v<std::decay_t<F>, std::decay_t<A>...>
  static auto spawn(F&& f, A&&... a) {
    return mn::spawn(std::forward<F>(f), std::forward<A>(a)...);
  }
  template <class F, class... Args>
  static void call_once(once_flag& flag, F&& f, Args&&... args) {
    flag.call_once(std::forward<F>(f), std::forward<Args>(args)...);
  }

  using io = io_calls<backend>;

  struct this_thread {
    static void yield() { mn::this_thread::yield(); }
    template <class Rep, class Period>
    static void sleep_for(std::chrono::duration<Rep, Period> d) {
      mn::this_thread::sleep_for(d);
    }
    template <class Clock, class Duration>
    static void sleep_until(std::chrono::time_point<Clock, Duration> t) {
      mn::this_thread::sleep_until(t);
    }
    static thread_id get_id() { return mn::this_thread::get_id(); }
    static std::string_view name() { return mn::this_thread::name(); }
    static void set_name(std::string_view n) { mn::this_thread::set_name(n); }
  };
};

static_assert(spindle::backend<backend>);

// spindle::mn::io::recv(fd, ...) and the rest: see spindle/io.hpp.
using io = io_calls<backend>;

}  // namespace spindle::mn
