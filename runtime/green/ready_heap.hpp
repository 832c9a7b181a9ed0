// runtime/green/ready_heap.hpp — a run queue ordered by a number: the lowest key runs
// next, equal keys first come, first served.
//
// Concept: aging (the key is the pick count at arrival less the priority's head start)
// and stride (the key is the pass) both pick the runnable thread with the lowest key; a
// binary heap does it in O(log n). The arrival count breaks ties, so that equal threads
// take turns as under FIFO.
// Explained in: docs/14-scheduling-policies.md (aging). Read next:
// runtime/green/aging_policy.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <vector>

#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

class ready_heap {
 public:
  struct entry {
    std::int64_t key;       // lowest first
    std::uint64_t arrival;  // orders equal keys
    record* thread;
  };

  void push(std::int64_t key, record* thread) noexcept {
    try {
      heap_.push_back({key, arrivals_++, thread});
    } catch (...) {
      std::terminate();  // out of memory while making a thread runnable: cannot continue
    }
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  // The entry of lowest key, removed. Precondition: not empty.
  entry pop() noexcept {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    entry top = heap_.back();
    heap_.pop_back();
    return top;
  }
  bool empty() const noexcept { return heap_.empty(); }
  const std::vector<entry>& entries() const noexcept { return heap_; }

 private:
  // std::push_heap keeps the largest on top, so "later" is "larger".
  static bool later(const entry& a, const entry& b) noexcept {
    return a.key != b.key ? a.key > b.key : a.arrival > b.arrival;
  }

  std::uint64_t arrivals_ = 0;
  std::vector<entry> heap_;
};

}  // namespace spindle::green::detail
