// SIGTERM and SIGINT, turned into bytes a thread can wait for.
//
// A signal handler may do almost nothing: it interrupts whatever the thread it lands on
// was doing, so it must not take a lock, allocate or touch the server's state. The
// classic way out is the self-pipe: the handler writes one byte into a pipe, and a
// thread that waits on the pipe's other end does the real work, as ordinary code.
// spindle-kv's stop watcher waits there with B::io::read, which parks only that thread.
//
// Explained in: docs/10-spindle-kv.md (the server).
// Read next: examples/kv/server.hpp.
#pragma once

#include <csignal>

namespace spindle_kv {

// While one exists, SIGTERM and SIGINT each write one byte to fd(). One at a time.
class StopSignal {
 public:
  StopSignal();   // throws std::system_error if the pipe cannot be made
  ~StopSignal();  // puts the previous handlers back
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // The end to read: readable once a stop signal has arrived.
  int fd() const { return read_end_; }

 private:
  int read_end_ = -1;
  struct sigaction previous_term_ {};
  struct sigaction previous_int_ {};
};

}  // namespace spindle_kv
