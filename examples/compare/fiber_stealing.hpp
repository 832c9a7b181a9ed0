// examples/compare/fiber_stealing.hpp — Boost.Fiber's work_stealing scheduler on several
// kernel threads, as the comparisons run it: the M:N peer that spindle's backends are
// measured against.
//
// Concept: Boost.Fiber's fibers run on the kernel thread that made them unless a
// scheduling algorithm lets them move; work_stealing (boost/fiber/algo/work_stealing.hpp)
// gives each of N kernel threads a run queue and lets an idle one steal from another.
// It is installed on each kernel thread with use_scheduling_algorithm, once per process
// (it keeps its schedulers in static members), and its idle threads either spin
// (suspend = false, its default) or sleep on a condition variable until a fiber of their
// own is woken (suspend = true).
// Explained in: docs/15-many-to-many.md (the peers, measured), docs/12-comparisons.md.
// Read next: examples/compare/skynet.cpp, examples/compare/idle_cpu.cpp.
#pragma once

#include <boost/fiber/all.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

namespace compare {

// Runs `body` on the calling kernel thread with work_stealing spread over
// `kernel_threads` kernel threads: this one and kernel_threads - 1 helpers, whose main
// fibers wait until `body` has returned (or thrown), so that their schedulers steal the
// fibers `body` makes meanwhile. `suspend` is work_stealing's: whether an idle kernel
// thread sleeps instead of spinning. Call it once per process, from a process with one
// kernel thread (the comparisons call it in a child of their own).
void on_work_stealing(int kernel_threads, bool suspend, const std::function<void()>& body);

// Boost.Fiber's pooled_fixedsize_stack behind a mutex: its boost::pool is not safe to
// share between kernel threads, and under work_stealing a fiber may end (and free its
// stack) on another kernel thread than the one that made it. Copies share the pool and
// the mutex, as copies of the pool alone share the pool.
class locked_pooled_stack {
 public:
  // Stacks of `size` bytes, the pool growing by `growth` stacks at a time.
  locked_pooled_stack(std::size_t size, std::size_t growth);
  boost::context::stack_context allocate();
  void deallocate(boost::context::stack_context& stack) noexcept;

 private:
  boost::fibers::pooled_fixedsize_stack pool_;
  std::shared_ptr<std::mutex> lock_;
};

}  // namespace compare
