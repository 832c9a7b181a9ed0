// runtime/green/timer_queue.hpp — the timer queue: threads parked until a deadline.
//
// Concept: a binary min-heap of records ordered by deadline. Each record remembers its
// own index in the heap (record::timer_slot), so a thread woken before its deadline
// leaves the heap in O(log n) and no stale entry is left behind to keep the scheduler
// awake or to hide a deadlock. A record is in the heap at most once.
// Explained in: docs/05-scheduler.md (timers). Read next: runtime/green/scheduler.cpp.
#pragma once

#include <vector>

#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

class timer_queue {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  // The earliest deadline. Precondition: !empty().
  clock::time_point next_deadline() const noexcept { return heap_.front()->deadline; }
  record* earliest() const noexcept { return heap_.front(); }

  void add(record* r);              // r->deadline set; r not in the queue
  void remove(record* r) noexcept;  // r in the queue

 private:
  bool earlier(std::size_t a, std::size_t b) const noexcept {
    return heap_[a]->deadline < heap_[b]->deadline;
  }
  void place(std::size_t slot, record* r) noexcept {
    heap_[slot] = r;
    r->timer_slot = slot;
  }
  void sift_up(std::size_t slot) noexcept;
  void sift_down(std::size_t slot) noexcept;

  std::vector<record*> heap_;
};

}  // namespace spindle::green::detail
