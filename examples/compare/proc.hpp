// examples/compare/proc.hpp — numbers the kernel publishes under /proc and /sys.
//
// Concept: the comparisons ask the kernel what a process costs: its resident set
// (VmRSS) and page tables (VmPTE) in /proc/self/status, the memory left to the whole
// machine in /proc/meminfo, and the limits on threads (kernel.threads-max,
// kernel.pid_max, vm.max_map_count) under /proc/sys. The kernel keeps these counts
// anyway; reading them costs a system call or two and a parse.
// Explained in: docs/11-comparisons.md (how the comparisons measure).
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
