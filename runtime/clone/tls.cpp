// runtime/clone/tls.cpp — building glibc thread control blocks for clone threads.
//
// Concept: see tls.hpp. Every field written here is listed, with what breaks without it,
// in docs/09-clone-backend.md; the offsets come from glibc_abi.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/stack.cpp.

#include "tls.hpp"

#include <dlfcn.h>
#include <locale.h>
#include <netdb.h>
#include <resolv.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "glibc_abi.hpp"

namespace spindle::clone::detail {
namespace {

// A libc.so.6 TLS block saved from a destroyed control block, waiting for a new one.
struct spare_libc_block {
  spare_libc_block* next;
  std::byte* bytes() noexcept { return reinterpret_cast<std::byte*>(this + 1); }
};

spare_libc_block* spare_blocks = nullptr;  // protected by the memory lock (stack.cpp)

template <class T>
void put(std::byte* tcb, std::ptrdiff_t offset, T value) noexcept {
  std::memcpy(tcb + offset, &value, sizeof value);
}

std::byte* libc_block(std::byte* tcb) noexcept { return tcb - glibc().libc_tls_offset; }

// The creator's canary, pointer guard and CET bits are the process's: glibc mangles
// pointers stored in shared tables (atexit, setjmp) with the guard, so every thread must
// hold the same one; exit() from a thread with another guard crashes.
void fill_header(std::byte* tcb) noexcept {
  const glibc_abi& abi = glibc();
  put(tcb, tcbhead::tcb, tcb);
  put(tcb, tcbhead::self, tcb);
  put(tcb, tcbhead::multiple_threads, 1);  // else malloc's fastbin CAS loses its lock prefix
  put(tcb, tcbhead::stack_guard, read_thread_word(tcbhead::stack_guard));
  put(tcb, tcbhead::pointer_guard, read_thread_word(tcbhead::pointer_guard));
  put(tcb, tcbhead::feature_1, static_cast<std::uint32_t>(read_thread_word(tcbhead::feature_1)));
  std::byte* list = tcb + abi.list_offset;  // linked to itself: fork() in the child unlinks it
  put(tcb, abi.list_offset, list);
  put(tcb, abi.list_offset + 8, list);
  std::memset(tcb + abi.rseq_offset, 0, abi.rseq_register_size);
  put(tcb, abi.rseq_offset + offsetof(struct rseq, cpu_id),
      abi.rseq_size != 0 ? RSEQ_CPU_ID_UNINITIALIZED : RSEQ_CPU_ID_REGISTRATION_FAILED);
  tid_word(tcb).store(0, std::memory_order_relaxed);
}

}  // namespace

std::atomic<pid_t>& tid_word(std::byte* tcb) noexcept {
  static_assert(sizeof(std::atomic<pid_t>) == sizeof(pid_t) &&
                std::atomic<pid_t>::is_always_lock_free);
  return *reinterpret_cast<std::atomic<pid_t>*>(tcb + glibc().tid_offset);
}

bool tls_create(std::byte* tcb) noexcept {
  if (glibc().allocate_tls(tcb) == nullptr) return false;
  if (spare_libc_block* spare = spare_blocks) {
    spare_blocks = spare->next;
    std::memcpy(libc_block(tcb), spare->bytes(), glibc().libc_tls_size);
    std::free(spare);
  }
  fill_header(tcb);
  return true;
}

bool tls_recycle(std::byte* tcb) noexcept {
  const glibc_abi& abi = glibc();
  std::byte saved[max_libc_tls_size];
  std::memcpy(saved, libc_block(tcb), abi.libc_tls_size);
  abi.deallocate_tls(tcb, false);
  std::memset(tcb, 0, abi.pthread_size);
  if (abi.allocate_tls(tcb) == nullptr) return false;
  std::memcpy(libc_block(tcb), saved, abi.libc_tls_size);
  fill_header(tcb);
  return true;
}

void tls_destroy(std::byte* tcb) noexcept {
  const glibc_abi& abi = glibc();
  // Without room for the copy the block's malloc cache is lost: a leak, not an error.
  if (void* memory = std::malloc(sizeof(spare_libc_block) + abi.libc_tls_size)) {
    auto* spare = static_cast<spare_libc_block*>(memory);
    std::memcpy(spare->bytes(), libc_block(tcb), abi.libc_tls_size);
    spare->next = spare_blocks;
    spare_blocks = spare;
  }
  abi.deallocate_tls(tcb, false);
}

void tls_enter_thread(void* resolver) noexcept {
  const glibc_abi& abi = glibc();
  std::byte* tp = thread_pointer();
  if (abi.rseq_size != 0 &&
      syscall(SYS_rseq, tp + abi.rseq_offset, abi.rseq_register_size, 0, RSEQ_SIG) != 0)
    put(tp, abi.rseq_offset + offsetof(struct rseq, cpu_id), RSEQ_CPU_ID_REGISTRATION_FAILED);
  put(tp, abi.resp_offset, resolver);
  abi.ctype_init();
  errno = 0;
  h_errno = 0;  // lives in libc's block, which the previous thread of this memory used
}

namespace {

// What glibc's __libc_thread_freeres frees (malloc/thread-freeres.c), reached by the
// means a clone thread has. Each step leaves the state as a new thread must find it,
// since libc's TLS block and the resolver state go to the next thread of this memory.
void free_thread_libc_state() noexcept {
  const glibc_abi& abi = glibc();
  std::byte* tp = thread_pointer();
  // __glibc_tls_internal_free: the texts for unknown errno and signal numbers.
  for (std::ptrdiff_t offset : {abi.strsignal_buffer_offset, abi.strerror_buffer_offset}) {
    char* buffer;
    std::memcpy(&buffer, tp + offset, sizeof buffer);
    std::free(buffer);
    put(tp, offset, static_cast<char*>(nullptr));
  }
  // __libc_dlerror_result_free: a pending error is delivered, then a delivered one is
  // freed, by dlerror() itself; null says nothing is left.
  while (dlerror() != nullptr) {
  }
  // __res_thread_freeres: close the resolver's sockets, and make the next res_ninit
  // (or the next lookup) start from /etc/resolv.conf.
  res_state resolver = __res_state();
  if (resolver->nscount != 0) {
    abi.res_iclose(resolver, true);
    resolver->options = 0;
  }
}

}  // namespace

void tls_leave_thread() noexcept {
  glibc().call_tls_dtors();
  free_thread_libc_state();
  uselocale(LC_GLOBAL_LOCALE);
}

}  // namespace spindle::clone::detail
