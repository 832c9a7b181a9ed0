// runtime/clone/kernel_thread.hpp — making, joining and detaching kernel threads.
//
// Concept: the clone backend's thread is a kernel task made with the clone system call,
// sharing this process's memory, files and signal handlers: the kernel schedules it,
// blocks it and wakes it. This layer makes such a task look like a glibc thread inside
// (stack, TLS, control block; see stack.hpp and tls.hpp), runs one function on it, and
// lets another thread wait for its exit (join) or hand its memory back for reclaiming
// after it exits (detach). The API layer (spawn, join, mutex, ...) is built on this.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/kernel_thread.cpp.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace spindle::clone::detail {

// The function a kernel thread runs. It must not throw: the type makes the compiler
// refuse a function that may, and the API layer catches what user code throws.
using thread_function = void (*)(void* arg) noexcept;

// One clone'd task: its memory (stack, TLS, control block) and its tid word. Owned by
// whoever holds the pointer until join() or detach(), which each consume it.
struct kernel_thread;

// Resolves and checks glibc's private interfaces, switches glibc into multi-threaded
// mode, reserves the credential signal and installs the fork handlers. Idempotent and
// thread-safe; start() calls it. Throws std::runtime_error saying what is missing or
// failed (the message names the glibc versions this backend was verified on).
void ensure_ready();

// Starts a kernel thread running fn(arg) on a stack of `stack_size` usable bytes (0 for
// default_stack_size, 1 MiB). Any thread may call it. The new thread starts with the
// caller's signal mask. Throws std::invalid_argument for a null fn or a stack size
// outside [256 KiB, 1 GiB], std::system_error naming the limit reached when memory,
// mappings or tasks are exhausted, and what ensure_ready throws.
kernel_thread* start(thread_function fn, void* arg, std::size_t stack_size = 0);

// Waits until the thread has exited (the kernel cleared its tid word), then takes its
// memory back for reuse; `thread` is invalid afterwards. In a forked child, a thread
// that stayed in the parent returns at once and its memory is abandoned, never reused. Throws
// std::invalid_argument for a null thread, a thread joining itself, or one already joined or
// detached (as long as its memory was not reused yet: after reuse a second join is undefined, as in
// POSIX).
void join(kernel_thread* thread);

// Whether wait_for_exit_or can sleep on a thread's exit and on a word of the caller's in
// one sleep: the kernel has futex_waitv (Linux 5.16) and the program does not run under
// valgrind (3.19 does not know the call). Decided once, by ensure_ready(), which must
// have run (start() runs it); false before.
bool exit_or_word_wait_available() noexcept;

// Sleeps until `thread` has exited (the kernel cleared its tid word) or `word` is not 0
// (its setter wakes it with a private futex wake), whichever comes first; returns at
// once if either holds already. Does not claim the thread: join() still takes its memory
// back, and then does not sleep. Precondition: exit_or_word_wait_available(), and
// `thread` is not one that stayed in the parent of a fork (its tid word never clears
// here; the API layer refuses such a join before it waits).
void wait_for_exit_or(const kernel_thread* thread, const std::atomic<std::uint32_t>& word) noexcept;

// Gives up the right to join: the thread's memory is reclaimed by a later start() once
// the thread has exited (abandoned at once, in a forked child, for a thread that stayed
// in the parent). `thread` is invalid afterwards. Throws as join does.
void detach(kernel_thread* thread);

// The thread's kernel id (as gettid() returns inside it), or 0 once it has exited.
// Valid until join() or detach().
pid_t tid(const kernel_thread* thread) noexcept;

}  // namespace spindle::clone::detail
