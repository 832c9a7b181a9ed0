// spindle/detail/task.hpp — a thread's function, its arguments, and where its result goes.
//
// Concept: both backends keep, per thread, a record (Base) that the runtime manages; a
// task extends it with the user's function and arguments, and a result_record<R> with
// the slot that join() reads: the value returned, or the exception that escaped (kept in
// Base::error, where the runtime finds it when nobody will join: a detached thread).
// Explained in: docs/02-the-api.md (the handle: join and detach).
// Read next: spindle/detail/thread_handle.hpp.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

namespace spindle::detail {

template <class Base, class R>
struct result_record : Base {
  using stored = std::conditional_t<std::is_reference_v<R>,
                                    std::reference_wrapper<std::remove_reference_t<R>>, R>;
  std::optional<stored> result;

  R take() {
    if (this->error) std::rethrow_exception(this->error);
    if (!result) {
      throw std::logic_error(
          "spindle: the thread left no result: it never ran in this process (it stayed "
          "behind in the parent of a fork)");
    }
    return static_cast<R>(std::move(*result));
  }
};

template <class Base>
struct result_record<Base, void> : Base {
  void take() {
    if (this->error) std::rethrow_exception(this->error);
  }
};

// Base must declare `virtual void run() noexcept` and `std::exception_ptr error`.
// The function and its arguments are destroyed at the end of run(), on the thread
// itself, as std::thread does: their destructors see the thread's own identity.
template <class Base, class R, class F, class... Args>
struct task final : result_record<Base, R> {
  template <class G, class... A>
  explicit task(G&& f, A&&... args)
      : call(std::in_place, std::forward<G>(f), std::forward<A>(args)...) {}

  void run() noexcept override {
    try {
      auto invoke = [](F&& fn, Args&&... args) -> R {
        return std::invoke(std::move(fn), std::move(args)...);
      };
      if constexpr (std::is_void_v<R>) {
        std::apply(invoke, std::move(*call));
      } else {
        this->result.emplace(std::apply(invoke, std::move(*call)));
      }
    } catch (...) {
      this->error = std::current_exception();
    }
    call.reset();
  }

  std::optional<std::tuple<F, Args...>> call;  // emptied once run() is done with it
};

}  // namespace spindle::detail
