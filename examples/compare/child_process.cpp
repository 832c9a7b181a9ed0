// examples/compare/child_process.cpp — fork, a pipe, and waitpid around a measurement.
//
// Concept: see child_process.hpp.
// Explained in: docs/12-comparisons.md (how many threads fit).
// Read next: examples/compare/scale.cpp.
#include "child_process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include "spawning.hpp"

namespace compare {
namespace {

// Writes all of `text` to `fd`, as far as the reader takes it.
void write_all(int fd, const std::string& text) {
  for (std::size_t done = 0; done < text.size();) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Reads `fd` to its end.
std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

// The child's side: run, send the document (or the exception's message), never return.
[[noreturn]] void measure_and_send(const std::function<json()>& measure, int to_parent) {
  int status = 0;
  std::string text;
  try {
    text = measure().dump();
  } catch (const std::exception& e) {
    text = json{{"error", e.what()}}.dump();
    status = 1;
  }
  write_all(to_parent, text);
  _exit(status);
}

}  // namespace

json run_in_child(const std::function<json()>& measure) {
  int channel[2];
  if (pipe2(channel, O_CLOEXEC) != 0) throw_errno("pipe2");
  std::fflush(nullptr);  // or the child's exit would write what stdio holds a second time
  pid_t pid = fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    close(channel[0]);
    measure_and_send(measure, channel[1]);
  }
  close(channel[1]);
  std::string text = read_all(channel[0]);
  close(channel[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("waitpid");
  }
  if (WIFSIGNALED(status)) {
    throw std::runtime_error(std::string("the child process died by signal ") +
                             strsignal(WTERMSIG(status)));
  }
  if (text.empty()) throw std::runtime_error("the child process sent nothing");
  json document = json::parse(text);
  if (document.contains("error")) throw std::runtime_error(document["error"].get<std::string>());
  return document;
}

}  // namespace compare
