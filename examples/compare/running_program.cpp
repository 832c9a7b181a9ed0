// examples/compare/running_program.cpp — posix_spawn, a pipe, poll, and waitpid with
// deadlines.
//
// Concept: see running_program.hpp.
// Explained in: docs/12-comparisons.md (C10K: ten thousand connections).
// Read next: examples/compare/c10k.cpp.
#include "running_program.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "spawning.hpp"

extern char** environ;

namespace compare {
namespace {

// posix_spawn's file actions, destroyed whatever happens.
struct file_actions {
  posix_spawn_file_actions_t actions;
  file_actions() { posix_spawn_file_actions_init(&actions); }
  ~file_actions() { posix_spawn_file_actions_destroy(&actions); }
};

// How often the waits below look again whether the program has ended.
constexpr auto poll_interval = std::chrono::milliseconds(10);

}  // namespace

deadline seconds_from_now(double seconds) {
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
             std::chrono::duration<double>(seconds));
}

running_program::running_program(const std::vector<std::string>& argv)
    : name_(argv.at(0).substr(argv.at(0).rfind('/') + 1)) {
  int channel[2];
  if (pipe2(channel, O_CLOEXEC) != 0) throw_errno("pipe2");
  from_program_ = channel[0];
  fcntl(from_program_, F_SETFL, O_NONBLOCK);
  file_actions files;
  posix_spawn_file_actions_addopen(&files.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&files.actions, channel[1], 1);  // dup2 drops O_CLOEXEC
  posix_spawn_file_actions_adddup2(&files.actions, channel[1], 2);
  std::vector<char*> arguments;
  for (const std::string& a : argv) arguments.push_back(const_cast<char*>(a.c_str()));
  arguments.push_back(nullptr);
  int error = posix_spawn(&pid_, arguments[0], &files.actions, nullptr, arguments.data(), environ);
  close(channel[1]);  // the child holds the write end now: the pipe ends when it does
  if (error != 0) {
    pid_ = -1;
    close(from_program_);
    throw std::system_error(error, std::generic_category(), "posix_spawn " + argv[0]);
  }
}

running_program::~running_program() {
  stop();
  if (from_program_ >= 0) close(from_program_);
}

bool running_program::read_output(std::chrono::milliseconds wait) {
  if (from_program_ < 0) {
    std::this_thread::sleep_for(wait);  // so that a loop waiting for the end does not spin
    return false;
  }
  pollfd ready{from_program_, POLLIN, 0};
  poll(&ready, 1, static_cast<int>(wait.count()));
  char buffer[4096];
  for (;;) {
    ssize_t n = read(from_program_, buffer, sizeof buffer);
    if (n > 0) {
      std::size_t room = output_kept - std::min(output_kept, output_.size());
      output_.append(buffer, std::min(room, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    close(from_program_);  // end of file, or an error that no retry will mend
    from_program_ = -1;
    return false;
  }
}

bool running_program::reaped_now() {
  if (pid_ < 0) return true;
  pid_t done = waitpid(pid_, &status_, WNOHANG);
  if (done < 0 && errno == EINTR) return false;
  if (done == 0) return false;
  pid_ = -1;  // reaped, or (ECHILD) never ours to reap
  return true;
}

int running_program::wait_for_exit(deadline by) {
  while (!reaped_now()) {
    if (std::chrono::steady_clock::now() > by) {
      throw std::runtime_error(name_ + " did not end in time; its output: " + output_);
    }
    read_output(poll_interval);
  }
  read_output(
      std::chrono::milliseconds(0));  // what it wrote last; a child of its may hold the pipe
  return status_;
}

int running_program::stop(std::chrono::milliseconds grace) {
  if (reaped_now()) return status_;
  kill(pid_, SIGTERM);
  deadline by = std::chrono::steady_clock::now() + grace;
  while (!reaped_now() && std::chrono::steady_clock::now() < by) {
    read_output(poll_interval);  // a program blocked on a full pipe could not end
  }
  if (pid_ < 0) return status_;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status_;
}

}  // namespace compare
