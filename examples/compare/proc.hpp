// examples/compare/proc.hpp — numbers the kernel publishes under /proc and /sys.
//
// Concept: the comparisons ask the kernel what a process costs: its resident set
// (VmRSS), the peak of it (VmHWM) and page tables (VmPTE) in /proc/self/status, its
// mappings in /proc/self/maps, its page faults and processor time (getrusage), the
// memory left to the whole machine in /proc/meminfo, and the limits on threads
// (kernel.threads-max, kernel.pid_max, vm.max_map_count) under /proc/sys. The kernel
// keeps these counts anyway; reading them costs a system call or two and a parse.
// Explained in: docs/12-comparisons.md (how the comparisons measure).
// Read next: examples/compare/measure.hpp.
#pragma once

#include <string>
#include <string_view>

namespace compare {

// The value in KiB of a "Name:  123 kB" line of /proc/self/status (VmRSS, VmPTE, ...).
// Throws std::runtime_error if the file or the field is missing.
long status_kib(std::string_view field);

// The number on a line of another process's /proc/PID/status: "VmRSS:  123 kB" gives 123
// (KiB), "Threads:  5" gives 5. Throws std::runtime_error if the file or the field is
// missing (the process has ended).
long status_number(int pid, std::string_view field);

// The same for a line of /proc/meminfo (MemAvailable, KernelStack, ...), for the whole
// machine. Throws std::runtime_error if the file or the field is missing.
long meminfo_kib(std::string_view field);

// How many memory mappings this process has now: the lines of /proc/self/maps, which
// vm.max_map_count limits. -1 if unreadable.
long mappings_of_this_process() noexcept;

// What getrusage says of this process so far.
struct usage {
  long minor_faults = 0;  // page faults served without reading a file: a fresh page, a copy
  double user_ns = 0;     // processor time in the program's own code
  double kernel_ns = 0;   // processor time in the kernel, on the program's behalf
};
usage usage_so_far() noexcept;

// The first number in a file such as /proc/sys/kernel/threads-max; -1 if unreadable.
long read_number(const std::string& path) noexcept;

// The first line of a file, without its newline; "" if unreadable.
std::string read_first_line(const std::string& path);

// How many kernel threads the processes whose real user is `uid` have now: what
// RLIMIT_NPROC limits. Counts the processes it can read in /proc.
long kernel_threads_of_user(unsigned uid);

// How many kernel threads (in every process) the machine runs now: the fourth
// field of /proc/loadavg, "running/total". -1 if unreadable.
long kernel_threads_on_machine() noexcept;

}  // namespace compare
