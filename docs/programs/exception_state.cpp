// docs/programs/exception_state.cpp — two green threads park inside catch blocks;
// each `throw;` must rethrow its own exception, which is why switch_to swaps the C++
// runtime's exception state.
// Shown in: docs/03-context-switch.md. Regenerate the output: docs/programs/run_all.sh.
#include <cstdio>
#include <exception>
#include <stdexcept>

#include "spindle/green.hpp"

namespace green = spindle::green;

// Catches its own error, yields while handling it, then rethrows and reports.
void handle_and_rethrow(const char* mine) {
  try {
    try {
      throw std::runtime_error(mine);
    } catch (...) {
      green::this_thread::yield();  // the other thread throws and catches meanwhile
      throw;
    }
  } catch (const std::exception& e) {
    std::printf("%s: rethrew \"%s\"\n", mine, e.what());
  }
}

int main() {
  auto a = green::spawn(handle_and_rethrow, "error of a");
  auto b = green::spawn(handle_and_rethrow, "error of b");
  a.join();
  b.join();
}
