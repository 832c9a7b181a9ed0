// examples/compare/running_program.hpp — another program run as a child process: started,
// its output read with a deadline, and stopped whatever happens.
//
// Concept: a comparison that measures a server runs two other programs: the server, and
// the client that loads it. Each is a child process started with posix_spawn, its
// standard output and standard error on one pipe that the comparison reads. Every wait
// on it has a deadline, so that a program that hangs becomes an error that names it
// instead of a comparison that hangs; and the object's destructor stops the program
// (SIGTERM, then SIGKILL if it has not ended after a grace period) and reaps it, so that
// an exception leaves no orphan behind.
// Explained in: docs/12-comparisons.md (C10K: ten thousand connections).
// Read next: examples/compare/kv_load.hpp, then examples/compare/c10k.cpp.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace compare {

using deadline = std::chrono::steady_clock::time_point;

// The moment `seconds` from now.
deadline seconds_from_now(double seconds);

class running_program {
 public:
  // Starts the program at the path argv[0] with the arguments `argv`, its standard input
  // /dev/null, its standard output and error the pipe. Throws std::system_error if the
  // pipe cannot be made or posix_spawn fails (no such program, for one).
  explicit running_program(const std::vector<std::string>& argv);
  // Stops the program if it still runs (see stop), and closes the pipe.
  ~running_program();
  running_program(const running_program&) = delete;
  running_program& operator=(const running_program&) = delete;

  // The program's process id, while it runs.
  pid_t pid() const { return pid_; }
  // Its name, for messages: the last part of argv[0].
  const std::string& name() const { return name_; }
  // What it has written so far, standard output and error mixed as written; only the
  // first output_kept bytes are kept, so that a chatty program cannot fill the memory.
  const std::string& output() const { return output_; }
  static constexpr std::size_t output_kept = 64 * 1024;

  // Waits up to `wait` for output, then reads all there is, so that the program never
  // blocks on a full pipe. Returns false once the program has closed its end of the pipe
  // (it has ended, usually), after sleeping `wait`; true otherwise.
  bool read_output(std::chrono::milliseconds wait);
  // Reads the output until the program closes the pipe, then reaps it; returns its wait
  // status. Throws std::runtime_error naming the program if it runs past `by`; the
  // destructor then stops it.
  int wait_for_exit(deadline by);
  // Sends SIGTERM, gives the program `grace` to end, then sends SIGKILL, and reaps it.
  // Returns its wait status. Does nothing but return it if the program was reaped already.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  // Reaps the program if it has ended, without waiting for it. Returns whether it has.
  bool reaped_now();

  std::string name_;
  pid_t pid_ = -1;         // the child; -1 once reaped
  int status_ = 0;         // its wait status, once reaped
  int from_program_ = -1;  // the read end of the pipe, non-blocking; -1 once at its end
  std::string output_;
};

}  // namespace compare
