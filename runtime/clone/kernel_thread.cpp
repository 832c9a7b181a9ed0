// runtime/clone/kernel_thread.cpp — clone(), the new thread's first and last steps,
// join and detach.
//
// Concept: see kernel_thread.hpp. The heart is start_task (the clone call, with every
// signal blocked so that no handler runs on the new thread before its TLS is set up) and
// run_thread (the new thread's whole life, in order).
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/credentials.cpp.

#include "kernel_thread.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

#include "credentials.hpp"
#include "futex.hpp"
#include "glibc_abi.hpp"
#include "limits.hpp"
#include "overflow.hpp"
#include "stack.hpp"
#include "thread_list.hpp"
#include "tls.hpp"

namespace spindle::clone::detail {

// Lives at the top of the thread's stack.
struct kernel_thread {
  // Set by start() before clone; read-only afterwards:
  thread_memory* memory;  // stack, TLS and control block of the thread
  thread_function fn;     // what the thread runs
  void* arg;              // fn's argument
  sigset_t start_mask;    // the creator's signal mask, which the thread restores
  unsigned forks;         // forks_passed when the thread was made

  // Protected by the thread list lock:
  thread_list_entry listed;

  // Changed once, by whichever of join and detach comes first:
  std::atomic<bool> claimed;
};

namespace {

// How many fork() children down this process is from the one that ran ensure_ready:
// counted by a fork handler in each child, while it has one thread. A thread made in
// another process (an ancestor) has a smaller count: left_in_parent compares the counts,
// where getpid() would cost a system call for each thread started.
unsigned forks_passed = 0;

constexpr int clone_flags =
    CLONE_VM                 // share the address space
    | CLONE_FS               // share the working directory, root and umask
    | CLONE_FILES            // share the file descriptor table
    | CLONE_SIGHAND          // share signal handlers (each thread keeps its own mask)
    | CLONE_THREAD           // same thread group: same pid, no exit signal, process-wide signals
    | CLONE_SYSVSEM          // share System V semaphore undo values
    | CLONE_SETTLS           // the new thread's thread pointer (fs base) is its own tcb
    | CLONE_PARENT_SETTID    // the kernel writes the tid into the tid word before clone returns
    | CLONE_CHILD_CLEARTID;  // at exit the kernel zeroes the tid word and wakes its futex

// glibc's sigprocmask cannot block its own internal signals, and spindle's filters the
// credential signal; around clone every signal must be blocked, so this asks the kernel.
void set_signal_mask(const sigset_t* mask, sigset_t* old) noexcept {
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, mask, old, _NSIG / 8);
}

// Unlists the thread; the last thread of a child forked by a clone thread then ends the
// process with exit(0), as glibc's start_thread does for its last thread, so that the
// child's atexit handlers run and its stdio buffers are written.
void leave_thread_list(kernel_thread* thread) noexcept {
  bool last;
  {
    auto lock = lock_thread_list();
    remove_from_thread_list(thread->listed);
    last = thread_list_empty_in_forked_child();
  }
  if (last) std::exit(0);
}

// The new thread's whole life, on its own stack, entered with every signal blocked.
// Returns into glibc's clone wrapper, which makes the exit system call for this thread
// only; the kernel then clears the tid word, and join() may reuse this stack.
int run_thread(void* data) noexcept {
  auto* thread = static_cast<kernel_thread*>(data);
  tls_enter_thread(&thread->memory->resolver);
  arm_overflow_reports(thread->memory);
  set_signal_mask(&thread->start_mask, nullptr);
  thread->fn(thread->arg);
  tls_leave_thread();
  leave_thread_list(thread);
  return 0;
}

// Returns 0, or the errno value of the failed clone.
int start_task(kernel_thread* thread, std::byte* stack_top) noexcept {
  std::byte* tcb = thread->memory->tcb;
  auto* tid = reinterpret_cast<pid_t*>(&tid_word(tcb));
  // Lock before blocking signals: a credential broadcast holding the lock is waiting
  // for this thread's signal handler to run.
  auto lock = lock_thread_list();
  sigset_t all;
  sigfillset(&all);
  sigemptyset(&thread->start_mask);
  set_signal_mask(&all, &thread->start_mask);
  add_to_thread_list(thread->listed);
  int error = 0;
  if (::clone(run_thread, stack_top, clone_flags, thread, tid, tcb, tid) == -1) {
    error = errno;
    remove_from_thread_list(thread->listed);
  }
  set_signal_mask(&thread->start_mask, nullptr);
  return error;
}

kernel_thread* place_record(thread_memory* memory, thread_function fn, void* arg) noexcept {
  auto top = reinterpret_cast<std::uintptr_t>(memory->stack_top);
  auto at = (top - sizeof(kernel_thread)) & ~std::uintptr_t{alignof(kernel_thread) - 1};
  auto* thread = new (reinterpret_cast<void*>(at))
      kernel_thread{memory, fn, arg, {}, forks_passed, {}, {false}};
  thread->listed.tid = &tid_word(memory->tcb);
  thread->listed.prev = thread->listed.next = &thread->listed;
  return thread;
}

// Checks that `thread` may be joined or detached by the caller, and claims it.
void claim(kernel_thread* thread, const char* operation) {
  if (thread == nullptr)
    throw std::invalid_argument(std::string("spindle: ") + operation + " of a null kernel_thread");
  if (thread->memory->tcb == thread_pointer())  // the caller's own control block: no gettid
    throw std::invalid_argument(std::string("spindle: a thread cannot ") + operation + " itself");
  if (thread->claimed.exchange(true))
    throw std::invalid_argument(std::string("spindle: ") + operation +
                                " of a kernel_thread already joined or detached");
}

// Set once by ensure_ready(); read without a lock afterwards (ensure_ready's static
// initialisation orders the store before any thread's start).
bool one_sleep_exit_wait = false;

// futex_waitv exists when it refuses an empty list with EINVAL; ENOSYS (an older kernel)
// or anything else (a seccomp filter's EPERM) says to do without. Not asked under
// valgrind, which would print a warning for a system call it does not know.
bool probe_exit_or_word_wait() noexcept {
#ifdef SYS_futex_waitv
  if (RUNNING_ON_VALGRIND) return false;
  int saved = errno;
  bool refused_as_empty =
      syscall(SYS_futex_waitv, nullptr, 0, 0, nullptr, 0) == -1 && errno == EINVAL;
  errno = saved;
  return refused_as_empty;
#else
  return false;
#endif
}

}  // namespace

void ensure_ready() {
  static const bool ready = [] {
    glibc();
    one_sleep_exit_wait = probe_exit_or_word_wait();
    install_credential_broadcast();
    install_thread_memory_fork_handlers();
    install_thread_list_fork_handlers();
    if (int error = pthread_atfork(nullptr, nullptr, [] { ++forks_passed; }); error != 0)
      throw std::system_error(error, std::generic_category(), "spindle: pthread_atfork");
    install_overflow_reports();
    return true;
  }();
  (void)ready;
}

kernel_thread* start(thread_function fn, void* arg, std::size_t stack_size) {
  if (fn == nullptr)
    throw std::invalid_argument("spindle: start of a kernel thread with a null function");
  ensure_ready();
  thread_memory* memory = acquire_thread_memory(stack_size);
  kernel_thread* thread = place_record(memory, fn, arg);
  std::byte* stack_top =
      reinterpret_cast<std::byte*>(reinterpret_cast<std::uintptr_t>(thread) & ~std::uintptr_t{15});
  if (int error = start_task(thread, stack_top); error != 0) {
    release_thread_memory(memory);
    throw_exhausted(error, "clone");
  }
  return thread;
}

namespace {

// Whether `thread` is one that stayed in the parent of a fork() the caller is a child
// of: made in another process, and not exited there before the fork. Its tid word will
// never be cleared here, and its memory holds its state as the fork found it.
bool left_in_parent(const kernel_thread* thread) noexcept {
  return tid(thread) != 0 && forks_passed != thread->forks;
}

}  // namespace

void join(kernel_thread* thread) {
  claim(thread, "join");
  std::atomic<pid_t>& word = tid_word(thread->memory->tcb);
  for (pid_t seen; (seen = word.load(std::memory_order_acquire)) != 0;) {
    if (left_in_parent(thread)) {
      discard_thread_memory(thread->memory);
      return;
    }
    futex::wait_shared(word, seen);  // shared: the kernel's exit wake is a shared wake
  }
  release_thread_memory(thread->memory);
}

bool exit_or_word_wait_available() noexcept { return one_sleep_exit_wait; }

void wait_for_exit_or(const kernel_thread* thread,
                      const std::atomic<std::uint32_t>& word) noexcept {
  std::atomic<pid_t>& tid = tid_word(thread->memory->tcb);
  for (pid_t seen; word.load(std::memory_order_acquire) == 0 &&
                   (seen = tid.load(std::memory_order_acquire)) != 0;) {
    int error = futex::wait_either(word, std::uint32_t{0}, tid, seen);
    if (error != 0 && error != EAGAIN && error != EINTR) {
      // The kernel could not take the two words (ENOMEM): look again in a moment.
      timespec moment{0, 1000000};
      futex::wait_shared(tid, seen, &moment);
    }
  }
}

void detach(kernel_thread* thread) {
  claim(thread, "detach");
  if (left_in_parent(thread))
    discard_thread_memory(thread->memory);
  else
    release_thread_memory_after_exit(thread->memory);
}

pid_t tid(const kernel_thread* thread) noexcept {
  return tid_word(thread->memory->tcb).load(std::memory_order_acquire);
}

}  // namespace spindle::clone::detail
