// spindle/channel.hpp — channels: threads that share memory by communicating.
//
// Concept: a channel carries values of T from senders to receivers in order. Capacity 0
// is a rendezvous: send() returns only once a receiver is waiting for the value.
// Capacity N buffers up to N values, and send() blocks only when they are all unread.
// close() ends the stream: send() on a closed channel throws spindle::channel_closed;
// recv() drains what is left and then returns an empty optional, never hanging; a
// range-for loop receives until then.
//
// Written once, over a backend's mutex and condition variable, so the green and the
// clone channel have the same semantics by construction.
// Explained in: docs/06-synchronisation.md (channels). Read next: spindle/semaphore.hpp.
#pragma once

#include <cstddef>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <utility>

#include "spindle/backend.hpp"
#include "spindle/errors.hpp"

namespace spindle {

template <class T, class Sync>
class basic_channel {
public:
  explicit basic_channel(std::size_t capacity = 0) : capacity_(capacity) {}
  basic_channel(const basic_channel&) = delete;
  basic_channel& operator=(const basic_channel&) = delete;

  // Blocks until the value is buffered or a receiver is waiting for it.
  // Throws channel_closed if the channel is closed (before or while waiting).
  void send(T value) {
    std::unique_lock lock(mutex_);
    senders_.wait(lock, [&] { return closed_ || has_room(); });
    if (closed_) throw channel_closed("spindle: send on a closed channel");
    items_.push_back(std::move(value));
    receivers_.notify_one();
  }

  // Sends only if that would not block; the value is moved from only when sent.
  // Throws channel_closed if the channel is closed.
  bool try_send(T&& value) { return try_push(std::move(value)); }
  bool try_send(const T& value) { return try_push(value); }

  // Blocks until a value arrives; returns an empty optional once the channel is closed
  // and every value sent before close() has been received.
  std::optional<T> recv() {
    std::unique_lock lock(mutex_);
    if (items_.empty() && !closed_) {
      ++waiting_receivers_;
      senders_.notify_one();  // a rendezvous sender may hand its value over now
      struct stop_waiting {
        std::size_t& count;
        ~stop_waiting() { --count; }
      } counted{waiting_receivers_};
      receivers_.wait(lock, [&] { return closed_ || !items_.empty(); });
    }
    return pop();
  }

  // Receives only if a value is ready; an empty optional otherwise (see closed()).
  std::optional<T> try_recv() {
    std::lock_guard lock(mutex_);
    return pop();
  }

  // Closes the channel and wakes every blocked sender (they throw) and receiver (they
  // drain, then get an empty optional). Closing a closed channel does nothing.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    senders_.notify_all();
    receivers_.notify_all();
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
  // Room means: below capacity, or a receiver is waiting that will take the surplus.
  bool has_room() const { return items_.size() < capacity_ + waiting_receivers_; }

  template <class U>
  bool try_push(U&& value) {
    std::lock_guard lock(mutex_);
    if (closed_) throw channel_closed("spindle: try_send on a closed channel");
    if (!has_room()) return false;
    items_.push_back(std::forward<U>(value));
    receivers_.notify_one();
    return true;
  }

  // Precondition: mutex_ held.
  std::optional<T> pop() {
    if (items_.empty()) return std::nullopt;
    std::optional<T> value(std::move(items_.front()));
    items_.pop_front();
    senders_.notify_one();
    return value;
  }

  mutable typename Sync::mutex mutex_;
  typename Sync::condition_variable senders_{wait_label{"channel (send)", this}};
  typename Sync::condition_variable receivers_{wait_label{"channel (receive)", this}};
  std::deque<T> items_;                 // sent, not yet received; guarded by mutex_
  std::size_t waiting_receivers_ = 0;   // receivers blocked in recv(); guarded by mutex_
  bool closed_ = false;                 // guarded by mutex_
  const std::size_t capacity_;
};

}  // namespace spindle
