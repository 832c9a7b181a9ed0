// spindle/detail/task.hpp — a thread's function, its arguments, and where its result goes.
//
// Concept: both backends keep, per thread, a record (Base) that the runtime manages; a
// task extends it with the user's function and arguments, and a result_record<R> with
// the slot that join() reads: the value returned, or the exception that escaped.
// Explained in: docs/01-the-api.md (join returns or rethrows).
// Read next: spindle/detail/thread_handle.hpp.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace spindle::detail {

template <class Base, class R>
struct result_record : Base {
  using stored = std::conditional_t<std::is_reference_v<R>,
                                    std::reference_wrapper<std::remove_reference_t<R>>, R>;
  std::optional<stored> result;
  std::exception_ptr error;

  R take() {
    if (error) std::rethrow_exception(error);
    return static_cast<R>(std::move(*result));
  }
};

template <class Base>
struct result_record<Base, void> : Base {
  std::exception_ptr error;

  void take() {
    if (error) std::rethrow_exception(error);
  }
};

// Base must declare `virtual void run() noexcept`.
template <class Base, class R, class F, class... Args>
struct task final : result_record<Base, R> {
  template <class G, class... A>
  explicit task(G&& f, A&&... args)
      : fn(std::forward<G>(f)), arguments(std::forward<A>(args)...) {}

  void run() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        std::apply(std::move(fn), std::move(arguments));
      } else {
        this->result.emplace(std::apply(std::move(fn), std::move(arguments)));
      }
    } catch (...) {
      this->error = std::current_exception();
    }
  }

  F fn;
  std::tuple<Args...> arguments;
};

}  // namespace spindle::detail
