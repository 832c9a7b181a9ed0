// runtime/green/remote.cpp — the inbox, scheduler_handle and remote_event.
// Explained in: docs/08-reactor.md (the inbox) and docs/02-the-api.md.
// Read next: runtime/green/scheduler.cpp: scheduler::run, which drains the inbox.
#include "remote.hpp"

#include <sys/eventfd.h>
#include <unistd.h>
#include <valgrind/helgrind.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <system_error>

#include "home.hpp"
#include "scheduler.hpp"

namespace spindle::green::detail {

inbox::inbox(const scheduler& home) : home_(&home) {
  eventfd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (eventfd_ < 0) throw std::system_error(errno, std::system_category(), "spindle: eventfd");
}

inbox::~inbox() {
  close();
  ::close(eventfd_);
}

void inbox::wake() noexcept {
  int saved = errno;
  std::uint64_t one = 1;
  // EAGAIN (the counter is full) still leaves it readable: the wake-up is not lost.
  [[maybe_unused]] ssize_t written = ::write(eventfd_, &one, sizeof one);
  errno = saved;
}

// The release of the exchange publishes the node's contents to the drain's acquire.
// Only a push onto an empty list writes the eventfd: a non-empty list has been signalled
// already, and the drain that takes it comes after the poll that read the signal.
// ANNOTATE_HAPPENS_BEFORE and _AFTER tell helgrind and DRD about the ordering that the
// release and acquire make (they follow pthreads calls, not atomics); natively each is a
// few instructions that do nothing.
bool inbox::push(remote_item* item) noexcept {
  if (closed_.load(std::memory_order_acquire)) return false;
  remote_item* old = head_.load(std::memory_order_relaxed);
  do {
    item->next = old;
    ANNOTATE_HAPPENS_BEFORE(&head_);
  } while (!head_.compare_exchange_weak(old, item, std::memory_order_release,
                                        std::memory_order_relaxed));
  if (!old) wake();
  return true;
}

void inbox::drain() noexcept {
  if (!head_.load(std::memory_order_relaxed)) return;
  remote_item* newest = head_.exchange(nullptr, std::memory_order_acquire);
  ANNOTATE_HAPPENS_AFTER(&head_);
  remote_item* oldest = nullptr;
  while (newest) {  // reverse: the list is newest first
    remote_item* next = newest->next;
    newest->next = oldest;
    oldest = newest;
    newest = next;
  }
  while (oldest) {
    remote_item* next = oldest->next;  // run may free the node
    oldest->run(oldest, false);
    oldest = next;
  }
}

void inbox::close() noexcept {
  closed_.store(true, std::memory_order_release);
  remote_item* item = head_.exchange(nullptr, std::memory_order_acquire);
  ANNOTATE_HAPPENS_AFTER(&head_);
  while (item) {
    remote_item* next = item->next;
    item->run(item, true);
    item = next;
  }
}

void inbox::close_end() noexcept {
  if (open_ends_.fetch_sub(1, std::memory_order_acq_rel) == 1) wake();
}

bool push_remote(inbox& box, remote_item* item) noexcept { return box.push(item); }
void open_end(inbox& box) noexcept { box.open_end(); }
void close_end(inbox& box) noexcept { box.close_end(); }

std::shared_ptr<inbox> inbox_here() { return scheduler::here().remote_inbox(); }

}  // namespace spindle::green::detail

namespace spindle::green {

scheduler_handle::scheduler_handle(std::shared_ptr<detail::inbox> box) noexcept
    : box_(std::move(box)) {
  box_->open_end();
}

scheduler_handle::scheduler_handle(const scheduler_handle& other) noexcept : box_(other.box_) {
  box_->open_end();
}

scheduler_handle& scheduler_handle::operator=(const scheduler_handle& other) noexcept {
  other.box_->open_end();
  box_->close_end();
  box_ = other.box_;
  return *this;
}

scheduler_handle::~scheduler_handle() { box_->close_end(); }

scheduler_handle this_scheduler() { return scheduler_handle(detail::inbox_here()); }

remote_event::remote_event() : box_(detail::inbox_here()), home_(box_->home()) {
  node_.event = this;
  node_.run = &remote_event::drained;
  box_->open_end();
}

// A notification still in the inbox points at this event: drain it first, which only a
// thread of the home can do.
remote_event::~remote_event() {
  if (!waiters_.empty()) {
    std::fprintf(stderr,
                 "spindle: a remote_event was destroyed while green threads were "
                 "waiting on it. Terminating.\n");
    std::terminate();
  }
  if (queued_.load(std::memory_order_acquire)) {
    if (home_ != detail::current_scheduler) {
      std::fprintf(stderr,
                   "spindle: a remote_event was destroyed away from its home kernel "
                   "thread while a notification was in flight. Terminating.\n");
      std::terminate();
    }
    box_->drain();
  }
  box_->close_end();
}

// Sequentially consistent with drained's store: a notify that finds the node queued
// adds to the count before that drain clears queued_ and wakes the waiters, which then
// read the count; one that finds it not queued pushes it again.
void remote_event::notify() noexcept {
  count_.fetch_add(1, std::memory_order_seq_cst);
  if (!queued_.exchange(true, std::memory_order_seq_cst)) {
    ANNOTATE_HAPPENS_AFTER(&queued_);  // the last drain has finished with the node
    if (!box_->push(&node_)) queued_.store(false, std::memory_order_relaxed);
  }
}

void remote_event::drained(detail::remote_item* self, bool discard) noexcept {
  remote_event* event = static_cast<node*>(self)->event;
  ANNOTATE_HAPPENS_BEFORE(&event->queued_);
  event->queued_.store(false, std::memory_order_seq_cst);
  if (discard) return;
  auto& s = *detail::current_scheduler;
  while (detail::record* first = event->waiters_.front()) s.wake(first);
}

namespace {

detail::scheduler& at_home(const void* home, const remote_event* event, const char* call) {
  if (home != detail::current_scheduler) [[unlikely]]
    detail::throw_foreign_use({call, "remote_event", event}, home);
  return *detail::current_scheduler;
}

}  // namespace

// The green threads of one kernel thread check and park with nothing in between, and the
// drain that wakes them runs on that kernel thread too: no notify is missed.
std::uint64_t remote_event::wait() {
  auto& s = at_home(home_, this, "spindle::green::remote_event::wait");
  for (;;) {
    if (std::uint64_t n = count_.exchange(0, std::memory_order_seq_cst)) return n;
    s.park(&waiters_, {"remote_event", this, nullptr});
  }
}

std::uint64_t remote_event::wait_until(std::chrono::steady_clock::time_point deadline) {
  auto& s = at_home(home_, this, "spindle::green::remote_event::wait_until");
  for (;;) {
    if (std::uint64_t n = count_.exchange(0, std::memory_order_seq_cst)) return n;
    if (!s.park_until(deadline, &waiters_, {"remote_event", this, nullptr}))
      return count_.exchange(0, std::memory_order_seq_cst);
  }
}

}  // namespace spindle::green
