// spindle/detail/channel_waiter.hpp — what a thread blocked on a channel leaves behind.
//
// Concept: a thread that cannot send or receive at once leaves a waiter (Go's sudog) in
// the channel's queue of senders or of receivers, on its own stack: where its value is
// (a sender) or where the value goes (a receiver). The counterpart that arrives later
// moves the value through the waiter and wakes its thread. A waiter is either a plain
// call's (send, receive_for, ...: woken through its own condition variable, waited on
// with the channel's mutex) or one case of a select: then it points at the select's
// `selection`, which all the select's waiters share, and the first counterpart to decide
// that selection wins; the others find it decided and pass the waiter by.
//
// A plain call's hand-off is complete when its counterpart is done (Go's sudog.success):
// the counterpart moves the value, unlinks the waiter and settles it, all under the
// channel's mutex, then wakes it through the waiter's own mutex and condition variable.
// The woken thread reads its outcome there and returns without touching the channel
// again, so the counterpart may destroy the channel as soon as its own call returns
// (a receiver that takes the last value and leaves the channel's scope).
// Explained in: docs/06-synchronisation.md (channels).
// Read next: spindle/channel.hpp, then spindle/select.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <ostream>
#include <stop_token>

#include "spindle/backend.hpp"
#include "spindle/detail/thread_queue.hpp"

namespace spindle {

// What a channel operation did. One enum for every timed or non-blocking channel call
// and for select, in the manner of std::cv_status.
enum class channel_status : unsigned char {
  ok,       // the value was sent, or received
  timeout,  // the deadline came first; for try_* and try_select: it would have had to wait
  closed,   // the channel is closed (for a receive: closed and drained)
  stopped,  // a stop was requested on the std::stop_token the call was given
};

inline std::ostream& operator<<(std::ostream& out, channel_status status) {
  switch (status) {
    case channel_status::ok:
      return out << "ok";
    case channel_status::timeout:
      return out << "timeout";
    case channel_status::closed:
      return out << "closed";
    case channel_status::stopped:
      return out << "stopped";
  }
  return out << "channel_status(" << static_cast<int>(status) << ")";
}

}  // namespace spindle

namespace spindle::detail {

using steady_time = std::chrono::steady_clock::time_point;

// Waits on `cv` with `lock` until ready(), or until the deadline or a stop requested on
// `token`, if either is given (each may be empty or null). Returns with the lock held.
template <class ConditionVariable, class Lock, class Ready>
void wait_on(ConditionVariable& cv, Lock& lock, const std::optional<steady_time>& deadline,
             const std::stop_token* token, Ready ready) {
  if (token && deadline)
    cv.wait_until(lock, *token, *deadline, ready);
  else if (token)
    cv.wait(lock, *token, ready);
  else if (deadline)
    cv.wait_until(lock, *deadline, ready);
  else
    cv.wait(lock, ready);
}

// The decision a select waits for: which of its cases happened, made once by whoever
// comes first (a counterpart on one of the channels, close, the select's own deadline, or
// a stop request).
// Lives on the select's stack; its mutex is taken after a channel's, never before.
template <class Sync>
class selection {
 public:
  static constexpr std::size_t undecided = static_cast<std::size_t>(-1);
  static constexpr std::size_t expired = static_cast<std::size_t>(-2);  // deadline, or threw

  selection() = default;
  selection(const selection&) = delete;
  selection& operator=(const selection&) = delete;

  // Called by a counterpart holding the mutex of case `index`'s channel. Unless the
  // selection is decided already (then returns false and does nothing), runs `transfer`
  // (which moves the value), records case `index` with `status` and wakes the select.
  // If `transfer` throws, nothing is decided and the exception leaves.
  template <class Transfer>
  bool decide(std::size_t index, channel_status status, Transfer&& transfer) {
    std::lock_guard lock(mutex_);
    if (winner_ != undecided) return false;
    transfer();
    winner_ = index;
    status_ = status;
    decided_.notify_one();
    return true;
  }

  // Called by the select's own thread, holding no channel's mutex, after its waiters are
  // queued. Returns once a case decided, the deadline passed or a stop was requested on
  // `token` (if not null); the selection is decided on return (expired, if not by a
  // case), also when the wait throws (deadlock_error), so that no counterpart can decide
  // it afterwards.
  void wait(const std::optional<steady_time>& deadline, const std::stop_token* token) {
    std::unique_lock lock(mutex_);
    auto is_decided = [this] { return winner_ != undecided; };
    try {
      wait_on(decided_, lock, deadline, token, is_decided);
    } catch (...) {
      if (!is_decided()) winner_ = expired;
      throw;
    }
    if (!is_decided()) winner_ = expired;
  }

  // The outcome; read by the select's thread after wait().
  std::size_t winner() const noexcept { return winner_; }
  channel_status status() const noexcept { return status_; }

 private:
  typename Sync::mutex mutex_;
  typename Sync::condition_variable decided_{wait_label{"select", this}};
  std::size_t winner_ = undecided;                   // guarded by mutex_
  channel_status status_ = channel_status::timeout;  // guarded by mutex_
};

// One blocked operation on one channel: a plain call's, or one case of a select.
// Unlinked from its queue by the counterpart that takes it, by close, or by its own
// thread when it leaves (timed out, another case won, or its wait threw).
template <class T, class Sync>
struct channel_waiter {
  // A plain call's outcome: still waiting, or settled by the other side for good.
  enum class outcome : unsigned char {
    waiting,  // in the queue (or leaving it on its own: deadline, stop, exception)
    done,     // the value went through; the channel is not touched again
    closed,   // close took it out of the queue; the channel is not touched again
  };

  channel_waiter(const char* what, const void* channel) : woken(wait_label{what, channel}) {}
  channel_waiter(const channel_waiter&) = delete;
  channel_waiter& operator=(const channel_waiter&) = delete;

  // Called by the counterpart or close, holding the channel's mutex, once the value has
  // moved and `this` is out of its queue. The last touch of the waiter from the other
  // side: once the mutex below is released, its thread may return and the waiter go.
  void settle(outcome how) {
    std::lock_guard lock(own_mutex);
    settled = how;
    woken.notify_one();
  }

  // Called by the waiting thread holding `channel_lock`, with `this` queued. Releases the
  // channel's mutex and waits until the waiter is settled, the deadline passes or a stop
  // is requested on `token`. Returns done or closed without the channel's mutex (the
  // caller must not touch the channel: it may be gone), or waiting with it held again
  // (then the caller withdraws the waiter). If the wait throws (deadlock_error), the
  // channel's mutex is held again when the exception leaves, whatever the outcome.
  template <class ChannelLock>
  outcome park(ChannelLock& channel_lock, const std::optional<steady_time>& deadline,
               const std::stop_token* token) {
    // Ours is taken before the channel's is released: a counterpart, which takes the
    // channel's first and then ours, finds this thread either not yet queued or waiting.
    std::unique_lock lock(own_mutex);
    channel_lock.unlock();
    auto is_settled = [this] { return settled != outcome::waiting; };
    try {
      wait_on(woken, lock, deadline, token, is_settled);
    } catch (...) {
      if (lock.owns_lock()) lock.unlock();
      channel_lock.lock();
      throw;
    }
    if (is_settled()) return settled;
    lock.unlock();
    channel_lock.lock();
    return settled;  // a counterpart may have come before the channel's mutex was ours
  }

  std::optional<T>* destination = nullptr;  // a receiver's: where the value goes
  T* source = nullptr;                      // a sender's: the value, moved from when taken
  selection<Sync>* select = nullptr;        // the select it is a case of, or nullptr
  std::size_t index = 0;                    // its case's position in that select
  // The links of the channel's queue of senders or of receivers that holds it (a
  // thread_queue, first come first served), all guarded by that channel's mutex.
  channel_waiter* prev = nullptr;
  channel_waiter* next = nullptr;
  thread_queue<channel_waiter>* queue = nullptr;
  // A plain call's wake-up, apart from the channel, so that a settled waiter can leave
  // without the channel's mutex. `settled` is written under both mutexes (the channel's,
  // then this one), so either suffices to read it.
  outcome settled = outcome::waiting;
  typename Sync::mutex own_mutex;
  typename Sync::condition_variable woken;  // notified by settle, and by a stop request
};

}  // namespace spindle::detail
