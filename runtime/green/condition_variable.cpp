// runtime/green/condition_variable.cpp — the green condition variable: a wait queue.
// Explained in: docs/06-synchronisation.md (condition variable).
// Read next: spindle/channel.hpp (the primitives built on mutex and condition variable).
#include "spindle/green/condition_variable.hpp"

#include <cstdio>
#include <exception>
#include <system_error>

#include "scheduler.hpp"

namespace spindle::green {
namespace {

void require_owned(const std::unique_lock<mutex>& lock) {
  if (!lock.owns_lock()) {
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            "spindle::green::condition_variable::wait: the lock passed in "
                            "does not hold its mutex");
  }
}

}  // namespace

condition_variable::~condition_variable() {
  if (!waiters_.empty()) {
    std::fprintf(stderr, "spindle: a green condition_variable was destroyed while threads "
                         "were waiting on it. Terminating.\n");
    std::terminate();
  }
}

void condition_variable::wait(std::unique_lock<mutex>& lock) {
  require_owned(lock);
  auto& s = detail::scheduler::here();
  // unlock() may wake a thread but never switches, so parking right after it cannot
  // miss a notify: no other green thread runs in between.
  lock.unlock();
  // On any failure the mutex is taken again before the exception leaves, as the
  // standard asks; should that too fail, its exception leaves and the lock owns nothing.
  try {
    s.park(&waiters_, {label_.what, label_.object ? label_.object : this, nullptr});
  } catch (...) {
    lock.lock();
    throw;
  }
  lock.lock();
}

std::cv_status condition_variable::wait_until(std::unique_lock<mutex>& lock,
                                              std::chrono::steady_clock::time_point deadline) {
  require_owned(lock);
  auto& s = detail::scheduler::here();
  lock.unlock();
  bool woken;
  try {
    woken = s.park_until(deadline, &waiters_,
                         {label_.what, label_.object ? label_.object : this, nullptr});
  } catch (...) {
    lock.lock();
    throw;
  }
  lock.lock();
  return woken ? std::cv_status::no_timeout : std::cv_status::timeout;
}

void condition_variable::notify_one() noexcept {
  if (detail::record* first = waiters_.front()) detail::scheduler::here().wake(first);
}

void condition_variable::notify_all() noexcept {
  auto& s = detail::scheduler::here();
  while (detail::record* first = waiters_.front()) s.wake(first);
}

}  // namespace spindle::green
