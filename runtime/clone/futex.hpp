// runtime/clone/futex.hpp — the futex: the kernel's wait queue keyed by a 32-bit word.
//
// Concept: a thread that must wait for a word to change asks the kernel to put it to
// sleep only if the word still holds the value it last saw (the expected value); a
// thread that changes the word then wakes the sleepers. The check-and-sleep is atomic in
// the kernel, which is what prevents the lost wake-up. A private futex is keyed by
// (process, address) and is cheaper; a shared futex is keyed by the memory object, and
// it is the only kind the kernel itself uses: the wake that CLONE_CHILD_CLEARTID sends
// when a thread exits is a shared wake, which a private waiter never receives.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/glibc_abi.hpp.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <concepts>
#include <cstdint>
#include <ctime>

namespace spindle::clone::detail::futex {

// A futex word is any 32-bit integer that every thread reads and writes atomically.
template <class T>
concept word_value = std::integral<T> && sizeof(T) == 4;

// Makes the futex system call on `word`. Returns 0 or the errno value of the failure.
// Callers use the named wrappers below.
template <word_value T>
int call(const std::atomic<T>& word, int op, T value, const timespec* timeout) noexcept {
  static_assert(sizeof(std::atomic<T>) == 4 && std::atomic<T>::is_always_lock_free);
  int saved = errno;
  long r = syscall(SYS_futex, &word, op, static_cast<std::uint32_t>(value), timeout, nullptr, 0);
  int result = r < 0 ? errno : static_cast<int>(r);
  errno = saved;
  return result;
}

// Sleeps while `word` holds `expected`, for at most `timeout` (relative, monotonic) when
// it is not null. Callable from any thread of this process, including signal handlers.
// Returns 0 when woken (or spuriously), EAGAIN when the word already differed, EINTR
// when a signal handler ran, ETIMEDOUT when the timeout passed. Callers re-check the
// word in a loop: a return says nothing certain about the word's value.
template <word_value T>
int wait_private(const std::atomic<T>& word, T expected,
                 const timespec* timeout = nullptr) noexcept {
  return call(word, FUTEX_WAIT_PRIVATE, expected, timeout);
}

// As wait_private, but keyed so that wakes from other processes sharing the memory,
// and from the kernel's CLONE_CHILD_CLEARTID at thread exit, reach this waiter.
template <word_value T>
int wait_shared(const std::atomic<T>& word, T expected,
                const timespec* timeout = nullptr) noexcept {
  return call(word, FUTEX_WAIT, expected, timeout);
}

// Sleeps while `own` holds `own_expected` and `shared` holds `shared_expected`: a
// private wake of `own` or a shared wake of `shared` (such as the kernel's at a thread's
// exit, on its tid word) ends the sleep, with one system call (futex_waitv, Linux 5.16).
// Returns as wait_private, or ENOSYS where the call is unknown: older kernels, and
// valgrind 3.19, which answers ENOSYS itself and prints a warning (so ask
// kernel_thread.hpp: exit_or_word_wait_available first).
template <word_value A, word_value B>
int wait_either(const std::atomic<A>& own, A own_expected, const std::atomic<B>& shared,
                B shared_expected) noexcept {
#ifdef SYS_futex_waitv
  static_assert(sizeof(std::atomic<A>) == 4 && sizeof(std::atomic<B>) == 4);
  // FUTEX_32: a 32-bit word (named FUTEX2_SIZE_U32 in newer headers, which keep this name).
  futex_waitv words[2] = {
      {static_cast<std::uint32_t>(own_expected), reinterpret_cast<std::uintptr_t>(&own),
       FUTEX_32 | FUTEX_PRIVATE_FLAG, 0},
      {static_cast<std::uint32_t>(shared_expected), reinterpret_cast<std::uintptr_t>(&shared),
       FUTEX_32, 0},
  };
  int saved = errno;
  long r = syscall(SYS_futex_waitv, words, 2, 0, nullptr, 0);
  int result = r < 0 ? errno : 0;
  errno = saved;
  return result;
#else
  (void)own, (void)own_expected, (void)shared, (void)shared_expected;
  return ENOSYS;
#endif
}

// Wakes up to `count` threads sleeping in wait_private on `word`; returns how many woke.
// The caller changes the word before waking, never after (else the wake can be lost).
template <word_value T>
int wake_private(const std::atomic<T>& word, int count = INT_MAX) noexcept {
  return call(word, FUTEX_WAKE_PRIVATE, static_cast<T>(count), nullptr);
}

// As wake_private, for threads sleeping in wait_shared.
template <word_value T>
int wake_shared(const std::atomic<T>& word, int count = INT_MAX) noexcept {
  return call(word, FUTEX_WAKE, static_cast<T>(count), nullptr);
}

// Releases a three-state lock (stores 0 into `lock_word`, which held 1 or 2) and wakes
// up to one thread sleeping in wait_private on `word`, in one system call
// (FUTEX_WAKE_OP); if `lock_word` held 2, also wakes one of its sleepers. The caller
// holds the lock until the kernel stores the 0, so whatever the lock keeps alive, such
// as the memory of `word`, is alive when the kernel reads that address; the kernel then
// wakes under its own lock of the wait queue, where no new sleeper can join meanwhile.
// Returns the number of threads woken, or the errno value of the failure.
inline int wake_and_release_private(const std::atomic<std::uint32_t>& word,
                                    std::atomic<std::uint32_t>& lock_word) noexcept {
  constexpr std::uintptr_t also_wake_one_lock_sleeper = 1;  // passed as the timeout argument
  constexpr unsigned set_0_then_wake_if_above_1 = FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GT, 1);
  int saved = errno;
  long r = syscall(SYS_futex, &word, FUTEX_WAKE_OP_PRIVATE, 1, also_wake_one_lock_sleeper,
                   &lock_word, set_0_then_wake_if_above_1);
  int result = r < 0 ? errno : static_cast<int>(r);
  errno = saved;
  return result;
}

}  // namespace spindle::clone::detail::futex
