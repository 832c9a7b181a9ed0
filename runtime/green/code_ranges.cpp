// runtime/green/code_ranges.cpp — the table of loaded objects' code, and the answers a
// signal handler reads from it.
//
// Start at find_code_ranges (ordinary code, once), then owner_of_code and
// describe_code_address, which handlers call.
// Explained in: docs/08-reactor.md (preemption: the safe-point rule).
// Read next: runtime/green/preemption.cpp.
#include "code_ranges.hpp"

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <string_view>

#include "../common/signal_safe_text.hpp"

namespace spindle::green::detail {
namespace {

// One executable segment of one loaded object.
struct code_range {
  std::uintptr_t low = 0, high = 0;  // [low, high)
  std::uintptr_t base = 0;           // the object's load address (dlpi_addr)
  const char* object = nullptr;      // its path; the loader keeps the string while loaded
  code_owner owner = code_owner::library;
  bool keeps_object_lists = false;  // libc or the loader: dladdr reads what they change
};

// Enough for a program and its libraries: an ordinary spindle test maps about a dozen
// objects of one or two executable segments. Objects past the end count as libraries'.
constexpr std::size_t most_ranges = 256;
code_range ranges[most_ranges];
std::size_t range_count = 0;
std::atomic<bool> published{false};  // ranges[0, range_count) are complete

// The first object dl_iterate_phdr reports is the main executable (its dlpi_name is "").
struct walk {
  std::uintptr_t spindle_code;  // an address inside spindle's own object
  bool first = true;
};

bool holds(const dl_phdr_info& info, std::uintptr_t address) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info.dlpi_phdr[i];
    std::uintptr_t low = info.dlpi_addr + segment.p_vaddr;
    if (segment.p_type == PT_LOAD && address >= low && address < low + segment.p_memsz) return true;
  }
  return false;
}

bool keeps_object_lists(std::string_view path) {
  std::string_view name = path.substr(path.rfind('/') + 1);
  return name.starts_with("libc.so") || name.starts_with("ld-linux") || name.starts_with("ld.so");
}

int add_object(dl_phdr_info* info, std::size_t, void* data) {
  auto& w = *static_cast<walk*>(data);
  code_owner owner = holds(*info, w.spindle_code) ? code_owner::spindle
                     : w.first                    ? code_owner::program
                                                  : code_owner::library;
  w.first = false;
  const char* path = info->dlpi_name;
  for (int i = 0; i < info->dlpi_phnum && range_count < most_ranges; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_LOAD || !(segment.p_flags & PF_X)) continue;
    code_range& r = ranges[range_count++];
    r.low = info->dlpi_addr + segment.p_vaddr;
    r.high = r.low + segment.p_memsz;
    r.base = info->dlpi_addr;
    r.object = path;
    r.owner = owner;
    r.keeps_object_lists = path && keeps_object_lists(path);
  }
  return 0;
}

const code_range* range_of(std::uintptr_t pc) noexcept {
  if (!published.load(std::memory_order_acquire)) return nullptr;
  for (std::size_t i = 0; i < range_count; ++i) {
    if (pc >= ranges[i].low && pc < ranges[i].high) return &ranges[i];
  }
  return nullptr;
}

}  // namespace

void find_code_ranges() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    walk w{reinterpret_cast<std::uintptr_t>(&find_code_ranges)};
    dl_iterate_phdr(add_object, &w);
    published.store(true, std::memory_order_release);
  });
}

code_owner owner_of_code(std::uintptr_t pc) noexcept {
  const code_range* r = range_of(pc);
  return r ? r->owner : code_owner::library;
}

void describe_code_address(spindle::detail::signal_safe_text& out, std::uintptr_t pc) noexcept {
  out.address(reinterpret_cast<const void*>(pc));
  const code_range* r = range_of(pc);
  Dl_info found{};
  if (r && r->keeps_object_lists) {
    found.dli_fname = r->object;
    found.dli_fbase = reinterpret_cast<void*>(r->base);
  } else if (dladdr(reinterpret_cast<void*>(pc), &found) == 0) {
    out.text(" (in no object spindle knows)");
    return;
  }
  std::string_view object = found.dli_fname && *found.dli_fname ? found.dli_fname : "the program";
  out.text(" (");
  if (found.dli_sname && found.dli_saddr) {
    out.text(found.dli_sname).text("+");
    out.address(
        reinterpret_cast<const void*>(pc - reinterpret_cast<std::uintptr_t>(found.dli_saddr)));
    out.text(" in ").text(object);
  } else {
    out.text(object).text("+");
    out.address(
        reinterpret_cast<const void*>(pc - reinterpret_cast<std::uintptr_t>(found.dli_fbase)));
  }
  out.text(")");
}

}  // namespace spindle::green::detail
