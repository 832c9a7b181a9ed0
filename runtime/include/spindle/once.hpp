// spindle/once.hpp — run a function exactly once, however many threads ask.
//
// Concept: the first caller runs the function while later callers block; if it
// throws, the flag stays unset and the next caller tries. Same contract as
// std::call_once, written once over a backend's mutex and condition variable.
// Explained in: docs/06-synchronisation.md (once). Read next: spindle/green.hpp.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <system_error>
#include <utility>

#include "spindle/backend.hpp"

namespace spindle {

template <class Sync>
class basic_once_flag {
 public:
  basic_once_flag() = default;
  basic_once_flag(const basic_once_flag&) = delete;
  basic_once_flag& operator=(const basic_once_flag&) = delete;

  // Runs f(args...) unless a call through this flag has already returned normally.
  // A call made from inside f on the same flag throws std::system_error
  // (resource_deadlock_would_occur) instead of waiting for itself forever.
  template <class F, class... Args>
  void call_once(F&& f, Args&&... args) {
    if (done_.load(std::memory_order_acquire)) return;
    std::unique_lock lock(mutex_);
    auto self = Sync::current_thread();
    if (running_ && runner_ == self) {
      throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                              "spindle::call_once: called again from inside its own function");
    }
    finished_.wait(lock, [&] { return !running_; });
    if (done_.load(std::memory_order_relaxed)) return;
    running_ = true;
    runner_ = self;
    lock.unlock();
    try {
      std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
    } catch (...) {
      finish(false);
      throw;
    }
    finish(true);
  }

 private:
  void finish(bool done) {
    std::lock_guard lock(mutex_);
    running_ = false;
    done_.store(done, std::memory_order_release);
    finished_.notify_all();
  }

  std::atomic<bool> done_{false};  // set once f returned; read without the mutex
  typename Sync::mutex mutex_;
  typename Sync::condition_variable finished_{wait_label{"once_flag", this}};
  bool running_ = false;               // guarded by mutex_
  typename Sync::thread_id runner_{};  // guarded by mutex_
};

template <class Sync, class F, class... Args>
void call_once(basic_once_flag<Sync>& flag, F&& f, Args&&... args) {
  flag.call_once(std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace spindle
