// runtime/green/timer_queue.cpp — the timer queue's heap operations.
// Explained in: docs/05-scheduler.md (timers). Read next: runtime/green/scheduler.cpp.
#include "timer_queue.hpp"

#include <cassert>
#include <utility>

namespace spindle::green::detail {

void timer_queue::add(record* r) {
  assert(r->timer_slot == record::no_timer);
  heap_.push_back(r);
  place(heap_.size() - 1, r);
  sift_up(heap_.size() - 1);
}

void timer_queue::remove(record* r) noexcept {
  std::size_t slot = r->timer_slot;
  assert(slot < heap_.size() && heap_[slot] == r);
  r->timer_slot = record::no_timer;
  record* last = heap_.back();
  heap_.pop_back();
  if (last == r) return;
  place(slot, last);
  sift_up(slot);
  sift_down(last->timer_slot);
}

void timer_queue::sift_up(std::size_t slot) noexcept {
  while (slot > 0) {
    std::size_t parent = (slot - 1) / 2;
    if (!earlier(slot, parent)) return;
    record* up = heap_[slot];
    place(slot, heap_[parent]);
    place(parent, up);
    slot = parent;
  }
}

void timer_queue::sift_down(std::size_t slot) noexcept {
  for (;;) {
    std::size_t first = slot, left = 2 * slot + 1, right = left + 1;
    if (left < heap_.size() && earlier(left, first)) first = left;
    if (right < heap_.size() && earlier(right, first)) first = right;
    if (first == slot) return;
    record* down = heap_[slot];
    place(slot, heap_[first]);
    place(first, down);
    slot = first;
  }
}

}  // namespace spindle::green::detail
