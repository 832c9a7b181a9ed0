// spindle/clone/detail/record.hpp — what the clone backend knows about one thread.
//
// Concept: on the clone backend the kernel schedules threads, so a record holds no
// context and no run-queue links: only identity, the kernel task, and what spindle
// needs to block and wake it and to see a deadlock: its state, what it waits on, and a
// futex word of its own that it sleeps on until a waker sets it.
//
//     spawn ──> running ──(park)──> blocked ──(wake, timeout)──> running
//                  └──(return)──> finished ──(join/detach)──> freed
//
// (Running here means "not blocked in spindle": the kernel may be running it or not.)
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/parking_lot.hpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "spindle/backend.hpp"
#include "spindle/detail/task.hpp"
#include "spindle/detail/thread_queue.hpp"
#include "spindle/detail/wait_reason.hpp"
#include "spindle/local.hpp"

namespace spindle::clone {
class mutex;
}  // namespace spindle::clone

namespace spindle::clone::detail {

struct kernel_thread;  // runtime/clone/kernel_thread.hpp
struct record;
using thread_queue = spindle::detail::thread_queue<record>;

enum class state : std::uint8_t { running, blocked, finished };

using wake_status = spindle::detail::wake_status;

using wait_reason = spindle::detail::wait_reason<record>;

struct record {
  record() = default;
  record(const record&) = delete;
  record& operator=(const record&) = delete;
  virtual ~record() = default;

  // Runs the thread's function and stores its result or exception; on the new thread.
  virtual void run() noexcept {}

  // Identity: set by spawn (or when a root thread first calls spindle), then constant.
  std::uint64_t id = 0;
  std::string name;
  kernel_thread* kernel = nullptr;  // the clone'd task; null for a root thread

  // Blocking: guarded by the parking lot's lock (runtime/clone/parking_lot.cpp).
  state st = state::running;
  wait_reason waiting_on;
  wake_status woke_by = wake_status::woken;
  bool counted = false;            // blocked with no deadline: counts for deadlock
  std::uint64_t park_number = 0;   // orders parks; the deadlock report fails the latest
  std::int64_t blocked_since = 0;  // CLOCK_MONOTONIC ns at the park, for the dump
  record* prev = nullptr;          // links in one wait queue
  record* next = nullptr;
  thread_queue* queue = nullptr;
  std::string deadlock_report;              // set when this thread is the one failed
  std::atomic<std::uint32_t> wake_word{0};  // 1 once woken: the futex it sleeps on
  // The mutex a thread waiting in condition_variable::wait (with no deadline) will take
  // again: a notify made while that mutex is held moves the thread straight into the
  // mutex's queue instead of waking it (wait morphing, docs/09-clone-backend.md).
  mutex* relocks = nullptr;

  // Ownership: how many mutexes this thread holds. Changed by the thread itself, or by
  // an unlock handing it a mutex while it is parked (runtime/clone/mutex.cpp:
  // mutex::hand_over), whose wake publishes the change. Read by the thread's leave().
  std::uint32_t mutexes_held = 0;

  // Lifetime: guarded by the parking lot's lock (but `error`, see there).
  record* joiner = nullptr;  // parked in join() on this thread
  // The joiner sleeps on this thread's exit as well as on its own word
  // (parking_lot::park_for_exit): leave() counts it unblocked, the kernel wakes it.
  bool exit_wakes_joiner = false;
  bool detached = false;
  // What escaped run(): written by the thread; read by itself, by its joiner once it
  // has finished, and by detach once `failed` says it is there. join rethrows it; if the
  // thread is detached, it ends the program (runtime/common/escaped_exception.hpp).
  std::exception_ptr error;
  bool failed = false;          // run() returned with `error`, not yet detached
  bool left_in_parent = false;  // in a forked child: the thread did not cross fork()
  record* all_prev = nullptr;   // every registered thread, for the report
  record* all_next = nullptr;

  // Thread-local storage (spindle/local.hpp): touched only by the thread itself.
  std::vector<local_slot> locals;
};

template <class R>
using result_record = spindle::detail::result_record<record, R>;
template <class R, class F, class... Args>
using task = spindle::detail::task<record, R, F, Args...>;

// Entry points into runtime/clone/thread.cpp, used by the templates in thread.hpp.

// Registers a constructed record and starts its kernel thread. If it throws, it has
// deleted the record.
void start(record* thread, const spawn_options& options);
// Parks the caller until `thread` has finished. Throws std::system_error if the caller
// is `thread` (resource_deadlock_would_occur), or if `thread` was still unfinished when
// this process was forked from the one it runs in (no_such_process): only detach then.
void wait_for_finish(record* thread);
// Waits for the kernel task to be gone, then frees its memory and the record.
void reap(record* thread) noexcept;
// Lets the thread free itself when it finishes (or frees it now if it has).
void detach(record* thread) noexcept;
[[noreturn]] void abandon_joinable(const record* thread) noexcept;
// The calling thread's record, set when a spindle thread starts or a root registers.
// Every lock, unlock, wait and notify asks for it, so it is read inline and is
// initial-exec: one load at a fixed offset from the thread pointer, where the default
// model of a shared library calls __tls_get_addr; `constinit` tells the compiler it
// needs no initialisation guard. Defined in runtime/clone/thread.cpp.
[[gnu::tls_model("initial-exec")]] extern constinit thread_local record* running_record;
// running()'s first call on a thread spindle did not make: registers it as a root.
record* register_root();
// The calling thread's record; a thread spindle did not make is registered as a root.
inline record* running() {
  if (record* r = running_record) [[likely]]
    return r;
  return register_root();
}

}  // namespace spindle::clone::detail
