// runtime/mn/reactor.hpp — the M:N reactor: one epoll instance shared by every worker.
//
// Concept: as on the green backend (runtime/green/reactor.hpp), a thread whose I/O call
// would block parks until epoll says its descriptor is ready; but here any worker may
// look: a busy worker polls without sleeping every few rounds of its loop, and the
// sleeper that keeps time (runtime/mn/worker.cpp: worker::idle) sleeps in epoll_wait
// instead of on its futex while a thread waits for I/O. The waiter lists are guarded by
// the lot's lock. Each wait arms its descriptor once, level-triggered (EPOLLONESHOT),
// while the thread is queued under that lock: a readiness that comes between the
// thread's EAGAIN and its park is then still reported, which green's edge-triggered
// reactor gets for free from having one kernel thread, where no poll runs in between.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (timers and I/O). Read next:
// runtime/mn/reactor.cpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "spindle/mn/detail/record.hpp"

namespace spindle::mn::detail {

enum class io_outcome { ready, timed_out, closed };

class reactor {
 public:
  static reactor& instance();
  // In a forked child: the parent's epoll instance is shared with it, and its waiters
  // are gone. The next instance() makes a new reactor. Called with the lot's lock held.
  static void after_fork_in_child() noexcept;

  // Parks the calling green thread until `fd` may be readable (or writable), the
  // deadline passes, or io::close closes it. Throws std::system_error if epoll cannot
  // watch `fd`; a descriptor it cannot watch because it is always ready is ready at once.
  io_outcome wait(record* self, int fd, bool readable, clock::time_point deadline);
  // Wakes the threads whose descriptors are ready, sleeping in the kernel at most until
  // `deadline` (now: just look) or until interrupt() is called.
  void poll(clock::time_point deadline) noexcept;
  // Ends a poll that sleeps, from any thread.
  void interrupt() noexcept;
  // Wakes the threads waiting on `fd`, which then see it closed; called by io::close.
  void forget(int fd);

  // Whether a thread waits for a descriptor, read without the lock by the workers.
  bool has_waiters() const noexcept { return waiting_.load(std::memory_order_seq_cst) != 0; }
  std::uint64_t ready_events() const noexcept { return ready_events_; }

 private:
  struct waiters {
    thread_queue readers;
    thread_queue writers;
    bool added = false;        // known to epoll (ADD made; later arms are MOD)
    std::uint64_t closes = 0;  // times io::close closed this number
  };
  reactor();
  ~reactor();
  waiters& waiters_of(int fd);  // held
  int arm(int fd, waiters& w);  // held; 0 or the errno value
  void wake_queue(thread_queue& q) noexcept;

  int epoll_ = -1;
  int interrupt_fd_ = -1;  // an eventfd in the epoll set: interrupt() writes it
  std::vector<std::unique_ptr<waiters>> by_fd_;  // guarded by the lot's lock
  std::atomic<std::size_t> waiting_{0};          // threads parked in wait()
  std::uint64_t ready_events_ = 0;               // guarded by the lot's lock
};

}  // namespace spindle::mn::detail
