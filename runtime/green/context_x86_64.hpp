// runtime/green/context_x86_64.hpp — jump and make_context on x86-64, over spindle's
// own jump (runtime/green/context_x86_64.S).
//
// Concept: make_context writes on a fresh stack the eight words spindle_jump pops on
// arrival (two control words, six callee-saved registers, a return address), so that
// the first jump "returns" into the entry function, with the stack aligned as a call
// would have left it and a null return address above it that ends every backtrace.
// Chosen by runtime/green/context.hpp, which states the contract of both operations.
// Explained in: docs/03-context-switch.md. Read next: runtime/green/context_x86_64.S.
#pragma once

#include <cstdint>

namespace spindle::green::detail {

// In the library, and hidden: called directly, without a PLT stub or a GOT load.
extern "C" [[gnu::visibility("hidden")]] void spindle_jump(context to, context* save) noexcept;

inline void jump(context to, context* save) noexcept { spindle_jump(to, save); }

template <context_entry Entry>
context make_context(const stack_span&, void* top) noexcept {
  // At an entry function's first instruction the stack pointer is 8 below a multiple of
  // 16 (a call pushed the return address): the word that spindle_jump's ret leaves on top.
  auto aligned = reinterpret_cast<std::uintptr_t>(top) & ~std::uintptr_t{15};
  auto* words = reinterpret_cast<std::uint64_t*>(aligned) - 9;
  std::uint32_t mxcsr;
  std::uint16_t x87;
  asm("stmxcsr %0" : "=m"(mxcsr));  // the new thread starts with the spawner's modes
  asm("fnstcw %0" : "=m"(x87));
  words[0] = mxcsr | std::uint64_t{x87} << 32;
  for (int i = 1; i <= 6; ++i) words[i] = 0;  // r12-r15, rbx, rbp
  words[7] = reinterpret_cast<std::uint64_t>(Entry);
  words[8] = 0;  // Entry's return address: none
  return words;
}

}  // namespace spindle::green::detail
