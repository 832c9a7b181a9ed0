// spindle/select.hpp — waiting on several channel operations at once.
//
// Concept: select(cases...) performs exactly one of its cases, each a send or a receive
// on some channel, and says which: the first that can go, or, if several can, one
// chosen uniformly at random (fair: no ready case is starved by its position). With no
// case ready, try_select returns at once (the "default" of Go's select), select_for and
// select_until wait until a deadline, and select waits for ever.
//
//     spindle::green::channel<int> numbers;
//     spindle::green::channel<bool> quit;
//     auto number = spindle::receive_from(numbers);
//     switch (spindle::select_for(100ms, number, spindle::receive_from(quit)).index) {
//       case 0: use(*number.value); break;   // a number came
//       case 1: return;                      // quit was closed or sent to
//       default: break;                      // select_result::none: 100 ms passed
//     }
//
// The algorithm is Go's selectgo: lock every case's channel in one fixed order (by
// address), try the cases in a random order, and if none can go, queue a waiter on each
// channel, all sharing one `selection`, unlock, and park; the first counterpart to
// decide the selection wins, and the select, woken, locks the other cases' channels
// again and takes its other waiters back (not the winner's: its counterpart may have
// destroyed that channel as soon as its own call returned). Written once over a backend's mutex and
// condition variable. Explained in: docs/06-synchronisation.md (select). Read next:
// spindle/semaphore.hpp.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

#include "spindle/channel.hpp"
#include "spindle/detail/channel_waiter.hpp"
#include "spindle/detail/choice.hpp"
#include "spindle/detail/timed_waits.hpp"

namespace spindle {

// Which case a select performed, and how. `index` is the case's position among the
// arguments, or none when no case went (try_select found none ready, or the deadline
// passed: status timeout; a stop was requested on the select's std::stop_token: status
// stopped). status: ok, or closed (a receive on a closed and drained
// channel, or a send on a closed channel: select never throws channel_closed).
struct select_result {
  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::size_t index = none;
  channel_status status = channel_status::timeout;
};

// A receive case: `value` holds the value when the case won with ok, and is empty
// otherwise (each select empties it first, so a case may be declared once, outside a loop).
template <class T, class Sync>
class receive_case {
 public:
  using sync = Sync;
  explicit receive_case(basic_channel<T, Sync>& channel) : channel_(channel) {}
  std::optional<T> value;

  // For select; each but prepare needs the channel's mutex held.
  void prepare() noexcept { value.reset(); }  // a case reused: no value from before
  typename Sync::mutex& mutex() const noexcept { return channel_.mutex_; }
  std::optional<channel_status> attempt() {
    channel_status now = channel_.receive_now(value);
    if (now == channel_status::timeout) return std::nullopt;
    return now;
  }
  void enqueue(detail::selection<Sync>& selection, std::size_t index) {
    waiter_.destination = &value;
    waiter_.select = &selection;
    waiter_.index = index;
    channel_.receivers_.push_back(&waiter_);
  }
  void withdraw() noexcept { channel_.withdraw(channel_.receivers_, &waiter_); }
  // The case won but its select leaves with an exception: the value goes back.
  void undo() {
    if (value) channel_.give_back(std::move(*value));
    value.reset();
  }

 private:
  basic_channel<T, Sync>& channel_;
  detail::channel_waiter<T, Sync> waiter_{"channel (select receive)", &channel_};
};

// A send case: `value` is moved from only when the case won with ok; a send case that won
// is spent (its value moved out), one that lost may be passed to the next select.
template <class T, class Sync>
class send_case {
 public:
  using sync = Sync;
  send_case(basic_channel<T, Sync>& channel, T value)
      : value(std::move(value)), channel_(channel) {}
  T value;

  // For select; each but prepare needs the channel's mutex held.
  void prepare() noexcept {}
  typename Sync::mutex& mutex() const noexcept { return channel_.mutex_; }
  std::optional<channel_status> attempt() {
    channel_status now = channel_.send_now(value);
    if (now == channel_status::timeout) return std::nullopt;
    return now;
  }
  void enqueue(detail::selection<Sync>& selection, std::size_t index) {
    waiter_.source = &value;
    waiter_.select = &selection;
    waiter_.index = index;
    channel_.senders_.push_back(&waiter_);
  }
  void withdraw() noexcept { channel_.withdraw(channel_.senders_, &waiter_); }
  void undo() noexcept {}  // a value sent is the receiver's now

 private:
  basic_channel<T, Sync>& channel_;
  detail::channel_waiter<T, Sync> waiter_{"channel (select send)", &channel_};
};

template <class T, class Sync>
receive_case<T, Sync> receive_from(basic_channel<T, Sync>& channel) {
  return receive_case<T, Sync>(channel);
}
template <class T, class Sync, class U>
send_case<T, Sync> send_to(basic_channel<T, Sync>& channel, U&& value) {
  return send_case<T, Sync>(channel, T(std::forward<U>(value)));
}

namespace detail {

// The mutexes of a select's channels, each once, locked in address order: the one fixed
// order every select agrees on, so two selects over the same channels cannot deadlock.
template <class Mutex, std::size_t N>
class channel_locks {
 public:
  explicit channel_locks(std::array<Mutex*, N> mutexes) : mutexes_(mutexes) {
    std::sort(mutexes_.begin(), mutexes_.end(), std::less<Mutex*>());
    distinct_ =
        static_cast<std::size_t>(std::unique(mutexes_.begin(), mutexes_.end()) - mutexes_.begin());
    lock();
  }
  channel_locks(const channel_locks&) = delete;
  channel_locks& operator=(const channel_locks&) = delete;
  ~channel_locks() { unlock(); }

  // Locks every mutex but `skip` (none if null): the channel a counterpart completed the
  // select on, which it may have destroyed since. If a lock throws (deadlock_error),
  // those taken are released before it leaves.
  void lock(const Mutex* skip = nullptr) {
    skipped_ = skip;
    for (; held_ < distinct_; ++held_) {
      if (mutexes_[held_] != skipped_) mutexes_[held_]->lock();
    }
  }
  void unlock() noexcept {
    for (; held_ > 0; --held_) {
      if (mutexes_[held_ - 1] != skipped_) mutexes_[held_ - 1]->unlock();
    }
  }

 private:
  std::array<Mutex*, N> mutexes_;
  std::size_t distinct_ = 0;
  std::size_t held_ = 0;  // mutexes_[0, held_) are locked, but for skipped_
  const Mutex* skipped_ = nullptr;
};

// Calls f on the case at position `index`.
template <class F, class... Cases>
void on_case(std::size_t index, F&& f, Cases&... cases) {
  std::size_t position = 0;
  ((position++ == index ? f(cases) : void()), ...);
}

// Positions 0..N-1 in a uniformly random order (Fisher-Yates), from detail::choice.
template <std::size_t N>
std::array<std::size_t, N> random_order() {
  std::array<std::size_t, N> order;
  for (std::size_t i = 0; i < N; ++i) order[i] = i;
  for (std::size_t i = N; i > 1; --i) std::swap(order[i - 1], order[choose_below(i)]);
  return order;
}

// After the wait: takes back the waiters of the cases that did not go, and says what
// happened. The counterpart that decided took the winner's waiter out of its queue first,
// and is done with that channel, which may be gone by now (as after a plain call's
// hand-off, spindle/detail/channel_waiter.hpp): so its mutex is taken again only if
// another case is on the same channel.
template <class Sync, class Locks, class Mutexes, class... Cases>
select_result take_back(const selection<Sync>& decision, Locks& locks, const Mutexes& mutexes,
                        const std::stop_token* token, Cases&... cases) {
  std::size_t winner = decision.winner();
  if (winner == selection<Sync>::expired) {
    locks.lock();
    (cases.withdraw(), ...);
    bool stopped = token && token->stop_requested();
    return {select_result::none, stopped ? channel_status::stopped : channel_status::timeout};
  }
  auto* won_on = mutexes[winner];
  bool shared = std::count(mutexes.begin(), mutexes.end(), won_on) > 1;
  locks.lock(shared ? nullptr : won_on);
  std::size_t position = 0;
  ((position++ != winner ? cases.withdraw() : void()), ...);
  return {winner, decision.status()};
}

// Every select: with the channels locked, the first case in a random order that can go
// goes (so each ready case is equally likely); if none can, and the caller may wait,
// waits as the file comment says. `deadline` empty: for ever. `token` (if not null): a
// stop requested on it ends the wait (status stopped), and one requested already ends
// the select at once if no case is ready.
template <class Sync, class... Cases>
select_result select_on(bool may_wait, const std::optional<steady_time>& deadline,
                        const std::stop_token* token, Cases&... cases) {
  constexpr std::size_t n = sizeof...(Cases);
  (cases.prepare(), ...);
  const std::array<typename Sync::mutex*, n> mutexes{&cases.mutex()...};
  channel_locks<typename Sync::mutex, n> locks(mutexes);
  for (std::size_t i : random_order<n>()) {
    std::optional<channel_status> now;
    on_case(
        i, [&](auto& c) { now = c.attempt(); }, cases...);
    if (now) return {i, *now};
  }
  if (token && token->stop_requested()) return {select_result::none, channel_status::stopped};
  if (!may_wait || (deadline && *deadline <= std::chrono::steady_clock::now())) return {};
  selection<Sync> decision;
  std::size_t position = 0;
  (cases.enqueue(decision, position++), ...);
  locks.unlock();
  try {
    decision.wait(deadline, token);
  } catch (...) {
    locks.lock();
    (cases.withdraw(), ...);
    on_case(
        decision.winner(), [](auto& c) { c.undo(); }, cases...);
    throw;
  }
  return take_back(decision, locks, mutexes, token, cases...);
}

// What select's overloads accept as a case: receive_from's and send_to's answers.
template <class C>
concept select_case = requires {
  typename std::remove_cvref_t<C>::sync;
};

template <class... Cases>
using sync_of = typename std::remove_cvref_t<std::tuple_element_t<0, std::tuple<Cases...>>>::sync;

template <class... Cases>
constexpr bool one_backend =
    (std::is_same_v<typename std::remove_cvref_t<Cases>::sync, sync_of<Cases...>> && ...);

template <class... Cases>
concept select_cases = sizeof...(Cases) > 0 && (select_case<Cases> && ...) && one_backend<Cases...>;

}  // namespace detail

// Performs one ready case, waiting for ever if none is ready yet.
template <class... Cases>
requires detail::select_cases<Cases...> select_result select(Cases&&... cases) {
  return detail::select_on<detail::sync_of<Cases...>>(true, std::nullopt, nullptr, cases...);
}

// Performs one ready case, or none (index none, status timeout): Go's select with default.
template <class... Cases>
requires detail::select_cases<Cases...> select_result try_select(Cases&&... cases) {
  return detail::select_on<detail::sync_of<Cases...>>(false, std::nullopt, nullptr, cases...);
}

// Performs one case, waiting at most `d` / until `deadline` (any clock). A case that is
// ready at the call goes even if the deadline has passed.
template <class Rep, class Period, class... Cases>
requires detail::select_cases<Cases...> select_result
select_for(std::chrono::duration<Rep, Period> d, Cases&&... cases) {
  return detail::select_on<detail::sync_of<Cases...>>(true, detail::steady_after(d), nullptr,
                                                      cases...);
}
template <class Clock, class Duration, class... Cases>
requires detail::select_cases<Cases...> select_result
select_until(std::chrono::time_point<Clock, Duration> deadline, Cases&&... cases) {
  return detail::select_on<detail::sync_of<Cases...>>(true, detail::to_steady(deadline), nullptr,
                                                      cases...);
}

// The same with a std::stop_token (spindle/stop.hpp): a stop requested before a case
// goes ends the select with index none and status stopped. A case that is ready goes even
// if the stop was requested before the call, as a deadline already past.
template <class... Cases>
requires detail::select_cases<Cases...> select_result select(std::stop_token token,
                                                             Cases&&... cases) {
  return detail::select_on<detail::sync_of<Cases...>>(true, std::nullopt, &token, cases...);
}
template <class Rep, class Period, class... Cases>
requires detail::select_cases<Cases...> select_result
select_for(std::chrono::duration<Rep, Period> d, std::stop_token token, Cases&&... cases) {
  return detail::select_on<detail::sync_of<Cases...>>(true, detail::steady_after(d), &token,
                                                      cases...);
}
template <class Clock, class Duration, class... Cases>
requires detail::select_cases<Cases...> select_result select_until(
    std::chrono::time_point<Clock, Duration> deadline, std::stop_token token, Cases&&... cases) {
  return detail::select_on<detail::sync_of<Cases...>>(true, detail::to_steady(deadline), &token,
                                                      cases...);
}

}  // namespace spindle
