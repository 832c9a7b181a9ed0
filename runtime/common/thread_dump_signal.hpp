// runtime/common/thread_dump_signal.hpp — the signal that asks for a thread dump.
//
// Concept: a signal handler may interrupt the runtime anywhere, in the middle of a
// switch or with the parking lot's lock held, so it must not read the thread records.
// It only counts the request (and, for the clone and M:N backends, writes a byte to a pipe of
// each). Each green scheduler compares the count with the requests it answered, once per round of
// its loop, and prints its own dump there; a kernel thread of its own, blocked on the
// pipe, prints the clone threads' (runtime/clone/diagnostics.cpp).
// Explained in: docs/13-debugging.md. Read next: runtime/green/diagnostics.cpp.
#pragma once

#include <atomic>
#include <cstdint>

namespace spindle::detail {

// Requests made so far by the signal (spindle::enable_thread_dump_signal).
extern std::atomic<std::uint64_t> thread_dump_request_count;
inline std::uint64_t thread_dump_requests() noexcept {
  return thread_dump_request_count.load(std::memory_order_relaxed);
}

// Installs the handler for `signo` (see enable_thread_dump_signal); with `pipe`, also
// makes the pipe it writes to, once, and returns its read end (else -1): pipe `which`,
// one per backend whose dump thread reads it (0: clone, 1: M:N), since every dump thread
// must see every request. Throws as enable_thread_dump_signal does.
inline constexpr unsigned dump_pipes = 2;
int install_thread_dump_handler(int signo, bool pipe, unsigned which = 0);

}  // namespace spindle::detail

namespace spindle::green::detail {
using spindle::detail::thread_dump_requests;
}
