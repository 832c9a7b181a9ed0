// examples/compare/machine.hpp — the machine a comparison ran on, for its report.
//
// Concept: a number measured on one machine means little without the machine. Every
// comparison prints, before its table and in its JSON, the processor, how many of its
// processors the program may use, the kernel, the C library, spindle's version, the
// memory, the transparent-huge-page policy (it changes what fork copies) and the load
// average (on a shared machine, other programs' work is part of every measurement).
// Explained in: docs/12-comparisons.md (how the comparisons measure).
// Read next: examples/compare/proc.hpp.
#pragma once

#include <string>

namespace compare {

struct machine {
  std::string cpu_model;              // "model name" of the first processor in /proc/cpuinfo
  int online_cpus = 0;                // processors the kernel runs
  int usable_cpus = 0;                // processors this process may run on (its affinity)
  std::string kernel;                 // uname: system, release, architecture
  std::string glibc;                  // gnu_get_libc_version()
  std::string spindle;                // the project's version, from meson
  long memory_total_mib = 0;          // MemTotal
  long memory_available_mib = 0;      // MemAvailable when the program started
  std::string transparent_hugepages;  // the chosen policy in /sys/kernel/mm/transparent_hugepage
  std::string load_average;           // the three numbers of /proc/loadavg
};

// Reads the description from /proc, /sys, uname and glibc. Never throws for a file that
// cannot be read: that field says "unknown" instead.
machine describe_machine();

}  // namespace compare
