// examples/compare/machine.cpp — describing the machine from /proc, /sys, uname and glibc.
//
// Concept: see machine.hpp.
// Explained in: docs/12-comparisons.md (how the comparisons measure).
// Read next: examples/compare/proc.cpp.
#include "machine.hpp"

#include <gnu/libc-version.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "proc.hpp"

#ifndef SPINDLE_VERSION
#error "examples/compare/meson.build defines SPINDLE_VERSION from the project's version"
#endif

namespace compare {
namespace {

// The "model name" of the first processor listed in /proc/cpuinfo.
std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

// "Linux 6.1.0-13-amd64 x86_64", from uname.
std::string kernel() {
  utsname names{};
  if (uname(&names) != 0) return "unknown";
  return std::string(names.sysname) + " " + names.release + " " + names.machine;
}

// The processors in this process's affinity mask.
int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

// "always [madvise] never": the word in brackets is the policy in force.
std::string transparent_hugepages() {
  std::string line = read_first_line("/sys/kernel/mm/transparent_hugepage/enabled");
  auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "unknown";
  return line.substr(open + 1, close - open - 1);
}

// A field of /proc/meminfo in MiB; 0 if it cannot be read.
long meminfo_mib(std::string_view field) {
  try {
    return meminfo_kib(field) / 1024;
  } catch (const std::runtime_error&) {
    return 0;
  }
}

// The 1, 5 and 15 minute load averages, as /proc/loadavg writes them.
std::string load_average() {
  std::istringstream fields(read_first_line("/proc/loadavg"));
  std::string one, five, fifteen;
  if (!(fields >> one >> five >> fifteen)) return "unknown";
  return one + " " + five + " " + fifteen;
}

}  // namespace

machine describe_machine() {
  machine m;
  m.cpu_model = cpu_model();
  m.online_cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  m.usable_cpus = usable_cpus();
  m.kernel = kernel();
  m.glibc = gnu_get_libc_version();
  m.spindle = SPINDLE_VERSION;
  m.memory_total_mib = meminfo_mib("MemTotal");
  m.memory_available_mib = meminfo_mib("MemAvailable");
  m.transparent_hugepages = transparent_hugepages();
  m.load_average = load_average();
  return m;
}

}  // namespace compare
