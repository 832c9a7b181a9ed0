// runtime/clone/thread_list.cpp — listing running clone threads, and forgetting them
// in a forked child.
//
// Concept: see thread_list.hpp.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/credentials.cpp.

#include "thread_list.hpp"

#include <pthread.h>

#include <system_error>

#include "glibc_abi.hpp"
#include "tls.hpp"

namespace spindle::clone::detail {
namespace {

std::mutex thread_list_lock;
// Set in a forked child whose forking thread is a clone thread: the process's only
// task then is one of the listed threads. Protected by the thread list lock.
bool process_made_of_listed_threads = false;

// Runs in the child of fork(), whose only thread is the one that called fork(). The
// tid words of the others stay as they are: nonzero, they tell join and detach that
// the thread did not cross the fork (kernel_thread.cpp: left_in_parent).
void forget_other_threads() noexcept {
  std::atomic<pid_t>* own_tid = &tid_word(thread_pointer());
  for (thread_list_entry* e = thread_list_head.next; e != &thread_list_head;) {
    thread_list_entry* next = e->next;
    if (e->tid != own_tid)
      remove_from_thread_list(*e);
    else
      process_made_of_listed_threads = true;
    e = next;
  }
}

}  // namespace

thread_list_entry thread_list_head{nullptr, &thread_list_head, &thread_list_head, {0}};

std::unique_lock<std::mutex> lock_thread_list() { return std::unique_lock(thread_list_lock); }

void add_to_thread_list(thread_list_entry& entry) noexcept {
  entry.prev = &thread_list_head;
  entry.next = thread_list_head.next;
  thread_list_head.next->prev = &entry;
  thread_list_head.next = &entry;
}

void remove_from_thread_list(thread_list_entry& entry) noexcept {
  entry.prev->next = entry.next;
  entry.next->prev = entry.prev;
  entry.prev = entry.next = &entry;
}

bool thread_list_empty_in_forked_child() noexcept {
  return process_made_of_listed_threads && thread_list_head.next == &thread_list_head;
}

void install_thread_list_fork_handlers() {
  int error = pthread_atfork([] { thread_list_lock.lock(); }, [] { thread_list_lock.unlock(); },
                             [] {
                               forget_other_threads();
                               thread_list_lock.unlock();
                             });
  if (error != 0)
    throw std::system_error(error, std::generic_category(), "spindle: pthread_atfork");
}

}  // namespace spindle::clone::detail
