// runtime/clone/thread_list.hpp — the list of clone threads that are running.
//
// Concept: some events must reach every thread of the process. Credentials are per
// thread in Linux, so a setuid() must be applied by each thread to itself
// (credentials.cpp); and in a child made by fork() only the forking thread exists, so
// every other listed thread must be forgotten there. NPTL keeps such a list of its own
// threads (GL(dl_stack_used)); clone threads are not on it, hence this one. A thread is
// listed by its creator, under the list lock, in the same critical section as clone(),
// and unlists itself before it exits: so a holder of the lock sees every thread that
// can run user code, and no thread is born or leaves while the lock is held.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/credentials.hpp.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <mutex>

namespace spindle::clone::detail {

struct thread_list_entry {
  // Set before the thread is listed; read-only afterwards:
  std::atomic<pid_t>* tid;  // the thread's tid word (see tls.hpp)

  // Protected by the thread list lock:
  thread_list_entry* prev;
  thread_list_entry* next;
  std::atomic<int> credential_request;  // 1 while a credential change waits for this thread
};

// The head of the circular list; its `tid` is null. Protected by the thread list lock.
extern thread_list_entry thread_list_head;

// Takes the thread list lock. The caller must not have the credential signal blocked
// while it waits (a broadcasting holder of the lock waits for that signal's handler).
std::unique_lock<std::mutex> lock_thread_list();

// Links or unlinks `entry`. Caller holds the thread list lock.
void add_to_thread_list(thread_list_entry& entry) noexcept;
void remove_from_thread_list(thread_list_entry& entry) noexcept;

// Calls `visit(entry)` for every listed thread. Caller holds the thread list lock.
template <class Visit>
void for_each_listed_thread(Visit&& visit) {
  for (thread_list_entry* e = thread_list_head.next; e != &thread_list_head; e = e->next) visit(*e);
}

// Whether the list is empty in a child forked by a clone thread, where every task of
// the process is a listed clone thread: the thread that just left was the last one, and
// must end the process as glibc's last thread does, with exit(0). Caller holds the lock.
bool thread_list_empty_in_forked_child() noexcept;

// Registers the fork handlers: the list lock is held across fork(), and in the child
// every listed thread but the forking one is unlisted (a credential change must not wait
// for it). Its tid word is left set: its memory is never reused there. Called by
// ensure_ready.
void install_thread_list_fork_handlers();

}  // namespace spindle::clone::detail
