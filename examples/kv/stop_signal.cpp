// SIGTERM and SIGINT through a self-pipe: the contract is in stop_signal.hpp.
//
// Explained in: docs/10-spindle-kv.md (the server).
// Read next: examples/kv/server.hpp.
#include "stop_signal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <system_error>

namespace spindle_kv {
namespace {

// The pipe's write end, for the handler, which can reach no object.
volatile std::sig_atomic_t write_end = -1;

void write_one_byte(int) {
  int saved = errno;  // the interrupted code may be about to read errno
  char byte = 's';
  // A full pipe already holds a stop request: losing this byte loses nothing.
  [[maybe_unused]] ssize_t written = ::write(write_end, &byte, 1);
  errno = saved;
}

}  // namespace

StopSignal::StopSignal() {
  assert(write_end == -1 && "one StopSignal at a time");
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::system_error(errno, std::system_category(), "cannot make the stop signal's pipe");
  }
  read_end_ = ends[0];
  write_end = ends[1];
  struct sigaction handler {};
  handler.sa_handler = write_one_byte;
  sigemptyset(&handler.sa_mask);
  handler.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &handler, &previous_term_);
  sigaction(SIGINT, &handler, &previous_int_);
}

StopSignal::~StopSignal() {
  sigaction(SIGTERM, &previous_term_, nullptr);
  sigaction(SIGINT, &previous_int_, nullptr);
  ::close(write_end);
  write_end = -1;
  ::close(read_end_);
}

}  // namespace spindle_kv
