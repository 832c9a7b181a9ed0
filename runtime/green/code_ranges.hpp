// runtime/green/code_ranges.hpp — whose code an instruction address belongs to: the
// program's own, spindle's, or a library's.
//
// Concept: a signal handler that interrupted a green thread knows only the address of
// the instruction it stopped (the PC). Two handlers need to know whose code that is: the
// preemption handler switches threads only from the program's own code, never from libc
// (malloc's lock), libstdc++, libgcc's unwinder, the loader or spindle itself
// (runtime/green/preemption.cpp), and the hog watchdog says where a hogging thread was
// (runtime/green/watchdog.cpp). The executable segments of every loaded object are
// found once, in ordinary code, with dl_iterate_phdr, and kept in a fixed table that a
// handler reads without a lock or a call. An object loaded later (dlopen) is not in the
// table: its code counts as a library's, the safe answer.
// Explained in: docs/08-reactor.md (preemption: the safe-point rule).
// Read next: runtime/green/preemption.cpp.
#pragma once

#include <cstdint>

namespace spindle::detail {
class signal_safe_text;
}

namespace spindle::green::detail {

enum class code_owner : std::uint8_t {
  program,  // the main executable, when spindle is not linked into it
  spindle,  // the object that holds spindle's own code (libspindle.so)
  library,  // any other object, or an address no object of the table holds
};

// Fills the table, once per process; later calls return at once. Ordinary code only (it
// calls dl_iterate_phdr, which takes the loader's lock). Called before a timer whose
// handler reads the table is armed.
void find_code_ranges() noexcept;

// Whose code `pc` is. Async-signal-safe: reads the table, which is complete before it is
// published, and calls nothing. Before find_code_ranges, every address is a library's.
code_owner owner_of_code(std::uintptr_t pc) noexcept;

// Appends where `pc` is to `out`, as "function+0x1f in /path/object" when the dynamic
// symbol table names it (mangled: pipe the line through c++filt), else
// "/path/object+0x1234" (an offset addr2line -e takes). Called from a signal handler: it
// asks dladdr only when the interrupted code is neither libc's nor the loader's, whose
// lists dladdr reads (its lock is recursive, so the interrupted thread's own holding of
// it cannot deadlock the handler, and outside those two objects the lists are whole).
void describe_code_address(spindle::detail::signal_safe_text& out, std::uintptr_t pc) noexcept;

}  // namespace spindle::green::detail
