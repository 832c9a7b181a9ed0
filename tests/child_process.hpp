// tests/child_process.hpp — running part of a test in a forked child process.
//
// Tests whose subject ends a process (a stack overflow, a stray SIGSEGV), changes it for
// good (a seccomp filter, a resource limit), or fills a per-process limit
// (vm.max_map_count) run their body in a child. The child starts as a plain program:
// doctest's signal handlers and alternate signal stack are removed, so what the child
// shows is what spindle does. It reports through stdout, stderr and its exit status,
// which the parent collects. The parent never waits forever: a child still running
// after `patience` is killed, and the outcome says so; a child that hangs on purpose is
// killed as soon as its stderr shows what the test waits for (a cue).
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace spindle_test {

// Whether process `pid` sits in one of the epoll wait system calls: how a test knows that
// a forked child's scheduler sleeps in its reactor.
inline bool waits_in_epoll(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/syscall");
  long number = -1;
  file >> number;
  return number == SYS_epoll_wait || number == SYS_epoll_pwait || number == SYS_epoll_pwait2;
}

struct child_outcome {
  int status = 0;               // as waitpid reported it
  bool timed_out = false;       // killed by the parent for running past its patience
  bool stopped_at_cue = false;  // killed by the parent when its stderr showed the cue
  std::string out;              // everything the child wrote to stdout
  std::string err;              // everything the child wrote to stderr

  bool exited_with(int code) const {
    return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == code;
  }
  bool killed_by(int signal) const {
    return !timed_out && WIFSIGNALED(status) && WTERMSIG(status) == signal;
  }
  std::string describe() const {
    std::string how = timed_out           ? "timed out and was killed"
                      : stopped_at_cue    ? "was killed once its stderr showed the cue"
                      : WIFEXITED(status) ? "exited with " + std::to_string(WEXITSTATUS(status))
                      : WIFSIGNALED(status)
                          ? "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                                strsignal(WTERMSIG(status)) + ")"
                          : "ended oddly";
    return "child " + how + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
  }
};

namespace detail {

// In the child: undo what the test runner set up, so that the child is a plain program.
inline void become_plain_program() {
  for (int signal : {SIGINT, SIGILL, SIGFPE, SIGSEGV, SIGTERM, SIGABRT}) {
    std::signal(signal, SIG_DFL);
  }
  stack_t off{};
  off.ss_flags = SS_DISABLE;
  sigaltstack(&off, nullptr);
}

[[noreturn]] inline void run_body(const std::function<int()>& body, int out, int err) {
  dup2(out, STDOUT_FILENO);
  dup2(err, STDERR_FILENO);
  become_plain_program();
  int code = 2;
  try {
    code = body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "child: uncaught exception: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "child: uncaught exception of unknown type\n");
  }
  std::cout.flush();
  std::fflush(nullptr);
  _exit(code);
}

// Reads both pipes until both reach end of file, stderr holds `cue` (when not empty),
// or the deadline passes; false for the deadline.
inline bool drain(int out, int err, child_outcome& outcome,
                  std::chrono::steady_clock::time_point deadline, std::string_view cue = {}) {
  pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
  std::string* into[2] = {&outcome.out, &outcome.err};
  int open = 2;
  while (open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        into[i]->append(buffer, static_cast<std::size_t>(n));
        if (!cue.empty() && outcome.err.find(cue) != std::string::npos) return true;
      } else {
        fds[i].fd = -1;
        --open;
      }
    }
  }
  return true;
}

}  // namespace detail

// Forks; the child runs body() and exits with what it returns (2 if it throws, after
// printing the exception on stderr). Returns once the child is gone.
// With a `cue`, the child is also killed once its stderr holds the cue, for a child that
// cannot end by itself (it hangs on purpose): the outcome then says stopped_at_cue.
inline child_outcome run_in_child(const std::function<int()>& body,
                                  std::chrono::seconds patience = std::chrono::seconds(300),
                                  std::string_view cue = {}) {
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe failed");
  std::cout.flush();
  std::fflush(nullptr);
  pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    close(out[0]);
    close(err[0]);
    detail::run_body(body, out[1], err[1]);
  }
  close(out[1]);
  close(err[1]);
  child_outcome outcome;
  if (!detail::drain(out[0], err[0], outcome, std::chrono::steady_clock::now() + patience, cue)) {
    kill(child, SIGKILL);
    outcome.timed_out = true;
  } else if (!cue.empty() && outcome.err.find(cue) != std::string::npos) {
    kill(child, SIGKILL);
    outcome.stopped_at_cue = true;
  }
  close(out[0]);
  close(err[0]);
  while (waitpid(child, &outcome.status, 0) < 0 && errno == EINTR) {
  }
  return outcome;
}

}  // namespace spindle_test
