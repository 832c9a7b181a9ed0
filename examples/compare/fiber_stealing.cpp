// examples/compare/fiber_stealing.cpp — Boost.Fiber's work_stealing on several kernel
// threads, and a stack pool they can share.
//
// Concept: see fiber_stealing.hpp. The helpers' main fibers park on a Boost.Fiber
// condition variable, so that each helper's scheduler is free to run stolen fibers; the
// calling kernel thread notifies it from its own scheduler (a wake-up across kernel
// threads, which Boost.Fiber supports) once `body` is over.
// Explained in: docs/15-many-to-many.md (the peers, measured).
// Read next: examples/compare/skynet.cpp.
#include "fiber_stealing.hpp"

#include <thread>
#include <vector>

namespace compare {

void on_work_stealing(int kernel_threads, bool suspend, const std::function<void()>& body) {
  using boost::fibers::algo::work_stealing;
  boost::fibers::mutex lock;
  boost::fibers::condition_variable finished;
  bool done = false;
  std::vector<std::thread> helpers;
  for (int i = 1; i < kernel_threads; ++i) {
    helpers.emplace_back([&] {
      boost::fibers::use_scheduling_algorithm<work_stealing>(kernel_threads, suspend);
      std::unique_lock waiting(lock);
      finished.wait(waiting, [&] { return done; });
    });
  }
  // work_stealing's constructor waits until every kernel thread has installed one.
  boost::fibers::use_scheduling_algorithm<work_stealing>(kernel_threads, suspend);
  auto stop_helpers = [&] {
    {
      std::unique_lock setting(lock);
      done = true;
    }
    finished.notify_all();
    for (auto& helper : helpers) helper.join();
  };
  try {
    body();
  } catch (...) {
    stop_helpers();
    throw;
  }
  stop_helpers();
}

locked_pooled_stack::locked_pooled_stack(std::size_t size, std::size_t growth)
    : pool_(size, growth, growth), lock_(std::make_shared<std::mutex>()) {}

boost::context::stack_context locked_pooled_stack::allocate() {
  std::lock_guard holding(*lock_);
  return pool_.allocate();
}

void locked_pooled_stack::deallocate(boost::context::stack_context& stack) noexcept {
  std::lock_guard holding(*lock_);
  pool_.deallocate(stack);
}

}  // namespace compare
