// examples/compare/skynet_tree.hpp — skynet's tree of threads, written once for spindle's
// backends and once for Boost.Fiber, and what the tree counts as it runs.
//
// Concept: a root thread spawns ten children, each of them ten more, down to the leaves;
// leaf number i returns i and every inner thread returns the sum of its children's
// results. spindle_node is one thread of the tree over any spindle backend (green, mn),
// fiber_node the same on Boost.Fiber; census counts the threads alive (in the warm-up
// tree) and leaves_here the leaves each kernel thread ran.
// Explained in: docs/12-comparisons.md (Skynet: a million threads), docs/15-many-to-many.md.
// Read next: examples/compare/skynet.cpp, which measures the tree.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/fiber/all.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <numeric>
#include <utility>
#include <vector>

#include "spindle/backend.hpp"

namespace skynet {

inline constexpr int fan_out = 10;                    // children of every inner thread
inline constexpr std::size_t stack_size = 16 * 1024;  // every model's stacks: spindle's smallest

// The threads spawned and not yet joined, counted as they come and go in the warm-up
// tree (`counting`), whose peak the table gives; the timed trees do not count, so that
// two kernel threads do not time their fight over this one cache line.
struct live_threads {
  std::atomic<bool> counting{false};
  std::atomic<long> now{0};
  std::atomic<long> peak{0};
  void spawned() {
    if (!counting.load(std::memory_order_relaxed)) return;
    long live = now.fetch_add(1, std::memory_order_relaxed) + 1;
    long seen = peak.load(std::memory_order_relaxed);
    while (live > seen && !peak.compare_exchange_weak(seen, live, std::memory_order_relaxed)) {
    }
  }
  void joined() {
    if (counting.load(std::memory_order_relaxed)) now.fetch_sub(1, std::memory_order_relaxed);
  }
};
inline live_threads census;

// The leaves each kernel thread ran. Each kernel thread counts in its own counter, which
// registers itself in `all` the first time that kernel thread runs a leaf; a leaf finds
// its kernel thread's counter through a thread_local, read after it starts and before
// it could move (a leaf never switches), so the counter is the one of the kernel thread
// that really ran it (docs/15-many-to-many.md: the thread_local trap).
struct leaves_here {
  static inline std::mutex registering;
  static inline std::vector<leaves_here*> all;  // every kernel thread's, in order of first leaf
  long count = 0;
  leaves_here() {
    std::lock_guard lock(registering);
    all.push_back(this);
  }
};
inline void count_a_leaf() {
  thread_local leaves_here mine;
  ++mine.count;
}

// The count of each kernel thread since the last call, and resets them. Call it when no
// tree runs: the trees' joins ordered every count before the root's join returned.
inline std::vector<long> take_leaf_counts() {
  std::lock_guard lock(leaves_here::registering);
  std::vector<long> counts;
  for (leaves_here* counter : leaves_here::all) counts.push_back(std::exchange(counter->count, 0));
  return counts;
}

// One thread of the tree on spindle's backend B (green or mn): a leaf returns its number;
// an inner thread spawns ten children over the ten tenths of its leaves, then joins them
// in order and returns the sum of what their joins returned.
template <spindle::backend B>
std::uint64_t spindle_node(spindle::spawn_options options, std::uint64_t first,
                           std::uint64_t leaves) {
  if (leaves == 1) {
    count_a_leaf();
    return first;
  }
  std::uint64_t part = leaves / fan_out;
  std::array<typename B::template thread<std::uint64_t>, fan_out> children;
  for (int i = 0; i < fan_out; ++i) {
    children[i] = B::spawn(options, spindle_node<B>, options, first + i * part, part);
    census.spawned();
  }
  std::uint64_t sum = 0;
  for (auto& child : children) {
    sum += child.join();
    census.joined();
  }
  return sum;
}

// The same thread on Boost.Fiber. A fiber's join returns nothing, so each child writes
// its sum into a slot of its parent's frame, which outlives it: the parent joins it
// before it returns. `stacks` is shared by the whole tree (allocate() is not const).
template <class StackAllocator>
std::uint64_t fiber_node(StackAllocator& stacks, std::uint64_t first, std::uint64_t leaves) {
  if (leaves == 1) {
    count_a_leaf();
    return first;
  }
  std::uint64_t part = leaves / fan_out;
  std::array<std::uint64_t, fan_out> sums{};
  std::array<boost::fibers::fiber, fan_out> children;
  for (int i = 0; i < fan_out; ++i) {
    children[i] = boost::fibers::fiber(
        std::allocator_arg, stacks,
        [&stacks, &sums, i, first, part] { sums[i] = fiber_node(stacks, first + i * part, part); });
    census.spawned();
  }
  for (auto& child : children) {
    child.join();
    census.joined();
  }
  return std::accumulate(sums.begin(), sums.end(), std::uint64_t{0});
}

// One whole tree on spindle's backend B: the root is a thread of B too, which the caller
// joins.
template <spindle::backend B>
std::uint64_t spindle_tree(spindle::stack_kind kind, std::uint64_t leaves) {
  spindle::spawn_options options{.stack_size = stack_size, .stack = kind};
  auto root = B::spawn(options, spindle_node<B>, options, std::uint64_t{0}, leaves);
  census.spawned();
  std::uint64_t sum = root.join();
  census.joined();
  return sum;
}

// One whole tree on Boost.Fiber, its stacks from `stacks` (a copy of a pooled allocator
// shares the pool).
template <class StackAllocator>
std::uint64_t fiber_tree(StackAllocator stacks, std::uint64_t leaves) {
  std::uint64_t sum = 0;
  boost::fibers::fiber root(std::allocator_arg, stacks,
                            [&] { sum = fiber_node(stacks, std::uint64_t{0}, leaves); });
  census.spawned();
  root.join();
  census.joined();
  return sum;
}

// The shape of the tree, from --leaves.
struct tree {
  std::uint64_t leaves;        // a power of ten
  int levels;                  // below the root: leaves = 10^levels
  long threads;                // every thread of the tree, the root included
  std::uint64_t expected_sum;  // 0 + 1 + ... + (leaves - 1)
};

inline tree shape(std::uint64_t leaves) {
  tree t{leaves, 0, 1, leaves * (leaves - 1) / 2};
  for (std::uint64_t width = 1; width < leaves; width *= fan_out) {
    ++t.levels;
    t.threads += static_cast<long>(width * fan_out);
  }
  return t;
}

}  // namespace skynet
