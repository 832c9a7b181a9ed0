// spindle/stop.hpp — cooperative cancellation with std::stop_token.
//
// Concept: a thread is never killed; it is asked to stop, and it stops at a point of its
// own choosing. jthread<B, R> is std::jthread for a spindle backend: it owns a
// std::stop_source, passes its token to the thread's function if the function takes one
// first, and its destructor requests a stop and joins. The blocking calls that take a
// token (channel send and receive, sleep_for/sleep_until below, the condition
// variable's waits) return early, with a status that says so, once a stop is requested.
//
//     auto worker = spindle::spawn_jthread<spindle::green::backend>(
//         [&jobs](std::stop_token stop) {
//           while (auto job = jobs.receive(stop); job.value) run(*job.value);
//         });
//     // ... leaving the scope requests the stop and joins: receive answers stopped.
//
// Written once over the backend concept. Explained in: docs/06-synchronisation.md
// (cancellation) and docs/02-the-api.md (cancellation). Read next: spindle/detail/stop_wake.hpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "spindle/backend.hpp"
#include "spindle/detail/stop_wake.hpp"
#include "spindle/detail/timed_waits.hpp"

namespace spindle {

// A thread handle that requests a stop and joins when it is destroyed (or assigned
// over). join() returns the result or rethrows, as thread<R>::join does. A thread whose
// exception nobody can receive ends the program: when the destructor's join finds an
// exception (or a deadlock_error: the thread ignored the stop and can never finish), it
// prints the thread and the exception and calls std::terminate, as for a detached
// thread.
template <spindle::backend B, class R>
class jthread {
 public:
  jthread() noexcept : source_(std::nostopstate) {}
  jthread(std::stop_source source, typename B::template thread<R> thread) noexcept
      : source_(std::move(source)), thread_(std::move(thread)) {}
  jthread(jthread&&) noexcept = default;
  jthread& operator=(jthread&& other) noexcept {
    if (this != &other) {
      stop_and_join();
      source_ = std::move(other.source_);
      thread_ = std::move(other.thread_);
    }
    return *this;
  }
  ~jthread() { stop_and_join(); }

  R join() { return thread_.join(); }
  void detach() { thread_.detach(); }
  bool joinable() const noexcept { return thread_.joinable(); }
  typename B::thread_id get_id() const noexcept { return thread_.get_id(); }

  std::stop_source get_stop_source() noexcept { return source_; }
  std::stop_token get_stop_token() const noexcept { return source_.get_token(); }
  // True if this call made the request (the first one does).
  bool request_stop() noexcept { return source_.request_stop(); }

 private:
  void stop_and_join() noexcept {
    if (!thread_.joinable()) return;
    source_.request_stop();
    try {
      thread_.join();
    } catch (const std::exception& e) {
      std::fprintf(stderr,
                   "spindle: a jthread's destructor joined a thread that failed: %s. "
                   "Terminating.\n",
                   e.what());
      std::terminate();
    } catch (...) {
      std::fprintf(stderr,
                   "spindle: a jthread's destructor joined a thread that failed. "
                   "Terminating.\n");
      std::terminate();
    }
  }

  std::stop_source source_;
  typename B::template thread<R> thread_;
};

// Starts f(args...) as B::spawn does, or f(token, args...) if f takes a std::stop_token
// first, and returns the jthread that owns the token's source.
template <spindle::backend B, class F, class... A>
auto spawn_jthread(const spawn_options& options, F&& f, A&&... a) {
  std::stop_source source;
  if constexpr (std::is_invocable_v<std::decay_t<F>, std::stop_token, std::decay_t<A>...>) {
    using R = std::invoke_result_t<std::decay_t<F>, std::stop_token, std::decay_t<A>...>;
    auto t = B::spawn(options, std::forward<F>(f), source.get_token(), std::forward<A>(a)...);
    return jthread<B, R>(std::move(source), std::move(t));
  } else {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>;
    auto t = B::spawn(options, std::forward<F>(f), std::forward<A>(a)...);
    return jthread<B, R>(std::move(source), std::move(t));
  }
}
template <spindle::backend B, class F, class... A>
requires(!std::is_same_v<std::remove_cvref_t<F>, spawn_options>) auto spawn_jthread(F&& f,
                                                                                    A&&... a) {
  return spawn_jthread<B>(spawn_options{}, std::forward<F>(f), std::forward<A>(a)...);
}

// Sleeps until `deadline`, or until a stop is requested on `token`: true if it slept the
// whole time, false if the stop ended it (at once, if requested already). Waits on a
// condition variable of its own, so the sleep is a timed wait (never a deadlock).
template <spindle::backend B, class Clock, class Duration>
bool sleep_until(std::chrono::time_point<Clock, Duration> deadline, std::stop_token token) {
  if (!token.stop_possible()) {
    B::this_thread::sleep_until(deadline);
    return true;
  }
  typename B::mutex mutex;
  typename B::condition_variable cv(wait_label{"sleep (stoppable)", nullptr});
  std::unique_lock lock(mutex);
  return !cv.wait_until(lock, token, deadline, [] { return false; }) && !token.stop_requested();
}

template <spindle::backend B, class Rep, class Period>
bool sleep_for(std::chrono::duration<Rep, Period> d, std::stop_token token) {
  return sleep_until<B>(detail::steady_after(d), token);
}

}  // namespace spindle
