// spindle/green/remote.hpp — reaching a green scheduler from another kernel thread.
//
// Concept: a green object belongs to the threads of one kernel thread (its home:
// spindle/green/detail/home.hpp), so another kernel thread may not lock its mutexes or
// send on its channels. What it may do is hand the scheduler work through the
// scheduler's inbox: a lock-free list that any thread pushes onto, which the scheduler
// empties in its loop, woken from its sleep by an eventfd its reactor watches.
//   - scheduler_handle::post(fn) runs fn on a new green thread of that scheduler, where
//     it may use the home's objects (send on a channel, notify a condition variable).
//   - remote_event is a count that any thread, and a signal handler, may add to with
//     notify(), and that green threads of its home wait for.
//
//     auto home = spindle::green::this_scheduler();        // on the green side
//     std::thread worker([home, &ch] {
//       home.post([&ch] { ch.send(42); });                 // from anywhere
//     });
//     auto answer = ch.recv();                             // a green thread waits
//
// While a handle or an event exists, a remote end is open: work may still arrive from
// outside, so the scheduler's deadlock report (docs/07-deadlock.md) waits, as it does
// for a pending timer or a thread parked on a descriptor.
// Explained in: docs/02-the-api.md (from another kernel thread) and docs/08-reactor.md
// (the inbox). Read next: runtime/green/remote.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "spindle/detail/timed_waits.hpp"
#include "spindle/green/detail/home.hpp"
#include "spindle/green/detail/record.hpp"
#include "spindle/green/thread.hpp"

namespace spindle::green {

namespace detail {

class inbox;

// What the inbox holds: a node that some thread pushed, run by the scheduler on its own
// kernel thread when it empties the inbox. `run` also frees the node if it owns it.
struct remote_item {
  remote_item* next = nullptr;
  void (*run)(remote_item* self, bool discard) noexcept = nullptr;
};

// Pushes `item` onto `box`; from any thread. Returns false, pushing nothing, if the
// scheduler has ended. Lock-free and async-signal-safe (a compare-exchange loop and,
// when the inbox was empty, one write(2) to its eventfd).
bool push_remote(inbox& box, remote_item* item) noexcept;

// The calling kernel thread's inbox, made on first use with its eventfd (so it may throw
// std::system_error); the scheduler is made too if need be.
std::shared_ptr<inbox> inbox_here();

// Counts the remote ends open on `box` (handles and events), which hold back its
// scheduler's deadlock report. Callable from any thread.
void open_end(inbox& box) noexcept;
void close_end(inbox& box) noexcept;

template <class F>
struct posted final : remote_item {
  explicit posted(F&& f) : fn(std::move(f)) { run = &posted::run_or_discard; }
  // On the scheduler's kernel thread: the function becomes a detached green thread. A
  // post that cannot start its thread (no stack to map) ends the program, as an
  // exception escaping a detached thread does.
  static void run_or_discard(remote_item* self, bool discard) noexcept {
    std::unique_ptr<posted> owned(static_cast<posted*>(self));
    if (!discard) green::spawn(std::move(owned->fn)).detach();
  }
  F fn;
};

}  // namespace detail

// A handle on one green scheduler that any thread may copy, hold and post to.
class scheduler_handle {
 public:
  scheduler_handle(const scheduler_handle& other) noexcept;
  scheduler_handle& operator=(const scheduler_handle& other) noexcept;
  ~scheduler_handle();

  // Runs f() on a new detached green thread of the handle's scheduler, soon: that
  // scheduler empties its inbox at least every 64 hand-overs and whenever it would
  // sleep. Posts run in the order they were pushed, each on its own thread. Callable
  // from any thread (it allocates, so not from a signal handler: use remote_event).
  // Returns false, and destroys f without running it, if the scheduler's kernel thread
  // has exited; a post racing with that exit may be destroyed unrun too.
  template <class F>
  requires std::is_invocable_v<std::decay_t<F>>
  bool post(F&& f) const {
    auto node =
        std::make_unique<detail::posted<std::decay_t<F>>>(std::decay_t<F>(std::forward<F>(f)));
    if (!detail::push_remote(*box_, node.get())) return false;
    node.release();  // the scheduler frees it
    return true;
  }

 private:
  friend scheduler_handle this_scheduler();
  explicit scheduler_handle(std::shared_ptr<detail::inbox> box) noexcept;
  std::shared_ptr<detail::inbox> box_;
};

// A handle on the calling kernel thread's green scheduler (made if it has none yet).
// Throws std::system_error if the inbox's eventfd cannot be made.
scheduler_handle this_scheduler();

// A count of notifications: notify() from any thread or a signal handler adds one and
// wakes the home's green threads waiting in wait(), each of which takes the whole count.
// Made on a green thread (or the root thread) of its home; wait and the destructor are
// for that kernel thread only (else spindle::foreign_thread_error). While it exists it
// is a remote end: the home's deadlock report waits.
class remote_event {
 public:
  remote_event();
  remote_event(const remote_event&) = delete;
  remote_event& operator=(const remote_event&) = delete;
  ~remote_event();

  // Adds one; from any thread, also a signal handler: lock-free, async-signal-safe, and
  // it keeps errno.
  void notify() noexcept;
  // Parks until the count is not zero, then takes it all and returns it (at least 1).
  std::uint64_t wait();
  // As wait, but returns 0 once the deadline has passed with no notification.
  std::uint64_t wait_until(std::chrono::steady_clock::time_point deadline);
  template <class Clock, class Duration>
  std::uint64_t wait_until(std::chrono::time_point<Clock, Duration> deadline) {
    return wait_until(spindle::detail::to_steady(deadline));
  }
  template <class Rep, class Period>
  std::uint64_t wait_for(std::chrono::duration<Rep, Period> timeout) {
    return wait_until(spindle::detail::steady_after(timeout));
  }

 private:
  static void drained(detail::remote_item* self, bool discard) noexcept;

  struct node final : detail::remote_item {
    remote_event* event;
  };
  std::atomic<std::uint64_t> count_{0};  // notifications not yet taken
  std::atomic<bool> queued_{false};      // node_ is in the inbox, not yet drained
  node node_;
  std::shared_ptr<detail::inbox> box_;
  detail::thread_queue waiters_;  // home threads parked in wait()
  const void* home_;              // the scheduler of the kernel thread that made it
};

}  // namespace spindle::green
