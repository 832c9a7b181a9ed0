// docs/answers/ch03_switch_from_scratch.cpp — the answer to docs/03-context-switch.md,
// exercise 7: a context switch written from scratch in x86-64 assembly (save the
// callee-saved registers and rsp, swap stacks, restore), set beside Boost.Context's
// jump_fcontext, the annotated one that spindle uses (runtime/green/context.cpp).
//
// What it shows: the same ping-pong of two contexts (ping, pong, ping, pong, ... then
// back to main) gives the same order over both switches, and each context's locals,
// which the compiler keeps in callee-saved registers across the switch, survive it.
// The from-scratch frame is 56 bytes (six registers and the return address); Boost's is
// 64, because it also keeps MXCSR and the x87 control word (docs/03's table).
// Explained in: docs/03-context-switch.md (exercises), answer 03.7 in docs/appendix-answers.md.
// Read next: runtime/green/context.cpp.
#include <boost/context/detail/fcontext.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "claim.hpp"

// swap_context(save, load): pushes the six callee-saved registers of the System V ABI
// on the current stack, stores rsp in *save, loads rsp from `load` and pops the other
// context's six registers; its `ret` returns into the other context. Called from C++
// on any stack; returns when some context swaps back to the one saved in *save.
// Caller-saved registers need no saving: the caller of a function already assumes it
// clobbers them. This is xv6's swtch, with the registers pushed rather than stored.
extern "C" void swap_context(void** save, void* load);
asm(R"(
    .text
    .globl swap_context
    .type swap_context, @function
swap_context:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq  %rsp, (%rdi)
    movq  %rsi, %rsp
    popq  %r15
    popq  %r14
    popq  %r13
    popq  %r12
    popq  %rbx
    popq  %rbp
    ret
    .size swap_context, .-swap_context
)");

namespace {

constexpr int rounds = 5;
constexpr std::size_t stack_bytes = 64 * 1024;

std::vector<std::string> order;  // who ran, in the order they ran

// --- The from-scratch switch ---

void* main_sp = nullptr;
void* ping_sp = nullptr;
void* pong_sp = nullptr;

// Builds the frame swap_context pops on a fresh stack: six zeroed registers, then the
// entry function as the return address. The return address's slot is 16-byte aligned,
// so that entry starts with rsp = 8 mod 16, as if it had been called; the word above it
// is entry's own return address, 0: entry must never return.
void* make_scratch_context(std::byte* stack, void (*entry)()) {
  auto top = reinterpret_cast<std::uintptr_t>(stack + stack_bytes) & ~std::uintptr_t{15};
  auto* words = reinterpret_cast<std::uintptr_t*>(top);
  words[-1] = 0;                                           // entry's return address
  words[-2] = reinterpret_cast<std::uintptr_t>(entry);     // swap_context's ret lands here
  for (int slot = 3; slot <= 8; ++slot) words[-slot] = 0;  // r15 r14 r13 r12 rbx rbp
  return &words[-8];
}

[[noreturn]] void scratch_ping() {
  for (int i = 0; i < rounds; ++i) {
    order.push_back("ping " + std::to_string(i));
    swap_context(&ping_sp, pong_sp);
  }
  swap_context(&ping_sp, main_sp);
  std::abort();  // nothing switches back to a finished ping
}

[[noreturn]] void scratch_pong() {
  for (int i = 0; i < rounds; ++i) {
    order.push_back("pong " + std::to_string(i));
    swap_context(&pong_sp, ping_sp);
  }
  std::abort();  // ping goes back to main after its last round
}

std::vector<std::string> ping_pong_from_scratch() {
  order.clear();
  std::vector<std::byte> ping_stack(stack_bytes), pong_stack(stack_bytes);
  ping_sp = make_scratch_context(ping_stack.data(), scratch_ping);
  pong_sp = make_scratch_context(pong_stack.data(), scratch_pong);
  swap_context(&main_sp, ping_sp);
  order.push_back("main");
  return order;
}

// --- The same ping-pong over Boost.Context's jump_fcontext ---
// jump_fcontext returns the context of whoever jumped here; the jumper passes, as the
// data, where that context must be stored (spindle's switch_to does the same).

namespace bc = boost::context::detail;
bc::fcontext_t boost_main = nullptr;
bc::fcontext_t boost_ping = nullptr;
bc::fcontext_t boost_pong = nullptr;

// Jumps to `to`, leaving our own context to be stored in *self; on return, stores the
// context of the one who jumped to us where it asked.
void boost_switch(bc::fcontext_t* self, bc::fcontext_t to) {
  bc::transfer_t back = bc::jump_fcontext(to, self);
  *static_cast<bc::fcontext_t*>(back.data) = back.fctx;
}

void boost_ping_entry(bc::transfer_t from) {
  *static_cast<bc::fcontext_t*>(from.data) = from.fctx;
  for (int i = 0; i < rounds; ++i) {
    order.push_back("ping " + std::to_string(i));
    boost_switch(&boost_ping, boost_pong);
  }
  boost_switch(&boost_ping, boost_main);
  std::abort();
}

void boost_pong_entry(bc::transfer_t from) {
  *static_cast<bc::fcontext_t*>(from.data) = from.fctx;
  for (int i = 0; i < rounds; ++i) {
    order.push_back("pong " + std::to_string(i));
    boost_switch(&boost_pong, boost_ping);
  }
  std::abort();
}

std::vector<std::string> ping_pong_over_boost() {
  order.clear();
  std::vector<std::byte> ping_stack(stack_bytes), pong_stack(stack_bytes);
  boost_ping = bc::make_fcontext(ping_stack.data() + stack_bytes, stack_bytes, boost_ping_entry);
  boost_pong = bc::make_fcontext(pong_stack.data() + stack_bytes, stack_bytes, boost_pong_entry);
  boost_switch(&boost_main, boost_ping);
  order.push_back("main");
  return order;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += (text.empty() ? "" : ", ") + line;
  return text;
}

}  // namespace

int main() {
  std::vector<std::string> expected;
  for (int i = 0; i < rounds; ++i) {
    expected.push_back("ping " + std::to_string(i));
    expected.push_back("pong " + std::to_string(i));
  }
  expected.push_back("main");

  std::vector<std::string> scratch = ping_pong_from_scratch();
  std::printf("from scratch: %s\n", joined(scratch).c_str());
  answer::claim(scratch == expected,
                "the from-scratch switch alternates ping and pong, then returns to main");
  std::vector<std::string> boost = ping_pong_over_boost();
  std::printf("jump_fcontext: %s\n", joined(boost).c_str());
  answer::claim(boost == scratch, "jump_fcontext gives the same order");
  return answer::claims_failed();
}
