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
// clone channel have the same semantics by construction. A receiver that waits is handed
// its value directly by the sender (receiver_slot), past the buffer.
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
    deliver(std::move(value));
  }

  // Sends only if that would not block; the value is moved from only when sent.
  // Throws channel_closed if the channel is closed.
  bool try_send(T&& value) { return try_push(std::move(value)); }
  bool try_send(const T& value) { return try_push(value); }

  // Blocks until a value arrives; returns an empty optional once the channel is closed
  // and every value sent before close() has been received. A receiver that has to wait
  // leaves a slot on its own stack; the sender moves the value straight into it.
  std::optional<T> recv() {
    std::unique_lock lock(mutex_);
    if (!items_.empty() || closed_) return pop();
    receiver_slot slot(this);
    enqueue(&slot);
    senders_.notify_one();  // a rendezvous sender may hand its value over now
    try {
      slot.filled.wait(lock, [&] { return slot.value.has_value() || closed_; });
    } catch (...) {
      withdraw(&slot);
      throw;
    }
    if (slot.value) return std::move(slot.value);
    withdraw(&slot);  // closed while waiting, nothing handed over
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
    for (receiver_slot* r = waiting_; r; r = r->next) r->filled.notify_one();
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
  // A receiver parked in recv(), on its own stack: the direct hand-off's meeting point
  // (Go's sudog). Linked in waiting_ while it waits for a value; each slot has its own
  // condition variable, so a sender wakes exactly the receiver it handed the value to.
  struct receiver_slot {
    explicit receiver_slot(basic_channel* channel)
        : filled(wait_label{"channel (receive)", channel}) {}
    std::optional<T> value;         // set by the sender that unlinked this slot
    receiver_slot* next = nullptr;  // the next receiver in arrival order
    typename Sync::condition_variable filled;
  };

  // Room means: below capacity, or a receiver is waiting that will take the value.
  bool has_room() const { return waiting_ != nullptr || items_.size() < capacity_; }

  // Precondition: mutex_ held and has_room(). The first waiting receiver gets the value
  // directly; with none waiting, it is buffered. A receiver waits only when items_ is
  // empty, and while one waits every value goes to a slot, so order is kept: items_ is
  // empty whenever waiting_ is not. If T's move throws, nothing has changed.
  template <class U>
  void deliver(U&& value) {
    if (receiver_slot* r = waiting_) {
      r->value.emplace(std::forward<U>(value));
      waiting_ = r->next;
      if (!waiting_) last_waiting_ = nullptr;
      r->filled.notify_one();
      return;
    }
    items_.push_back(std::forward<U>(value));
  }

  // Precondition: mutex_ held. Appends a receiver's slot to waiting_.
  void enqueue(receiver_slot* slot) noexcept {
    (last_waiting_ ? last_waiting_->next : waiting_) = slot;
    last_waiting_ = slot;
  }

  // Precondition: mutex_ held; `slot`'s receiver is leaving recv() without a value it
  // will return (the channel closed, or its wait threw). Unlinks the slot if it is still
  // waiting; a value handed over to a wait that then threw goes to the next receiver, or
  // back to the front of the buffer, so that no sent value is lost or reordered.
  void withdraw(receiver_slot* slot) {
    receiver_slot* before = nullptr;
    for (receiver_slot* r = waiting_; r; before = r, r = r->next) {
      if (r != slot) continue;
      (before ? before->next : waiting_) = r->next;
      if (last_waiting_ == r) last_waiting_ = before;
      return;
    }
    if (!slot->value) return;
    if (waiting_) return deliver(std::move(*slot->value));
    items_.push_front(std::move(*slot->value));
  }

  template <class U>
  bool try_push(U&& value) {
    std::lock_guard lock(mutex_);
    if (closed_) throw channel_closed("spindle: try_send on a closed channel");
    if (!has_room()) return false;
    deliver(std::forward<U>(value));
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
  std::deque<T> items_;                 // sent, not yet received; guarded by mutex_
  receiver_slot* waiting_ = nullptr;    // receivers blocked in recv(), first in first out;
  receiver_slot* last_waiting_ = nullptr;  // guarded by mutex_
  bool closed_ = false;                 // guarded by mutex_
  const std::size_t capacity_;
};

}  // namespace spindle
