// examples/compare/proc.cpp — reading numbers from /proc and /sys.
//
// Concept: see proc.hpp. The files are small text files the kernel writes on each
// read, so reading them whole with an ifstream is simple and fast enough.
// Explained in: docs/12-comparisons.md (how the comparisons measure).
// Read next: examples/compare/measure.cpp.
#include "proc.hpp"

#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace compare {
namespace {

// The number after "Name:" on the line of `path` that starts with it (in kB for sizes).
long field_kib(const char* path, std::string_view field) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(std::string("cannot read ") + path);
  std::string line;
  while (std::getline(file, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  throw std::runtime_error(std::string(path) + " has no field " + std::string(field));
}

}  // namespace

long status_kib(std::string_view field) { return field_kib("/proc/self/status", field); }

long status_number(int pid, std::string_view field) {
  return field_kib(("/proc/" + std::to_string(pid) + "/status").c_str(), field);
}

long meminfo_kib(std::string_view field) { return field_kib("/proc/meminfo", field); }

long mappings_of_this_process() noexcept {
  std::ifstream maps("/proc/self/maps");
  if (!maps) return -1;
  long lines = 0;
  for (std::string line; std::getline(maps, line);) ++lines;
  return lines;
}

usage usage_so_far() noexcept {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  auto ns = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e9 + t.tv_usec * 1e3; };
  return {r.ru_minflt, ns(r.ru_utime), ns(r.ru_stime)};
}

long read_number(const std::string& path) noexcept {
  std::ifstream file(path);
  long value = -1;
  if (!(file >> value)) return -1;
  return value;
}

std::string read_first_line(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return line;
}

long kernel_threads_of_user(unsigned uid) {
  long threads = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line;
    bool owned = false;
    while (std::getline(status, line)) {
      if (line.rfind("Uid:", 0) == 0) owned = std::stoul(line.substr(4)) == uid;
      if (line.rfind("Threads:", 0) == 0 && owned) threads += std::stol(line.substr(8));
    }
  }
  return threads;
}

long kernel_threads_on_machine() noexcept {
  std::istringstream fields(read_first_line("/proc/loadavg"));
  std::string one, five, fifteen, running_and_total;
  if (!(fields >> one >> five >> fifteen >> running_and_total)) return -1;
  auto slash = running_and_total.find('/');
  if (slash == std::string::npos) return -1;
  return std::strtol(running_and_total.c_str() + slash + 1, nullptr, 10);
}

}  // namespace compare
