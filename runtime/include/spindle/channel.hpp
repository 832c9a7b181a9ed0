// spindle/channel.hpp — channels: threads that share memory by communicating.
//
// Concept: a channel carries values of T from senders to receivers in order. Capacity 0
// is a rendezvous: send() returns only once a receiver has taken the value. Capacity N
// buffers up to N values, and send() blocks only when they are all unread. close() ends
// the stream: send() on a closed channel throws spindle::channel_closed; recv() drains
// what is left and then returns an empty optional, never hanging; a range-for loop
// receives until then. The timed and non-blocking calls (try_send, send_for, send_until,
// try_receive, receive_for, receive_until) say what happened with a channel_status
// instead; spindle/select.hpp waits on several channels at once.
//
// Written once, over a backend's mutex and condition variable, so the green and the
// clone channel have the same semantics by construction. A thread that has to wait
// leaves a waiter on its own stack in the channel's queue of senders or receivers, and
// the counterpart moves the value straight through it (Go's sudog), past the buffer.
// Explained in: docs/06-synchronisation.md (channels). Read next: spindle/select.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>

#include "spindle/backend.hpp"
#include "spindle/detail/channel_waiter.hpp"
#include "spindle/detail/timed_waits.hpp"
#include "spindle/errors.hpp"

namespace spindle {

// What try_receive, receive_for and receive_until return: `value` is engaged exactly
// when `status` is ok. `auto [status, value] = channel.receive_for(10ms);`
template <class T>
struct received {
  channel_status status = channel_status::timeout;
  std::optional<T> value;
};

template <class T, class Sync>
class receive_case;
template <class T, class Sync>
class send_case;

template <class T, class Sync>
class basic_channel {
 public:
  explicit basic_channel(std::size_t capacity = 0) : capacity_(capacity) {}
  basic_channel(const basic_channel&) = delete;
  basic_channel& operator=(const basic_channel&) = delete;

  // Blocks until the value is buffered or a receiver has taken it.
  // Throws channel_closed if the channel is closed (before or while waiting).
  void send(T value) {
    if (send_waiting(value, std::nullopt) == channel_status::closed)
      throw channel_closed("spindle: send on a closed channel");
  }

  // Sends only if that needs no wait: ok, closed, or timeout (it would have had to wait).
  // The value is moved from only when the answer is ok, here and in the timed sends.
  channel_status try_send(T&& value) { return send_now(value); }
  channel_status try_send(const T& value) {
    T copy(value);
    return send_now(copy);
  }

  // Sends, waiting at most `d` (or until `deadline`, on any clock): ok, closed (before
  // or while waiting) or timeout. A send that needs no wait succeeds even if the
  // deadline has passed; a zero or negative duration never waits.
  template <class Rep, class Period>
  channel_status send_for(T&& value, std::chrono::duration<Rep, Period> d) {
    return send_until(std::move(value), detail::steady_after(d));
  }
  template <class Rep, class Period>
  channel_status send_for(const T& value, std::chrono::duration<Rep, Period> d) {
    return send_until(value, detail::steady_after(d));
  }
  template <class Clock, class Duration>
  channel_status send_until(T&& value, std::chrono::time_point<Clock, Duration> deadline) {
    return send_waiting(value, detail::to_steady(deadline));
  }
  template <class Clock, class Duration>
  channel_status send_until(const T& value, std::chrono::time_point<Clock, Duration> deadline) {
    T copy(value);
    return send_waiting(copy, detail::to_steady(deadline));
  }

  // send and receive that a stop request ends early (spindle/stop.hpp): as send_until
  // and receive_until, with stopped when a stop is requested on `token` before a
  // counterpart comes (an operation that needs no wait still goes). send moves from the
  // value only on ok.
  channel_status send(T&& value, std::stop_token token) { return send_stoppable(value, token); }
  channel_status send(const T& value, std::stop_token token) {
    T copy(value);
    return send_stoppable(copy, token);
  }
  received<T> receive(std::stop_token token) { return receive_stoppable(std::nullopt, token); }
  template <class Rep, class Period>
  received<T> receive_for(std::chrono::duration<Rep, Period> d, std::stop_token token) {
    return receive_stoppable(detail::steady_after(d), token);
  }

  // Blocks until a value arrives; returns an empty optional once the channel is closed
  // and every value sent before close() has been received.
  std::optional<T> recv() { return std::move(receive_waiting(std::nullopt).value); }

  // Receives only if a value is ready; an empty optional otherwise (see closed()).
  std::optional<T> try_recv() { return std::move(try_receive().value); }

  // Receives only if that needs no wait: ok with the value, closed (and drained), or
  // timeout (it would have had to wait).
  received<T> try_receive() {
    std::lock_guard lock(mutex_);
    received<T> result;
    result.status = receive_now(result.value);
    return result;
  }

  // Receives, waiting at most `d` (or until `deadline`, on any clock). A value that is
  // ready is received even if the deadline has passed; a zero duration never waits.
  template <class Rep, class Period>
  received<T> receive_for(std::chrono::duration<Rep, Period> d) {
    return receive_waiting(detail::steady_after(d));
  }
  template <class Clock, class Duration>
  received<T> receive_until(std::chrono::time_point<Clock, Duration> deadline) {
    return receive_waiting(detail::to_steady(deadline));
  }

  // Closes the channel and wakes every blocked sender (closed: send throws) and receiver
  // (closed: recv returns an empty optional). Closing a closed channel does nothing.
  void close() {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    release_for_close(receivers_);
    release_for_close(senders_);
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  std::size_t capacity() const noexcept { return capacity_; }

  // Range-for support: `for (T& value : channel)` receives until closed and drained.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(basic_channel* channel) : channel_(channel) { ++*this; }
    T& operator*() { return *current_; }
    iterator& operator++() {
      current_ = channel_->recv();
      if (!current_) channel_ = nullptr;
      return *this;
    }
    bool operator==(const iterator& other) const { return channel_ == other.channel_; }

   private:
    basic_channel* channel_ = nullptr;
    std::optional<T> current_;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  friend class receive_case<T, Sync>;
  friend class send_case<T, Sync>;
  using waiter = detail::channel_waiter<T, Sync>;
  using deadline_t = std::optional<detail::steady_time>;
  using queue_t = detail::thread_queue<waiter>;

  // Unlinks `w` if it is still queued: a counterpart or close may have unlinked it.
  static void withdraw(queue_t& queue, waiter* w) noexcept {
    if (w->queue) queue.remove(w);
  }

  static bool passed(const deadline_t& deadline) {
    return deadline && *deadline <= std::chrono::steady_clock::now();
  }

  // Precondition: mutex_ held. Hands the value to `w`, a waiting counterpart, through
  // `transfer`: a plain waiter always takes it, a select's case only if its selection
  // is not decided yet. Returns whether it took it. Unlinks `w` either way, unless
  // `transfer` throws (then nothing changed). A plain waiter is settled last: its thread
  // may leave as soon as it is (channel_waiter::settle).
  template <class Transfer>
  static bool offer(queue_t& queue, waiter* w, Transfer&& transfer) {
    if (w->select) {
      // Unlinked first: once the selection is decided, the select may leave without
      // taking this channel's mutex again (spindle/select.hpp: select_on).
      queue.remove(w);
      try {
        return w->select->decide(w->index, channel_status::ok, transfer);
      } catch (...) {
        queue.push_back(w);  // undecided: the case still waits, now last
        throw;
      }
    }
    transfer();
    queue.remove(w);
    w->settle(waiter::outcome::done);
    return true;
  }

  // Precondition: mutex_ held. Sends without waiting if it can: to the first waiting
  // receiver that takes it, else into the buffer if there is room. Moves from `value`
  // only when it returns true. Ignores closed_ (the callers test it first).
  bool send_locked(T& value) {
    while (waiter* r = receivers_.front()) {
      if (offer(receivers_, r, [&] { r->destination->emplace(std::move(value)); })) return true;
    }
    if (items_.size() >= capacity_) return false;
    items_.push_back(std::move(value));
    return true;
  }

  // Precondition: mutex_ held. Receives without waiting if it can: the oldest buffered
  // value (and then the first waiting sender's value moves into the room it left), or
  // with nothing buffered straight from the first waiting sender that gives it.
  bool receive_locked(std::optional<T>& out) {
    if (!items_.empty()) {
      out.emplace(std::move(items_.front()));
      items_.pop_front();
      while (waiter* s = senders_.front()) {
        if (offer(senders_, s, [&] { items_.push_back(std::move(*s->source)); })) break;
      }
      return true;
    }
    while (waiter* s = senders_.front()) {
      if (offer(senders_, s, [&] { out.emplace(std::move(*s->source)); })) return true;
    }
    return false;
  }

  // Precondition: mutex_ held. The non-blocking calls, and the first step of the others.
  channel_status send_now(T& value) {
    if (closed_) return channel_status::closed;
    return send_locked(value) ? channel_status::ok : channel_status::timeout;
  }
  channel_status receive_now(std::optional<T>& out) {
    if (receive_locked(out)) return channel_status::ok;
    return closed_ ? channel_status::closed : channel_status::timeout;
  }

  // Every send: tries at once, else queues a waiter holding `value` and waits (for ever
  // when `deadline` is empty) until a receiver takes it, close, or the deadline.
  channel_status send_waiting(T& value, const deadline_t& deadline) {
    std::unique_lock lock(mutex_);
    channel_status now = send_now(value);
    if (now != channel_status::timeout || passed(deadline)) return now;
    waiter w("channel (send)", this);
    return send_parked(lock, w, value, deadline, nullptr);
  }

  // A send that a stop request ends too (the waiter's wait takes the token:
  // channel_waiter::park). It has no deadline: no send takes both.
  channel_status send_stoppable(T& value, const std::stop_token& token) {
    waiter w("channel (send)", this);
    std::unique_lock lock(mutex_);
    channel_status now = send_now(value);
    if (now != channel_status::timeout) return now;
    if (token.stop_requested()) return channel_status::stopped;
    return send_parked(lock, w, value, std::nullopt, &token);
  }

  // Precondition: `lock` holds mutex_ and the send cannot go now. Queues `w` and waits.
  channel_status send_parked(std::unique_lock<typename Sync::mutex>& lock, waiter& w, T& value,
                             const deadline_t& deadline, const std::stop_token* token) {
    w.source = &value;
    senders_.push_back(&w);
    try {
      return wait_as(w, senders_, lock, deadline, token);
    } catch (...) {
      withdraw(senders_, &w);
      throw;
    }
  }

  // Every receive: tries at once, else queues a waiter pointing at the result and waits
  // (for ever when `deadline` is empty) until a sender hands a value over, close, or the
  // deadline.
  received<T> receive_waiting(const deadline_t& deadline) {
    std::unique_lock lock(mutex_);
    received<T> result;
    result.status = receive_now(result.value);
    if (result.status != channel_status::timeout || passed(deadline)) return result;
    waiter w("channel (receive)", this);
    receive_parked(lock, w, result, deadline, nullptr);
    return result;
  }

  // A receive that a stop request ends too, as send_stoppable.
  received<T> receive_stoppable(const deadline_t& deadline, const std::stop_token& token) {
    received<T> result;
    waiter w("channel (receive)", this);
    std::unique_lock lock(mutex_);
    result.status = receive_now(result.value);
    if (result.status != channel_status::timeout) return result;
    if (token.stop_requested())
      result.status = channel_status::stopped;
    else if (!passed(deadline))
      receive_parked(lock, w, result, deadline, &token);
    return result;
  }

  // Precondition: `lock` holds mutex_ and nothing can be received now. Queues `w` and
  // waits. A value handed over to a wait that then threw (deadlock_error) is given back
  // to the channel, so that no sent value is lost.
  void receive_parked(std::unique_lock<typename Sync::mutex>& lock, waiter& w, received<T>& result,
                      const deadline_t& deadline, const std::stop_token* token) {
    w.destination = &result.value;
    receivers_.push_back(&w);
    try {
      result.status = wait_as(w, receivers_, lock, deadline, token);
    } catch (...) {
      withdraw(receivers_, &w);
      if (w.settled == waiter::outcome::done) give_back(std::move(*result.value));
      throw;
    }
  }

  // Precondition: `lock` holds mutex_ and `w`, a plain call's waiter, is in `queue`.
  // Waits until a counterpart moved the value through it, the channel closed, or the
  // deadline passed, and says which; `w` is out of the queue on return.
  // With a `token`, a stop requested ends the wait too (stopped).
  // On ok and closed, `lock` no longer holds mutex_, and the channel is not touched
  // again: its counterpart may already have destroyed it.
  channel_status wait_as(waiter& w, queue_t& queue, std::unique_lock<typename Sync::mutex>& lock,
                         const deadline_t& deadline, const std::stop_token* token = nullptr) {
    switch (w.park(lock, deadline, token)) {
      case waiter::outcome::done:
        return channel_status::ok;
      case waiter::outcome::closed:
        return channel_status::closed;
      case waiter::outcome::waiting:
        break;
    }
    // Still queued with mutex_ held, so not closed (close settles every waiter).
    withdraw(queue, &w);
    return token && token->stop_requested() ? channel_status::stopped : channel_status::timeout;
  }

  // Precondition: mutex_ held. A value received by a call that is leaving with an
  // exception instead goes to the next waiting receiver, or back to the front of the
  // buffer (past its capacity, for a moment), so that it is neither lost nor reordered.
  void give_back(T&& value) {
    if (send_locked(value)) return;
    items_.push_front(std::move(value));
  }

  // Precondition: mutex_ held, closed_ set. Empties `queue`: each plain waiter is
  // settled as closed; each select case decides its selection as closed, unless another
  // case decided it first.
  static void release_for_close(queue_t& queue) {
    while (waiter* w = queue.front()) {
      queue.remove(w);
      if (w->select)
        w->select->decide(w->index, channel_status::closed, [] {});
      else
        w->settle(waiter::outcome::closed);
    }
  }

  // Invariant: a receiver waits only when nothing is buffered, and while receivers wait
  // every value goes to them, so items_ is empty whenever a plain receiver is queued;
  // senders wait only when the buffer is full or, at capacity 0, no receiver takes.
  mutable typename Sync::mutex mutex_;
  std::deque<T> items_;  // sent, not yet received; guarded by mutex_
  queue_t receivers_;    // blocked receivers; guarded by mutex_
  queue_t senders_;      // blocked senders; guarded by mutex_
  bool closed_ = false;  // guarded by mutex_
  const std::size_t capacity_;
};

}  // namespace spindle
