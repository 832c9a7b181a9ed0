// runtime/clone/limits.cpp — reading the limits that a failed mmap or clone may have hit.
//
// Concept: see limits.hpp. Runs only on the failure path, so it may read /proc freely.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/kernel_thread.cpp.

#include "limits.hpp"

#include <cerrno>
#include <cstdio>
#include <system_error>

#include <sys/resource.h>

namespace spindle::clone::detail {
namespace {

long read_number(const char* path) noexcept
{
    long value = -1;
    if (std::FILE* file = std::fopen(path, "re")) {
        if (std::fscanf(file, "%ld", &value) != 1)
            value = -1;
        std::fclose(file);
    }
    return value;
}

long count_mappings() noexcept
{
    long lines = 0;
    if (std::FILE* file = std::fopen("/proc/self/maps", "re")) {
        for (int c; (c = std::fgetc(file)) != EOF;)
            lines += c == '\n';
        std::fclose(file);
    }
    return lines;
}

std::string soft_limit(int resource, const char* unit, unsigned shift)
{
    rlimit limit{};
    if (getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return "unlimited";
    return std::to_string(limit.rlim_cur >> shift) + unit;
}

std::string memory_limit()
{
    long max_maps = read_number("/proc/sys/vm/max_map_count");
    long maps = count_mappings();
    if (max_maps > 0 && maps + 16 >= max_maps)
        return "vm.max_map_count (" + std::to_string(max_maps) + ") is reached with " +
               std::to_string(maps) + " mappings, and each clone thread needs 2: join "
               "finished threads or raise it (sysctl -w vm.max_map_count=N)";
    std::string as = soft_limit(RLIMIT_AS, " MiB", 20);
    if (as != "unlimited")
        return "the address-space limit RLIMIT_AS (" + as + ") is reached: join finished "
               "threads, ask for smaller stacks, or raise it (ulimit -v)";
    return "the kernel would commit no more memory (see vm.overcommit_memory): join "
           "finished threads or ask for smaller stacks";
}

std::string thread_limit()
{
    return "the limit on tasks is reached: RLIMIT_NPROC (" + soft_limit(RLIMIT_NPROC, "", 0) +
           " for this user, ulimit -u), kernel.threads-max (" +
           std::to_string(read_number("/proc/sys/kernel/threads-max")) + "), kernel.pid_max (" +
           std::to_string(read_number("/proc/sys/kernel/pid_max")) +
           ") or the cgroup's pids.max: join finished threads or raise the limit";
}

}  // namespace

void throw_exhausted(int error, const std::string& step)
{
    std::string limit = error == EAGAIN   ? thread_limit()
                        : error == ENOMEM ? memory_limit()
                                          : "no known limit explains this error";
    throw std::system_error(error, std::generic_category(),
                            "spindle: cannot start a clone thread: " + step + " failed; " + limit);
}

}  // namespace spindle::clone::detail
