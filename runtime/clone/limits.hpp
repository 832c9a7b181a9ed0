// runtime/clone/limits.hpp — saying which system limit stopped a new clone thread.
//
// Concept: a thread needs an address range for its stack (RLIMIT_AS, overcommit), two or
// three memory mappings (vm.max_map_count), and a task (RLIMIT_NPROC, kernel.threads-max,
// kernel.pid_max, the cgroup's pids.max). mmap and clone report all of these as ENOMEM or
// EAGAIN; the message should tell the user which one, and what to do about it.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/kernel_thread.hpp.
#pragma once

#include <string>

namespace spindle::clone::detail {

// Throws std::system_error for `error` (an errno value) met while `step` ran, with a
// message that names the limit most likely reached, what spindle holds (threads
// alive, bytes cached), and what to do.
[[noreturn]] void throw_exhausted(int error, const std::string& step);

}  // namespace spindle::clone::detail
