// runtime/green/mutex.cpp — the green mutex: an owner and a wait queue.
// Explained in: docs/06-synchronisation.md (mutex). Read next:
// runtime/green/condition_variable.cpp.
#include "spindle/green/mutex.hpp"

#include <cassert>
#include <cstdio>
#include <exception>
#include <system_error>

#include "home.hpp"
#include "scheduler.hpp"

namespace spindle::green {

// Destroying a mutex that threads wait on would leave their queue links dangling.
mutex::~mutex() {
  if (!waiters_.empty()) {
    std::fprintf(stderr,
                 "spindle: a green mutex was destroyed while threads were waiting "
                 "for it. Terminating.\n");
    std::terminate();
  }
}

// `self` becomes the owner, counting it: the caller taking a free mutex, or unlock
// handing it to the first waiter.
void mutex::take(detail::record* self) noexcept {
  owner_ = self->id;
  ++self->mutexes_held;
}

std::uint64_t mutex::holder_id(const void* self) noexcept {
  return static_cast<const mutex*>(self)->owner_;
}

// The fast path takes a free mutex with one TLS load and no frame; everything else
// (the first lock, another kernel thread, held by the caller or another thread) is
// lock_on_slow_path. The home compare is also the test for a scheduler: home_ is never
// null, so a kernel thread without one (current_scheduler null) fails it.
void mutex::lock() {
  detail::scheduler* s = detail::current_scheduler;
  if (home_ == s && owner_ == 0) [[likely]] {
    take(s->running());
    return;
  }
  lock_on_slow_path();
}

void mutex::lock_on_slow_path() {
  auto& s = home_ == detail::current_scheduler
                ? *detail::current_scheduler
                : detail::enter_home(home_, {"spindle::green::mutex::lock", "mutex", this});
  detail::record* self = s.running();
  if (owner_ == 0) {
    take(self);
    return;
  }
  if (owner_ == self->id) {
    throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                            "spindle::green::mutex::lock: the calling thread already owns "
                            "this mutex (it is not recursive)");
  }
  s.park(&waiters_, {"mutex", this, nullptr, &mutex::holder_id});
  // unlock() made us the owner, and counted it, before waking us: no thread can barge in.
  assert(owner_ == self->id);
}

bool mutex::try_lock() {
  detail::scheduler* s = detail::current_scheduler;
  if (home_ != s) [[unlikely]]
    s = &detail::enter_home(home_, {"spindle::green::mutex::try_lock", "mutex", this});
  detail::record* self = s->running();
  if (owner_ != 0) return false;
  take(self);
  return true;
}

// A kernel thread without a scheduler has no green thread that could own the mutex, so
// unlock needs no scheduler made: the caller is then not the owner, and throws. Nor does
// it compare homes: an owner's id is a thread of the process that took it on its home.
void mutex::unlock() {
  detail::scheduler* s = detail::current_scheduler;
  if (!s || owner_ != s->running()->id) [[unlikely]]
    throw_not_owned();
  detail::record* self = s->running();
  --self->mutexes_held;
  detail::record* next = waiters_.front();
  if (!next) {
    owner_ = 0;
    return;
  }
  take(next);
  s->wake(next);
}

void mutex::throw_not_owned() const {
  if (home_ != &detail::no_home_yet && home_ != detail::current_scheduler)
    detail::throw_foreign_use({"spindle::green::mutex::unlock", "mutex", this}, home_);
  throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                          owner_ ? "spindle::green::mutex::unlock: the mutex is owned by "
                                   "another thread"
                                 : "spindle::green::mutex::unlock: the mutex is not locked");
}

}  // namespace spindle::green
