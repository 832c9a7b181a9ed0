// spindle/detail/thread_queue.hpp — an intrusive FIFO of thread records: the green run
// queue and every wait queue of both backends.
//
// Concept: a wait queue holds the threads blocked on one object (a mutex, a condition
// variable, a joined thread's finish). It allocates nothing: it links the records' own
// prev/next fields, so a record is in at most one queue at a time, and leaving a queue
// (woken, timed out, failed by the deadlock detector) is O(1) from any position.
// Explained in: docs/06-synchronisation.md. Read next: runtime/green/scheduler.hpp.
#pragma once

#include <cassert>

namespace spindle::detail {

// Record must have fields `Record* prev, *next` and `thread_queue<Record>* queue`.
template <class Record>
class thread_queue {
 public:
  thread_queue() = default;
  thread_queue(const thread_queue&) = delete;
  thread_queue& operator=(const thread_queue&) = delete;
  ~thread_queue() { assert(empty() && "a wait queue was destroyed with threads waiting on it"); }

  bool empty() const noexcept { return head_ == nullptr; }
  Record* front() const noexcept { return head_; }

  void push_back(Record* r) noexcept {
    assert(r->queue == nullptr);
    r->queue = this;
    r->next = nullptr;
    r->prev = tail_;
    (tail_ ? tail_->next : head_) = r;
    tail_ = r;
  }

  void remove(Record* r) noexcept {
    assert(r->queue == this);
    (r->prev ? r->prev->next : head_) = r->next;
    (r->next ? r->next->prev : tail_) = r->prev;
    r->prev = r->next = nullptr;
    r->queue = nullptr;
  }

  Record* pop_front() noexcept {
    Record* r = head_;
    if (r) remove(r);
    return r;
  }

 private:
  Record* head_ = nullptr;
  Record* tail_ = nullptr;
};

}  // namespace spindle::detail
