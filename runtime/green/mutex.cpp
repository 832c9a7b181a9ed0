// runtime/green/mutex.cpp — the green mutex: an owner and a wait queue.
// Explained in: docs/06-synchronisation.md (mutex). Read next: runtime/green/condition_variable.cpp.
#include "spindle/green/mutex.hpp"

#include <cassert>
#include <cstdio>
#include <exception>
#include <system_error>

#include "scheduler.hpp"

namespace spindle::green {

// Destroying a mutex that threads wait on would leave their queue links dangling.
mutex::~mutex() {
  if (!waiters_.empty()) {
    std::fprintf(stderr, "spindle: a green mutex was destroyed while threads were waiting "
                         "for it. Terminating.\n");
    std::terminate();
  }
}

void mutex::lock() {
  auto& s = detail::scheduler::here();
  detail::record* self = s.running();
  if (owner_ == nullptr) {
    owner_ = self;
    return;
  }
  if (owner_ == self) {
    throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                            "spindle::green::mutex::lock: the calling thread already owns "
                            "this mutex (it is not recursive)");
  }
  s.park(&waiters_, {"mutex", this, owner_});
  // unlock() made us the owner before waking us: no other thread can barge in.
  assert(owner_ == self);
}

bool mutex::try_lock() {
  detail::record* self = detail::running();
  if (owner_ != nullptr) return false;
  owner_ = self;
  return true;
}

void mutex::unlock() {
  auto& s = detail::scheduler::here();
  if (owner_ != s.running()) {
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            owner_ ? "spindle::green::mutex::unlock: the mutex is owned by "
                                     "another thread"
                                   : "spindle::green::mutex::unlock: the mutex is not locked");
  }
  owner_ = waiters_.front();
  if (owner_) s.wake(owner_);
}

}  // namespace spindle::green
