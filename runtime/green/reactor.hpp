// runtime/green/reactor.hpp — the reactor: green threads parked until a descriptor is ready.
//
// Concept: a green thread must never make a system call that blocks, or every green
// thread of its kernel thread stops with it. So spindle's I/O calls ask the kernel for
// non-blocking I/O; when the answer is EAGAIN ("would block"), the thread parks in the
// reactor, which watches the descriptor with epoll. When the scheduler has nothing to
// run it sleeps in epoll_pwait2, with the next timer's deadline as the timeout: timers
// and I/O are one wait.
// Explained in: docs/08-reactor.md. Read next: runtime/green/reactor.cpp, then
// runtime/common/io_calls.hpp.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <vector>

#include "spindle/green/detail/record.hpp"

namespace spindle::green::detail {

class scheduler;

enum class readiness { readable, writable };

// How a wait in the reactor ended.
enum class wait_outcome { ready, timed_out, closed };

class reactor {
 public:
  reactor() = default;
  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;
  ~reactor();

  // Parks the running thread until `fd` may be ready for `what` (ready), the deadline
  // passes (timed_out), or io::close closes it (closed: the number may already name
  // another file, which the caller must not touch). Throws std::system_error if epoll
  // cannot watch `fd`. A descriptor epoll cannot watch because it is always ready (a
  // regular file) is ready at once.
  wait_outcome wait(scheduler& s, int fd, readiness what, clock::time_point deadline);

  // Wakes every thread whose descriptor became ready, sleeping at most `timeout` in the
  // kernel (zero: just look). Called by the scheduler loop only.
  void poll(scheduler& s, const timespec& timeout);

  // Watches `fd`, the scheduler's inbox's eventfd (runtime/green/remote.hpp), so that a
  // poll returns when another kernel thread posts; poll reads it empty again. Throws
  // std::system_error if epoll cannot watch it.
  void watch_wakeups(int fd);

  // Wakes the threads waiting on `fd` as if it were ready; their next call on it fails
  // (EBADF once closed). Called by io::close before it closes the descriptor.
  void forget(scheduler& s, int fd);

  bool has_waiters() const noexcept { return waiting_ > 0; }
  bool started() const noexcept { return epoll_ >= 0; }
  // Descriptors poll found ready so far, for the statistics.
  std::uint64_t ready_events() const noexcept { return ready_events_; }

 private:
  struct waiters {
    thread_queue readers;
    thread_queue writers;
    std::uint64_t closes = 0;  // times io::close closed this number; a waiter compares
  };
  waiters& waiters_of(int fd);
  bool watch(int fd);
  void wake_all(scheduler& s, thread_queue& queue);
  // Makes the epoll instance on first use, and a new one in a forked child (the parent's
  // is shared with it). Throws std::system_error if epoll_create1 fails.
  void open_for_this_process();
  void open_epoll();
  void renew_after_fork();
  // epoll_ctl(ADD) of `fd`, edge-triggered, both directions; 0 or the errno value.
  int add_interest(int fd);
  // epoll_ctl(ADD) of wakeups_, level-triggered, readable; 0 or the errno value.
  int add_wakeups();
  // In a forked child: a new eventfd under wakeups_'s number. Throws std::system_error.
  void renew_wakeups();

  int epoll_ = -1;                               // made on first wait
  int wakeups_ = -1;                             // the inbox's eventfd, if any
  unsigned made_after_forks_ = 0;                // forks counted when epoll_ was made
  std::vector<std::unique_ptr<waiters>> by_fd_;  // indexed by descriptor
  std::size_t waiting_ = 0;                      // threads parked in wait()
  std::uint64_t ready_events_ = 0;               // counted by poll
};

}  // namespace spindle::green::detail
