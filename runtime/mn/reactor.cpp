// runtime/mn/reactor.cpp — the shared epoll instance: arming a descriptor for a waiter,
// polling, and waking the waiters of a closed descriptor.
// Explained in: docs/15-many-to-many.md and runtime/mn/README.md (timers and I/O). Read next:
// runtime/mn/io.cpp.
#include "reactor.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <new>
#include <system_error>

#include "lot.hpp"
#include "worker.hpp"

namespace spindle::mn::detail {

namespace {
constexpr std::uint64_t interrupt_key = ~std::uint64_t{0};
// Made on first use, never destroyed (threads may wait for I/O while the process runs
// its exit code), and made afresh in a forked child.
std::atomic<reactor*> the_reactor{nullptr};
std::mutex making;
}  // namespace

reactor& reactor::instance() {
  if (reactor* r = the_reactor.load(std::memory_order_acquire)) [[likely]]
    return *r;
  std::lock_guard hold(making);
  if (!the_reactor.load(std::memory_order_relaxed)) {
    the_reactor.store(new reactor, std::memory_order_release);
  }
  return *the_reactor.load(std::memory_order_relaxed);
}

void reactor::after_fork_in_child() noexcept {
  reactor* old = the_reactor.exchange(nullptr);
  new (&making) std::mutex;  // it may have been held by a thread that stayed behind
  delete old;
}

// The waiters are gone with the threads: their queues are emptied without waking.
reactor::~reactor() {
  for (auto& w : by_fd_) {
    if (!w) continue;
    while (w->readers.pop_front()) {
    }
    while (w->writers.pop_front()) {
    }
  }
  ::close(interrupt_fd_);
  ::close(epoll_);
}

reactor::reactor() {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0)
    throw std::system_error(errno, std::system_category(), "spindle::mn: epoll_create1");
  interrupt_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event watched{};
  watched.events = EPOLLIN;
  watched.data.u64 = interrupt_key;
  if (interrupt_fd_ < 0 || epoll_ctl(epoll_, EPOLL_CTL_ADD, interrupt_fd_, &watched) != 0) {
    throw std::system_error(errno, std::system_category(), "spindle::mn: the reactor's eventfd");
  }
}

reactor::waiters& reactor::waiters_of(int fd) {
  auto index = static_cast<std::size_t>(fd);
  if (by_fd_.size() <= index) by_fd_.resize(index + 1);
  if (!by_fd_[index]) by_fd_[index] = std::make_unique<waiters>();
  return *by_fd_[index];
}

// Interest in what the queued threads wait for, once (EPOLLONESHOT), level-triggered.
int reactor::arm(int fd, waiters& w) {
  epoll_event watched{};
  watched.events = EPOLLONESHOT;
  if (!w.readers.empty()) watched.events |= EPOLLIN | EPOLLRDHUP;
  if (!w.writers.empty()) watched.events |= EPOLLOUT;
  watched.data.u64 = static_cast<std::uint64_t>(fd);
  if (w.added && epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &watched) == 0) return 0;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &watched) != 0) return errno;
  w.added = true;
  return 0;
}

void reactor::wake_queue(thread_queue& q) noexcept {
  while (record* r = q.front()) lot::instance().wake(r);
}

io_outcome reactor::wait(record* self, int fd, bool readable, clock::time_point deadline) {
  ensure_started();
  lot& l = lot::instance();
  auto held = l.hold();
  waiters& w = waiters_of(fd);
  std::uint64_t closes = w.closes;
  thread_queue& queue = readable ? w.readers : w.writers;
  // Queued first, so that arm() counts this thread's interest; taken out again if epoll
  // refuses. The park below queues it for good.
  queue.push_back(self);
  int error = arm(fd, w);
  queue.remove(self);
  if (error == EPERM) return io_outcome::ready;  // a regular file: always ready
  if (error != 0) {
    throw std::system_error(error, std::system_category(),
                            "spindle::mn::io: epoll cannot watch descriptor " + std::to_string(fd));
  }
  if (waiting_.fetch_add(1, std::memory_order_seq_cst) == 0) io_wait_began();
  wait_reason why{readable ? "read" : "write", reinterpret_cast<const void*>(std::intptr_t{fd}),
                  nullptr};
  bool woken = l.park_until(held, self, deadline, &queue, why);
  waiting_.fetch_sub(1, std::memory_order_seq_cst);
  held = l.hold();
  if (w.closes != closes) return io_outcome::closed;
  return woken ? io_outcome::ready : io_outcome::timed_out;
}

void reactor::poll(clock::time_point deadline) noexcept {
  int timeout_ms = -1;
  if (deadline <= clock::now()) {
    timeout_ms = 0;
  } else if (deadline != clock::time_point::max()) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
    timeout_ms = left <= 0 ? 0 : (left > 1 << 30 ? 1 << 30 : static_cast<int>(left));
  }
  epoll_event events[64];
  int n = epoll_wait(epoll_, events, 64, timeout_ms);
  if (n <= 0) return;
  auto held = lot::instance().hold();
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == interrupt_key) {
      std::uint64_t count;
      [[maybe_unused]] ssize_t got = ::read(interrupt_fd_, &count, sizeof count);
      continue;
    }
    auto fd = static_cast<std::size_t>(events[i].data.u64);
    if (fd >= by_fd_.size() || !by_fd_[fd]) continue;
    waiters& w = *by_fd_[fd];
    ++ready_events_;
    std::uint32_t bits = events[i].events;
    if (bits & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) wake_queue(w.readers);
    if (bits & (EPOLLOUT | EPOLLHUP | EPOLLERR)) wake_queue(w.writers);
    if (!w.readers.empty() || !w.writers.empty()) arm(static_cast<int>(fd), w);
  }
}

void reactor::interrupt() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t put = ::write(interrupt_fd_, &one, sizeof one);
}

void reactor::forget(int fd) {
  auto held = lot::instance().hold();
  auto index = static_cast<std::size_t>(fd);
  if (fd < 0 || index >= by_fd_.size() || !by_fd_[index]) return;
  waiters& w = *by_fd_[index];
  ++w.closes;
  wake_queue(w.readers);
  wake_queue(w.writers);
  if (w.added) epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
  w.added = false;
}

}  // namespace spindle::mn::detail
