// runtime/green/reactor.cpp — epoll, and parking threads on descriptors.
// Explained in: docs/08-reactor.md. Read next: runtime/common/io_calls.hpp.
#include "reactor.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <limits>
#include <mutex>
#include <system_error>

#include "scheduler.hpp"

namespace spindle::green::detail {

namespace {

// Counts the fork() calls this process descends from: a reactor whose epoll instance was
// made under another count is in a child, and shares that instance with its parent.
std::atomic<unsigned> forks_seen{0};

void count_forks_in_children() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    int error = pthread_atfork(nullptr, nullptr,
                               [] { forks_seen.fetch_add(1, std::memory_order_relaxed); });
    if (error != 0)
      throw std::system_error(error, std::generic_category(), "spindle: pthread_atfork");
  });
}

}  // namespace

reactor::~reactor() {
  if (epoll_ >= 0) ::close(epoll_);
}

// fork() copies the descriptor of the epoll instance, not the instance: parent and child
// would share one interest list and one ready list, so the child's epoll_ctl would change
// what the parent watches, and an edge-triggered event could be taken by the process
// that did not wait for it (the other then sleeps for ever). The child makes its own
// instance and watches again every descriptor its (copied) green threads wait on; epoll
// reports a descriptor that is already ready as soon as it is added.
void reactor::renew_after_fork() {
  ::close(epoll_);
  epoll_ = -1;
  open_epoll();
  for (std::size_t fd = 0; fd < by_fd_.size(); ++fd) {
    if (by_fd_[fd] && (!by_fd_[fd]->readers.empty() || !by_fd_[fd]->writers.empty()))
      add_interest(static_cast<int>(fd));
  }
  if (wakeups_ >= 0) {
    renew_wakeups();
    add_wakeups();
  }
}

// The inbox's eventfd is shared with the parent too, and a child that read it would take
// a post's wake-up from the parent. The child gets an eventfd of its own under the same
// number (the inbox keeps the number), made readable, so that what the child pushed
// before this first look is drained.
void reactor::renew_wakeups() {
  int fresh = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fresh < 0) throw std::system_error(errno, std::system_category(), "spindle: eventfd");
  int error = dup3(fresh, wakeups_, O_CLOEXEC) < 0 ? errno : 0;
  ::close(fresh);
  if (error)
    throw std::system_error(error, std::system_category(), "spindle: dup3 of the inbox's eventfd");
}

void reactor::open_epoll() {
  count_forks_in_children();
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::system_error(errno, std::system_category(), "spindle: epoll_create1");
  made_after_forks_ = forks_seen.load(std::memory_order_relaxed);
}

void reactor::open_for_this_process() {
  if (epoll_ < 0) {
    open_epoll();
  } else if (made_after_forks_ != forks_seen.load(std::memory_order_relaxed)) {
    renew_after_fork();
  }
}

int reactor::add_interest(int fd) {
  epoll_event interest{};
  interest.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  interest.data.fd = fd;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &interest) == 0 || errno == EEXIST) return 0;
  return errno;
}

// Level-triggered: a readable eventfd keeps waking every poll until one reads it, so a
// wake-up that arrives between the read and the drain cannot be lost.
int reactor::add_wakeups() {
  epoll_event interest{};
  interest.events = EPOLLIN;
  interest.data.fd = wakeups_;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, wakeups_, &interest) == 0 || errno == EEXIST) return 0;
  return errno;
}

void reactor::watch_wakeups(int fd) {
  open_for_this_process();
  wakeups_ = fd;
  if (int error = add_wakeups()) {
    wakeups_ = -1;
    throw std::system_error(error, std::system_category(),
                            "spindle: epoll cannot watch the inbox's eventfd");
  }
}

reactor::waiters& reactor::waiters_of(int fd) {
  auto slot = static_cast<std::size_t>(fd);
  if (by_fd_.size() <= slot) by_fd_.resize(slot + 1);
  if (!by_fd_[slot]) by_fd_[slot] = std::make_unique<waiters>();
  return *by_fd_[slot];
}

// Asks epoll to watch `fd` for both directions, edge-triggered: an event says the state
// changed, so a thread parks only after EAGAIN told it the descriptor was not ready.
// Asking again on every park costs one system call but stays right when a descriptor
// number was closed without spindle and reused (EEXIST then just means "already").
// Returns false for descriptors epoll refuses because they are always ready.
bool reactor::watch(int fd) {
  open_for_this_process();
  int error = add_interest(fd);
  if (error == 0) return true;
  if (error == EPERM) return false;
  throw std::system_error(error, std::system_category(),
                          "spindle: epoll cannot watch descriptor " + std::to_string(fd));
}

wait_outcome reactor::wait(scheduler& s, int fd, readiness what, clock::time_point deadline) {
  if (!watch(fd)) return wait_outcome::ready;
  waiters& w = waiters_of(fd);
  std::uint64_t closes_before = w.closes;
  thread_queue& queue = what == readiness::readable ? w.readers : w.writers;
  wait_reason why{what == readiness::readable ? "I/O (readable)" : "I/O (writable)",
                  reinterpret_cast<const void*>(static_cast<std::intptr_t>(fd)), nullptr};
  ++waiting_;
  struct count_down {
    std::size_t& n;
    ~count_down() { --n; }
  } leaving{waiting_};
  bool woken = true;
  if (deadline == clock::time_point::max()) {
    s.park(&queue, why);
  } else {
    woken = s.park_until(deadline, &queue, why);
  }
  // by_fd_ may have grown meanwhile: look the waiters up again.
  if (waiters_of(fd).closes != closes_before) return wait_outcome::closed;
  return woken ? wait_outcome::ready : wait_outcome::timed_out;
}

namespace {

// epoll_pwait2 takes a nanosecond timeout; kernels before 5.11, and valgrind, do not
// know it (ENOSYS). Then epoll_wait serves, its millisecond timeout rounded up so that a
// timer never fires early.
int wait_for_ready(int epoll, epoll_event* events, int capacity, const timespec& timeout) {
  static bool has_pwait2 = true;
  if (has_pwait2) {
    int ready = epoll_pwait2(epoll, events, capacity, &timeout, nullptr);
    if (ready >= 0 || errno != ENOSYS) return ready;
    has_pwait2 = false;
  }
  long long ms =
      static_cast<long long>(timeout.tv_sec) * 1000 + (timeout.tv_nsec + 999999) / 1000000;
  return epoll_wait(epoll, events, capacity, ms > INT_MAX ? INT_MAX : static_cast<int>(ms));
}

}  // namespace

void reactor::wake_all(scheduler& s, thread_queue& queue) {
  while (record* r = queue.front()) s.wake(r);
}

void reactor::poll(scheduler& s, const timespec& timeout) {
  open_for_this_process();
  constexpr int batch = 128;
  epoll_event events[batch];
  int ready = wait_for_ready(epoll_, events, batch, timeout);
  if (ready > 0) ready_events_ += static_cast<std::uint64_t>(ready);
  for (int i = 0; i < ready; ++i) {
    if (events[i].data.fd == wakeups_) {  // a post: the loop drains the inbox next
      std::uint64_t posts;
      [[maybe_unused]] ssize_t got = ::read(wakeups_, &posts, sizeof posts);
      continue;
    }
    auto slot = static_cast<std::size_t>(events[i].data.fd);
    if (slot >= by_fd_.size() || !by_fd_[slot]) continue;
    std::uint32_t e = events[i].events;
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) wake_all(s, by_fd_[slot]->readers);
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) wake_all(s, by_fd_[slot]->writers);
  }
  // ready < 0: EINTR (a signal handler ran) — the loop simply comes round again.
}

void reactor::forget(scheduler& s, int fd) {
  auto slot = static_cast<std::size_t>(fd);
  if (slot >= by_fd_.size() || !by_fd_[slot]) return;
  ++by_fd_[slot]->closes;
  wake_all(s, by_fd_[slot]->readers);
  wake_all(s, by_fd_[slot]->writers);
}

}  // namespace spindle::green::detail
