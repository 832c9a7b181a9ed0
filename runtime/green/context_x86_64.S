// runtime/green/context_x86_64.S — the context switch itself on x86-64: spindle_jump.
//
// Concept: a context is the stack pointer below eight words that spindle_jump pushed
// on the departing thread's stack: MXCSR and the x87 control word (the control bits
// the System V ABI says a call preserves), r12-r15, rbx, rbp, and above them the
// return address its call pushed. The jump stores that stack pointer through its
// second argument (the departing record's context field) and loads the first, so the
// thread that lands stores nothing on the departing one's behalf. It leaves by an
// indirect jump to the popped return address, not by `ret`: the return predictor would
// guess the caller of this thread's jump, but the jump lands where another thread called
// it, a misprediction on every switch between threads that switch from different places
// (measured: 15 ns per switch with `ret`, 7.5 with the jump, which the indirect-branch
// predictor learns, as Boost.Context's jump_fcontext does). The words are laid out as jump_fcontext lays
// them (the gdb extension, runtime/gdb/spindle.py, reads them by that table), and
// make_context (runtime/green/context_x86_64.hpp) builds the same eight words on a
// fresh stack, with the entry function as the return address.
// Other architectures use Boost.Context's jump_fcontext (runtime/green/context_fcontext.hpp).
// Explained in: docs/03-context-switch.md. Read next: runtime/green/context.cpp.

// void spindle_jump(context to /* %rdi */, context* save /* %rsi */)
        .text
        .globl  spindle_jump
        .hidden spindle_jump
        .type   spindle_jump, @function
        .p2align 4
spindle_jump:
        pushq   %rbp
        pushq   %rbx
        pushq   %r15
        pushq   %r14
        pushq   %r13
        pushq   %r12
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rsi)    // the departing context, stored before its stack is left
        ldmxcsr (%rdi)          // read through `to` before the stack changes: the change
        fldcw   4(%rdi)         // and the step over these two words are then one lea
        leaq    8(%rdi), %rsp
        popq    %r12
        popq    %r13
        popq    %r14
        popq    %r15
        popq    %rbx
        popq    %rbp
        popq    %rcx            // where that thread called spindle_jump, or its entry
        jmpq    *%rcx
        .size   spindle_jump, .-spindle_jump

// No executable stack for the library on this file's account.
        .section .note.GNU-stack, "", @progbits
