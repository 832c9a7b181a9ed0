// spindle/detail/thread_handle.hpp — the handle spawn returns, written once.
//
// Concept: a move-only owner of one thread, like std::thread, whose join() also returns
// the thread's result or rethrows its exception. What join, detach and destruction do
// underneath is the backend's (Ops); the rules and the error messages are shared, so
// both backends report misuse identically.
// Explained in: docs/02-the-api.md. Read next: runtime/green/thread.cpp.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "spindle/detail/task.hpp"
#include "spindle/errors.hpp"

namespace spindle::detail {

// Ops supplies: `record`, `thread_id`, `static constexpr const char* handle_name`, and
// static wait_for_finish(record*), reap(record*), detach(record*), abandon(const record*).
template <class R, class Ops>
class thread_handle {
  using record = typename Ops::record;
  using result = result_record<record, R>;

 public:
  thread_handle() noexcept = default;
  explicit thread_handle(result* r) noexcept : record_(r) {}
  thread_handle(thread_handle&& other) noexcept
      : record_(std::exchange(other.record_, nullptr)),
        after_(std::exchange(other.after_, why_not::moved_from)) {}
  thread_handle& operator=(thread_handle&& other) noexcept {
    if (this != &other) {
      if (record_) Ops::abandon(record_);
      record_ = std::exchange(other.record_, nullptr);
      after_ = std::exchange(other.after_, why_not::moved_from);
    }
    return *this;
  }
  // A joinable handle must not be destroyed: terminates with a message, as std::thread.
  ~thread_handle() {
    if (record_) Ops::abandon(record_);
  }

  bool joinable() const noexcept { return record_ != nullptr; }

  // Waits for the thread to finish; returns its result or rethrows its exception.
  // Throws std::system_error: invalid_argument when not joinable,
  // resource_deadlock_would_occur when called by the thread itself. Throws
  // spindle::deadlock_error when the thread can never finish; the handle then gives the
  // thread up (as detach() would), so unwinding past it does not terminate the program.
  R join() {
    if (!record_) throw_not_joinable("join");
    try {
      Ops::wait_for_finish(record_);
    } catch (const deadlock_error&) {
      detach();
      throw;
    }
    result* done = std::exchange(record_, nullptr);
    after_ = why_not::joined;
    struct reaper {
      result* r;
      ~reaper() { Ops::reap(r); }
    } free_after_take{done};
    return done->take();
  }

  // Lets the thread run on without a handle; the runtime frees it when it finishes.
  void detach() {
    if (!record_) throw_not_joinable("detach");
    Ops::detach(std::exchange(record_, nullptr));
    after_ = why_not::detached;
  }

  typename Ops::thread_id get_id() const noexcept {
    return typename Ops::thread_id{record_ ? record_->id : 0};
  }
  std::string_view name() const noexcept {
    return record_ ? std::string_view{record_->name} : std::string_view{};
  }

 private:
  enum class why_not { never_started, moved_from, joined, detached };

  [[noreturn]] void throw_not_joinable(const char* verb) const {
    static constexpr const char* reasons[] = {"it was default-constructed and names no thread",
                                              "it was moved from", "the thread was already joined",
                                              "the thread was detached"};
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            std::string(Ops::handle_name) + "::" + verb +
                                ": handle is not joinable: " + reasons[static_cast<int>(after_)]);
  }

  result* record_ = nullptr;
  why_not after_ = why_not::never_started;
};

}  // namespace spindle::detail
