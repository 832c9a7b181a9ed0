// runtime/clone/glibc_abi.hpp — what the clone backend needs from glibc's private side.
//
// Concept: a thread made with clone() must look, to glibc, like one of its own threads:
// a thread control block (glibc's struct pthread) at the thread pointer, static TLS
// blocks below it, an rseq area inside it. glibc gives threads all of this only through
// pthread_create, so the backend borrows glibc's private interfaces (GLIBC_PRIVATE
// symbols of ld.so and libc) and the layout descriptors that libthread_db reads. None of
// it carries an ABI promise: everything is resolved once, cross-checked on live threads,
// and the backend refuses to run with a message naming what is missing or different.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/tls.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spindle::clone::detail {

// Fields of tcbhead_t, the first member of struct pthread, as byte offsets from the
// thread pointer. libthread_db has no descriptors for them: they are fixed by the x86_64
// TLS ABI and by code GCC emits (fs:0x28 is the -fstack-protector canary). Each one the
// backend writes is compared with a live glibc thread by check_glibc_abi_live.
namespace tcbhead {
inline constexpr std::ptrdiff_t tcb = 0x00;               // the thread pointer itself
inline constexpr std::ptrdiff_t self = 0x10;              // what pthread_self() returns
inline constexpr std::ptrdiff_t multiple_threads = 0x18;  // int; 1 keeps lock prefixes on
inline constexpr std::ptrdiff_t stack_guard = 0x28;       // stack-protector canary
inline constexpr std::ptrdiff_t pointer_guard = 0x30;     // key of glibc's pointer mangling
inline constexpr std::ptrdiff_t feature_1 = 0x48;         // unsigned; CET feature bits
}  // namespace tcbhead

// The glibc versions whose private interfaces this backend was checked against.
inline constexpr const char* verified_glibc_versions = "2.36 (x86_64)";

// The largest libc.so.6 TLS block the backend copies when it reuses a thread's memory
// (144 bytes on 2.36).
inline constexpr std::size_t max_libc_tls_size = 1024;

// Everything the backend uses from glibc, resolved once by glibc().
struct glibc_abi {
  // Private functions of ld.so and libc, called with a thread control block (tcb).
  void* (*allocate_tls)(void* tcb);                  // _dl_allocate_tls: new DTV, static TLS set up
  void (*deallocate_tls)(void* tcb, bool free_tcb);  // _dl_deallocate_tls: frees DTV, dynamic TLS
  void (*call_tls_dtors)();                          // __call_tls_dtors: thread_local destructors
  void (*ctype_init)();                              // __ctype_init: this thread's <ctype.h> tables
  void (*res_iclose)(void* state, bool free_addresses);  // __res_iclose: closes a resolver state

  // Layout of struct pthread, read from libc's _thread_db_* descriptors.
  std::size_t pthread_size;    // bytes of struct pthread: the tcb proper
  std::ptrdiff_t tid_offset;   // pid_t tid, written by the kernel at clone and at exit
  std::ptrdiff_t list_offset;  // list_t list, which fork() in the child unlinks
  std::ptrdiff_t dtv_offset;   // dtv_t* of the thread's dynamic thread vector

  // struct pthread's tls_state (glibc's tls_internal_t): the buffers strsignal() and
  // strerror() allocate for numbers they have no text for. No descriptor names them:
  // found on a live pthread by check_glibc_abi_live (locate_message_buffers).
  std::ptrdiff_t strsignal_buffer_offset;  // char* strsignal_buf
  std::ptrdiff_t strerror_buffer_offset;   // char* strerror_l_buf

  // Static TLS: the blocks below the thread pointer, the same for every thread.
  std::size_t static_tls_size;     // bytes from the lowest block to the end of the tcb
  std::size_t static_tls_align;    // alignment of the thread pointer
  std::ptrdiff_t resp_offset;      // thread pointer + this = &__resp (resolver state pointer)
  std::ptrdiff_t libc_tls_offset;  // thread pointer - this = libc.so.6's own TLS block
  std::size_t libc_tls_size;       // bytes of that block (malloc's tcache pointer lives there)

  // Restartable sequences (public since glibc 2.35).
  std::ptrdiff_t rseq_offset;   // thread pointer + this = struct rseq of the thread
  unsigned rseq_size;           // __rseq_size; 0 when glibc did not register rseq
  unsigned rseq_register_size;  // length the rseq system call is given (at least 32)
};

// Finds a symbol by name and version, as dlvsym(RTLD_DEFAULT, name, version) does.
using symbol_lookup = void* (*)(const char* name, const char* version);

// Resolves every private symbol and descriptor through `lookup` and checks that the
// descriptors describe fields of the expected width inside struct pthread. Throws
// std::runtime_error naming the first symbol missing or descriptor out of shape.
glibc_abi resolve_glibc_abi(symbol_lookup lookup);

// Cross-checks `abi` on live threads (the caller, then one pthread) and, by creating that
// pthread, switches glibc and libstdc++ into multi-threaded mode for good; on that
// pthread it also finds the strsignal and strerror buffers and fills in their offsets.
// Throws std::runtime_error naming the first check that failed.
void check_glibc_abi_live(glibc_abi& abi);

// The resolved and checked interfaces. The first call resolves and checks (thread-safe);
// if that throws, every later call throws the same way. Call from a glibc thread.
const glibc_abi& glibc();

// Reads the 8-byte word at `offset` from the calling thread's thread pointer (fs base).
inline std::uint64_t read_thread_word(std::ptrdiff_t offset) noexcept {
  std::uint64_t value;
  asm volatile("movq %%fs:(%1), %0" : "=r"(value) : "r"(offset));
  return value;
}

// The calling thread's thread pointer: the address of its tcb.
inline std::byte* thread_pointer() noexcept {
  return reinterpret_cast<std::byte*>(read_thread_word(tcbhead::tcb));
}

}  // namespace spindle::clone::detail
