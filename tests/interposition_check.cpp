// tests/interposition_check.cpp — which library answers setuid, its family, sigprocmask
// and pthread_sigmask in this program: libc's, or the clone backend's replacements.
//
// Built twice by tests/meson.build, and by tests/install_test.sh against the installed
// libraries: with the green backend alone (spindle / spindle.pc), whose program must
// keep libc's functions, and with the clone backend (spindle-clone / spindle-clone.pc,
// -DUSES_CLONE_THREADS), whose program must get libspindle-clone's (which shows that
// the check can fail). Usage: interposition_check libc|libspindle-clone|program — the
// file name of the object that must define every function ("program": the executable
// itself, as when the clone backend's static library is linked in). Under a sanitizer,
// "libc" also accepts the sanitizer's runtime, which intercepts sigprocmask and
// pthread_sigmask in front of libc for every program.
// Explained in: docs/09-clone-backend.md (link only what is used).
#include <dlfcn.h>
#include <link.h>

#include <cstdio>
#include <string>

#ifdef USES_CLONE_THREADS
#include <spindle/clone.hpp>
namespace backend = spindle::clone;
#else
#include <spindle/green.hpp>
namespace backend = spindle::green;
#endif

namespace {

// The first object of the program's lookup order (RTLD_DEFAULT: the executable, then
// its libraries in load order) to define `symbol`, by file name, or "program" for the
// executable, which glibc's dladdr names by an empty string.
std::string definer_of(const char* symbol) {
  void* address = dlsym(RTLD_DEFAULT, symbol);
  Dl_info info{};
  if (!address || !dladdr(address, &info)) return "(not found)";
  std::string file = info.dli_fname ? info.dli_fname : "";
  if (file.empty()) return "program";
  void* executable = nullptr;
  dl_iterate_phdr(
      [](dl_phdr_info* object, size_t, void* data) {
        *static_cast<void**>(data) = reinterpret_cast<void*>(object->dlpi_addr);
        return 1;  // the first object reported is the executable
      },
      &executable);
  if (info.dli_fbase == executable) return "program";
  return file.substr(file.rfind('/') + 1);
}

// Whether `definer` is what `wanted` (the command line's word) asks for.
bool acceptable(const std::string& definer, const std::string& wanted) {
  auto starts = [&](const std::string& prefix) { return definer.rfind(prefix, 0) == 0; };
  if (wanted == "program") return definer == "program";
  if (starts(wanted + ".so")) return true;
  return wanted == "libc" && (starts("libasan.so") || starts("libubsan.so"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s libc|libspindle-clone|program\n", argv[0]);
    return 2;
  }
  // Use the backend, so that the program needs its library.
  int answer = backend::spawn([] { return 42; }).join();
  const char* names[] = {"setuid",    "setgid",     "seteuid",     "setegid",
                         "setreuid",  "setregid",   "setresuid",   "setresgid",
                         "setgroups", "initgroups", "sigprocmask", "pthread_sigmask"};
  int wrong = 0;
  for (const char* name : names) {
    std::string definer = definer_of(name);
    bool expected = acceptable(definer, argv[1]);
    std::printf("%-16s %s%s\n", name, definer.c_str(), expected ? "" : "   <- unexpected");
    wrong += !expected;
  }
  if (answer != 42) return 1;
  return wrong == 0 ? 0 : 1;
}
