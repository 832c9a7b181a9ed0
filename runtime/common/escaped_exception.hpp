// runtime/common/escaped_exception.hpp — an exception that escaped a detached thread.
//
// Concept: join() rethrows in the joiner whatever escaped a thread's function. A
// detached thread has no joiner, so its exception would vanish and the program run on as
// if nothing had failed. std::thread ends the program when an exception escapes its
// function; spindle does the same for the one case where nobody can receive it: it says
// on stderr which thread and which exception, then calls std::terminate with the
// exception current (so a terminate handler can still inspect it, and libstdc++'s
// default handler prints its type and what() once more before it aborts). Each backend
// calls this where it learns that nobody will join: the thread itself, as run()
// returns, if it is detached by then; or detach(), if the thread has already failed.
// Explained in: docs/02-the-api.md (the handle: join and detach).
// Read next: runtime/green/thread.cpp (settle_escaped_exception, detach).
#pragma once

#include <cxxabi.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <typeinfo>

#include "deadlock_report.hpp"

namespace spindle::detail {

// The demangled name of `type`, as the C++ runtime's own messages show it.
inline std::string name_of_type(const std::type_info* type) {
  if (!type) return "unknown";
  int status = 0;
  char* readable = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
  std::string name = status == 0 && readable ? readable : type->name();
  std::free(readable);
  return name;
}

// Precondition: `error` escaped the function of thread `id` (`name`) of `backend`, and
// the thread is detached. Prints what, and terminates. Called on any thread, holding no
// lock of spindle's: a terminate handler may use spindle.
[[noreturn]] inline void terminate_for_escaped_exception(const char* backend, std::uint64_t id,
                                                         const std::string& name,
                                                         const std::exception_ptr& error) noexcept {
  std::ostringstream thread;
  describe_thread(thread, id, name);
  auto say = [&](const std::string& what) {
    std::fprintf(stderr,
                 "spindle: detached %s thread %s ended with an uncaught exception, which no "
                 "join can receive: %s\nCatch exceptions inside a detached thread's "
                 "function, or join the thread. Terminating.\n",
                 backend, thread.str().c_str(), what.c_str());
  };
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    say(name_of_type(&typeid(e)) + ": " + e.what());
    std::terminate();
  } catch (...) {
    say("an exception of type " + name_of_type(abi::__cxa_current_exception_type()) +
        " (not a std::exception, so it has no what())");
    std::terminate();
  }
}

}  // namespace spindle::detail
