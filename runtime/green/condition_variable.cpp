// runtime/green/condition_variable.cpp — the green condition variable: a wait queue.
// Explained in: docs/06-synchronisation.md (condition variable).
// Read next: spindle/channel.hpp (the primitives built on mutex and condition variable).
#include "spindle/green/condition_variable.hpp"

#include <cstdio>
#include <exception>
#include <system_error>

#include "home.hpp"
#include "scheduler.hpp"

namespace spindle::green {
namespace {

[[noreturn, gnu::cold, gnu::noinline]] void throw_not_owned() {
  throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                          "spindle::green::condition_variable::wait: the lock passed in "
                          "does not hold its mutex");
}

void require_owned(const std::unique_lock<mutex>& lock) {
  if (!lock.owns_lock()) [[unlikely]]
    throw_not_owned();
}

}  // namespace

condition_variable::~condition_variable() {
  if (!waiters_.empty()) {
    std::fprintf(stderr,
                 "spindle: a green condition_variable was destroyed while threads "
                 "were waiting on it. Terminating.\n");
    std::terminate();
  }
}

// One compare when the caller is at home. A condition variable made for one wait (a
// channel's receiver slot) is bound inline too, on the scheduler its maker runs on;
// the rest (no scheduler yet, another kernel thread) is out of line.
detail::scheduler& condition_variable::home_checked(const char* call) {
  detail::scheduler* s = detail::current_scheduler;
  if (home_ == s) [[likely]]
    return *s;
  if (home_ == &detail::no_home_yet && s) {
    home_ = s;
    return *s;
  }
  return enter_home(call);
}

// Names the label's object (a channel, a semaphore) when the check fails.
detail::scheduler& condition_variable::enter_home(const char* call) {
  return detail::enter_home(home_, {call, "condition_variable", this,
                                    label_.object ? label_.what : nullptr, label_.object});
}

void condition_variable::wait(std::unique_lock<mutex>& lock) {
  auto& s = home_checked("spindle::green::condition_variable::wait");
  require_owned(lock);
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
  auto& s = home_checked("spindle::green::condition_variable::wait_until");
  require_owned(lock);
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

// The check fails to a tail call, which checks again, so that the fast path keeps no
// frame to come back to.
void condition_variable::notify_one() {
  detail::scheduler* s = detail::current_scheduler;
  if (home_ != s) [[unlikely]]
    return notify_on_slow_path(false);
  if (detail::record* first = waiters_.front()) s->wake(first);
}

void condition_variable::notify_all() {
  detail::scheduler* s = detail::current_scheduler;
  if (home_ != s) [[unlikely]]
    return notify_on_slow_path(true);
  while (detail::record* first = waiters_.front()) s->wake(first);
}

void condition_variable::notify_on_slow_path(bool all) {
  home_checked(all ? "spindle::green::condition_variable::notify_all"
                   : "spindle::green::condition_variable::notify_one");
  all ? notify_all() : notify_one();
}

}  // namespace spindle::green
