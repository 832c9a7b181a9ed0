// runtime/green/remote.hpp — a scheduler's inbox: the one door other kernel threads may
// use (spindle/green/remote.hpp has the concept and the API).
//
// Concept: a multi-producer, single-consumer list. Any thread pushes a node with one
// compare-exchange (a Treiber stack); the scheduler takes the whole list with one
// exchange and runs the nodes oldest first. A push onto an empty list writes the
// inbox's eventfd, which the reactor watches, so a scheduler asleep in epoll wakes.
// Explained in: docs/08-reactor.md (the inbox). Read next: runtime/green/remote.cpp.
#pragma once

#include <atomic>
#include <cstddef>

#include "spindle/green/remote.hpp"

namespace spindle::green::detail {

class scheduler;

class inbox {
 public:
  // Makes the eventfd; throws std::system_error if it cannot. On the home kernel thread.
  explicit inbox(const scheduler& home);
  inbox(const inbox&) = delete;
  inbox& operator=(const inbox&) = delete;
  // Discards what is left (a post that raced with the scheduler's end); closes the
  // eventfd. Runs where the last handle or event lets go, on any thread.
  ~inbox();

  // From any thread or a signal handler: see push_remote.
  bool push(remote_item* item) noexcept;
  // On the home kernel thread, from the scheduler loop (or a green thread): runs every
  // node pushed so far, oldest first. A push made meanwhile waits for the next drain.
  void drain() noexcept;
  // On the home kernel thread, when it exits: refuses later pushes, discards the rest.
  void close() noexcept;

  void open_end() noexcept { open_ends_.fetch_add(1, std::memory_order_relaxed); }
  // The last remote end to close wakes the scheduler, so that it judges again whether it
  // is deadlocked.
  void close_end() noexcept;
  bool has_open_ends() const noexcept { return open_ends_.load(std::memory_order_acquire) > 0; }

  int wakeup_fd() const noexcept { return eventfd_; }
  const void* home() const noexcept { return home_; }

 private:
  // Writes the eventfd, keeping errno (a signal handler may be the caller).
  void wake() noexcept;

  std::atomic<remote_item*> head_{nullptr};  // newest first; pushed by anyone
  std::atomic<bool> closed_{false};          // set by close: pushes refused
  std::atomic<std::size_t> open_ends_{0};    // handles and events alive
  int eventfd_;                              // readable while a push is undrained
  const void* home_;                         // the scheduler that drains
};

}  // namespace spindle::green::detail
