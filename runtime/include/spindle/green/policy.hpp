// spindle/green/policy.hpp — scheduling policy: which runnable thread runs next.
//
// Concept: policy apart from mechanism. The scheduler (runtime/green/scheduler.cpp)
// decides WHEN to switch; a policy decides only WHO runs next. It is told when a thread
// becomes runnable (awakened), asked whom to run (pick_next), and told, after each run,
// how long the thread ran and why it stopped (stopped): that is all a time-aware policy
// (MLFQ, stride) needs. It keeps its per-thread data in the thread's record
// (policy_data), never in a table of its own. Seven ship with spindle: FIFO round robin
// (the default, kept inside the scheduler), a seeded random order for the tests, and the
// textbook policies of docs/14: strict priority, priority with aging, lottery, stride and
// the multi-level feedback queue.
// Explained in: docs/05-scheduler.md (policies) and docs/14-scheduling-policies.md.
// Read next: runtime/green/fifo_policy.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>

#include "spindle/detail/choice.hpp"
#include "spindle/green/detail/record.hpp"

namespace spindle::green {

// Why a thread stopped running, as the scheduler tells the policy.
enum class stop_reason : std::uint8_t {
  yielded,    // this_thread::yield: it is still runnable, and awakened follows at once
  blocked,    // parked: a lock, a wait, a sleep, I/O, a join
  finished,   // returned: its record is freed after this call, so forget it
  preempted,  // its slice was taken away by the preemption timer (scheduler::preempt,
              // docs/08): only with opt-in preemption on
};

class policy {
 public:
  virtual ~policy() = default;
  // `thread` has become runnable (spawned, woken, or yielded); remember it. Never called
  // twice without a pick between.
  virtual void awakened(detail::record* thread) noexcept = 0;
  // Removes and returns the thread to run next, or nullptr when none is runnable.
  virtual detail::record* pick_next() noexcept = 0;
  // Whether pick_next() would return a thread.
  virtual bool has_ready() const noexcept = 0;
  // `thread` has just stopped running, after holding the processor for `ran` (measured on
  // CLOCK_MONOTONIC from the switch to it to this stop), because of `why`. Called on the
  // stopping thread's own stack, before the switch away, and for a yield before
  // awakened. The default ignores it: FIFO, random, strict priority and lottery need no
  // time.
  virtual void stopped(detail::record* thread, std::chrono::nanoseconds ran,
                       stop_reason why) noexcept {
    (void)thread, (void)ran, (void)why;
  }
  // A few words on `thread`'s place in this policy, for the thread dump ("level 2 of
  // 3"), or empty. Called on the scheduler's kernel thread, outside any switch.
  virtual std::string describe(const detail::record* thread) const {
    (void)thread;
    return {};
  }
};

// A policy's per-thread data, in the record's policy_area: T must be trivial (it starts
// as zero bytes: the scheduler zeroes the area when the thread is spawned under a policy
// and when a policy is chosen) and fit in record::policy_area_size bytes.
template <class T>
T& policy_data(detail::record* thread) noexcept {
  static_assert(std::is_trivial_v<T>, "policy data starts as zero bytes: make it trivial");
  static_assert(sizeof(T) <= detail::record::policy_area_size, "policy data does not fit");
  static_assert(alignof(T) <= 8, "policy data is aligned to 8 bytes");
  return *std::launder(reinterpret_cast<T*>(thread->policy_area));
}
template <class T>
const T& policy_data(const detail::record* thread) noexcept {
  return policy_data<T>(const_cast<detail::record*>(thread));
}

std::unique_ptr<policy> make_fifo_policy();
std::unique_ptr<policy> make_random_policy(std::uint64_t seed);
// Whether `p` was made by make_fifo_policy: the scheduler then uses its own run queue,
// which keeps the same order without an indirect call.
bool is_fifo_policy(const policy& p) noexcept;

// The textbook policies (docs/14-scheduling-policies.md); each file in runtime/green/
// explains its rule and parameters. Each throws std::invalid_argument for a parameter
// out of its range.

// Strict priority: the highest spawn_options::priority runs; equals take turns.
std::unique_ptr<policy> make_priority_policy();

// Priority with aging: a runnable thread gains one priority level for every
// `picks_per_level` picks made while it waits, so that none starves (>= 1).
struct aging_options {
  std::uint32_t picks_per_level = 4;
};
std::unique_ptr<policy> make_aging_policy(aging_options options = {});

// Lottery: each pick draws a ticket among the runnable threads' tickets, seeded.
std::unique_ptr<policy> make_lottery_policy(std::uint64_t seed);

// Stride: the runnable thread with the lowest pass runs; each run adds its stride,
// stride1 / tickets. Deterministic: the runs follow the tickets' proportions exactly.
std::unique_ptr<policy> make_stride_policy();

// The multi-level feedback queue after OSTEP chapter 8.
struct mlfq_options {
  unsigned levels = 3;                              // queues, 0 the top (1 to 16)
  std::chrono::microseconds allotment{1000};        // run time allowed at the top level
                                                    // before demotion; doubles per level
  std::chrono::microseconds boost_interval{50000};  // run time between two boosts
                                                    // of every thread to the top
};
std::unique_ptr<policy> make_mlfq_policy(mlfq_options options = {});

// Replaces the calling kernel thread's policy; runnable threads move to the new one.
void use_policy(std::unique_ptr<policy> next);
inline void use_fifo_policy() { use_policy(make_fifo_policy()); }
// The random policy also seeds select's choices among ready cases (spindle::seed_select),
// so that one seed replays both the interleaving and the choices.
inline void use_random_policy(std::uint64_t seed) {
  use_policy(make_random_policy(seed));
  seed_select(seed);
}

// The policies by name, for the examples' --policy flags and the test harness:
// "fifo", "random", "priority", "aging", "lottery", "stride", "mlfq", with default
// parameters (and `seed` for random and lottery). Throws std::invalid_argument for
// another name, listing the names.
std::unique_ptr<policy> make_policy(std::string_view name, std::uint64_t seed = 1);
// The names make_policy knows, comma-separated, for a --help text.
extern const char* const policy_names;

}  // namespace spindle::green
