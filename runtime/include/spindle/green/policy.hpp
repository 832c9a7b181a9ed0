// spindle/green/policy.hpp — scheduling policy: which runnable thread runs next.
//
// Concept: policy apart from mechanism. The scheduler (runtime/green/scheduler.cpp)
// decides WHEN to switch; a policy decides only WHO runs next. Two ship with spindle:
// FIFO round robin (the default) and a seeded random order, which lets tests explore
// many interleavings and replay a failing one from its seed.
// Explained in: docs/05-scheduler.md. Read next: runtime/green/fifo_policy.cpp.
#pragma once

#include <cstdint>
#include <memory>

#include "spindle/detail/choice.hpp"

namespace spindle::green {

namespace detail {
struct record;
}

class policy {
public:
  virtual ~policy() = default;
  // `thread` has become runnable; remember it. Never called twice without a pick between.
  virtual void awakened(detail::record* thread) noexcept = 0;
  // Removes and returns the thread to run next, or nullptr when none is runnable.
  virtual detail::record* pick_next() noexcept = 0;
  // Whether pick_next() would return a thread.
  virtual bool has_ready() const noexcept = 0;
};

std::unique_ptr<policy> make_fifo_policy();
std::unique_ptr<policy> make_random_policy(std::uint64_t seed);
// Whether `p` was made by make_fifo_policy: the scheduler then uses its own run queue,
// which keeps the same order without an indirect call.
bool is_fifo_policy(const policy& p) noexcept;

// Replaces the calling kernel thread's policy; runnable threads move to the new one.
void use_policy(std::unique_ptr<policy> next);
inline void use_fifo_policy() { use_policy(make_fifo_policy()); }
// The random policy also seeds select's choices among ready cases (spindle::seed_select),
// so that one seed replays both the interleaving and the choices.
inline void use_random_policy(std::uint64_t seed) {
  use_policy(make_random_policy(seed));
  seed_select(seed);
}

}  // namespace spindle::green
