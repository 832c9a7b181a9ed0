// spindle/backend.hpp — the one API, written down once.
//
// Concept: what a threading backend offers. spindle::green (1:N, user-level threads on
// one kernel thread) and spindle::clone (1:1, one kernel task per thread) both provide a
// tag type `backend` that satisfies the concept spindle::backend below, so a program
// written as a template over that concept runs on either one:
//
//     template <spindle::backend B> int sum_in_threads() {
//       auto t = B::spawn([] { return 40; });
//       return t.join() + 2;
//     }
//     sum_in_threads<spindle::green::backend>();
//
// Explained in: docs/02-the-api.md. Read next: spindle/green.hpp.
//
// The contracts, in words (each backend's header repeats the ones specific to it):
//  - spawn(f, args...) starts a thread running f(args...) (decay-copied, as std::thread
//    does) and returns a move-only handle thread<R>, R being f's result type.
//  - join() waits for the thread to finish, returns its result or rethrows the exception
//    that escaped it. A handle must be joined or detached before it is destroyed;
//    destroying a joinable handle terminates the program with a message naming the
//    thread. join() on a handle that is not joinable (already joined, detached, moved
//    from, default-constructed) throws std::system_error(invalid_argument); a thread
//    joining itself throws std::system_error(resource_deadlock_would_occur).
//  - mutex, condition_variable, counting_semaphore, latch, barrier, once_flag/call_once
//    and channel<T> behave like their standard namesakes, plus the rules in
//    spindle/errors.hpp; a blocking call that can never return throws deadlock_error.
#pragma once

#include <chrono>
#include <compare>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace spindle {

// Which kind of stack a thread gets (docs/04-stacks.md). A guarded stack is a mapping
// of its own with an inaccessible guard page below it, so an overflow crashes at once
// with a report; it costs two memory mappings, and vm.max_map_count caps those. A pooled
// stack is carved, with many others, out of one large mapping: no mapping limit, but no
// guard either, so an overflow silently overwrites the neighbouring stack. Pooled is
// therefore opt-in. The clone backend always uses guarded stacks and ignores the choice.
enum class stack_kind : unsigned char {
  program_default,  // the program's choice (green::set_default_stack); guarded at start
  guarded,
  pooled,
};

// How to start a thread. Every field has a default; both backends accept all of them.
struct spawn_options {
  std::string_view name{};                         // shown in reports, traces and debuggers
  std::size_t stack_size = 0;                      // usable bytes; 0 picks the backend's default
  stack_kind stack = stack_kind::program_default;  // guarded or pooled, see stack_kind
  // Scheduling attributes, read by the green policies that rank or share threads
  // (docs/14-scheduling-policies.md); FIFO and random ignore them, and so does the clone
  // backend, whose threads the kernel schedules. Both backends check the ranges.
  int priority = 0;             // higher runs first; in [min_priority, max_priority]
  std::uint32_t tickets = 100;  // a share in proportion to others'; in [1, max_tickets]
};

inline constexpr int min_priority = -64;
inline constexpr int max_priority = 64;
inline constexpr std::uint32_t max_tickets = 1u << 20;

namespace detail {
// Throws std::invalid_argument, naming `who` (the spawn or set_ call), for a priority or
// a ticket count outside its range.
void check_priority(int priority, const char* who);
void check_tickets(std::uint32_t tickets, const char* who);
}  // namespace detail

// What a blocked thread waits on, for the deadlock report: "channel 0x55d0...".
// Objects built from a condition variable label it with their own name and address.
struct wait_label {
  const char* what = "condition_variable";
  const void* object = nullptr;
};

// A thread's identity. Tag keeps green and clone ids apart: they are different threads
// even when the numbers agree. The value 0 means "not a thread".
template <class Tag>
class basic_thread_id {
 public:
  constexpr basic_thread_id() noexcept = default;
  constexpr explicit basic_thread_id(std::uint64_t value) noexcept : value_(value) {}
  constexpr std::uint64_t value() const noexcept { return value_; }
  friend constexpr auto operator<=>(basic_thread_id, basic_thread_id) = default;
  friend std::ostream& operator<<(std::ostream& out, basic_thread_id id) {
    return out << id.value_;
  }

 private:
  std::uint64_t value_ = 0;
};

// The contract a backend satisfies; each backend checks itself with static_assert.
template <class B>
concept backend = requires {
  { B::name } -> std::convertible_to<std::string_view>;
  typename B::thread_id;
  typename B::mutex;
  typename B::condition_variable;
  typename B::once_flag;
  typename B::latch;
  typename B::template thread<int>;
  typename B::template channel<int>;
  typename B::template counting_semaphore<8>;
  typename B::template barrier<>;
  typename B::template local<int>;
}
&&std::default_initializable<typename B::mutex>&& requires(
    typename B::mutex& m, std::unique_lock<typename B::mutex>& lock,
    typename B::condition_variable& cv, std::chrono::milliseconds d) {
  m.lock();
  m.unlock();
  { m.try_lock() } -> std::same_as<bool>;
  cv.wait(lock);
  { cv.wait_for(lock, d) } -> std::same_as<std::cv_status>;
  cv.notify_one();
  cv.notify_all();
}
&&requires(int (*f)(int), typename B::template thread<int>& t, std::chrono::milliseconds d) {
  { B::spawn(f, 1) } -> std::same_as<typename B::template thread<int>>;
  { B::spawn(spawn_options{}, f, 1) } -> std::same_as<typename B::template thread<int>>;
  { t.join() } -> std::same_as<int>;
  t.detach();
  { t.joinable() } -> std::same_as<bool>;
  { t.get_id() } -> std::same_as<typename B::thread_id>;
  B::this_thread::yield();
  B::this_thread::sleep_for(d);
  B::this_thread::sleep_until(std::chrono::steady_clock::now());
  { B::this_thread::get_id() } -> std::same_as<typename B::thread_id>;
  { B::this_thread::name() } -> std::convertible_to<std::string_view>;
}
&&requires(int fd, char* buffer, std::size_t size, std::chrono::milliseconds d) {
  { B::io::read(fd, buffer, size) } -> std::same_as<std::size_t>;
  { B::io::write(fd, buffer, size) } -> std::same_as<std::size_t>;
  { B::io::recv(fd, buffer, size) } -> std::same_as<std::size_t>;
  { B::io::send(fd, buffer, size) } -> std::same_as<std::size_t>;
  { B::io::accept(fd) } -> std::same_as<int>;
  { B::io::wait_readable(fd, d) } -> std::same_as<bool>;
  { B::io::wait_writable(fd, d) } -> std::same_as<bool>;
  B::io::close(fd);
};

}  // namespace spindle

template <class Tag>
struct std::hash<spindle::basic_thread_id<Tag>> {
  std::size_t operator()(spindle::basic_thread_id<Tag> id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value());
  }
};
