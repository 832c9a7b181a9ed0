// runtime/clone/glibc_abi.cpp — resolving and checking glibc's private interfaces.
//
// Concept: see glibc_abi.hpp. The checks compare what the backend is about to write into
// a new thread's control block with what glibc wrote into its own threads, so a glibc
// whose layout moved is refused at start-up instead of corrupting memory later.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/tls.cpp.

#include "glibc_abi.hpp"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/rseq.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace spindle::clone::detail {
namespace {

[[noreturn]] void refuse(const std::string& what) {
  throw std::runtime_error("spindle clone backend: " + what + "; verified on glibc " +
                           verified_glibc_versions + ", this process runs glibc " +
                           gnu_get_libc_version());
}

void* require(symbol_lookup lookup, const char* name, const char* version) {
  void* address = lookup(name, version);
  if (address == nullptr) refuse(std::string("the symbol ") + name + "@" + version + " is missing");
  return address;
}

// A libthread_db field descriptor: {width in bits, element count, byte offset}.
std::ptrdiff_t field_offset(symbol_lookup lookup, const char* name, std::uint32_t bits,
                            std::size_t struct_size) {
  auto* d = static_cast<const std::uint32_t*>(require(lookup, name, "GLIBC_PRIVATE"));
  if (d[0] != bits || d[1] != 1 || d[2] + bits / 8 > struct_size)
    refuse(std::string("the descriptor ") + name + " is {" + std::to_string(d[0]) + "," +
           std::to_string(d[1]) + "," + std::to_string(d[2]) + "}, not a " + std::to_string(bits) +
           "-bit field inside struct pthread");
  return d[2];
}

template <class F>
F function(symbol_lookup lookup, const char* name) {
  return reinterpret_cast<F>(require(lookup, name, "GLIBC_PRIVATE"));
}

void resolve_layout(glibc_abi& abi, symbol_lookup lookup) {
  abi.pthread_size = *static_cast<const std::uint32_t*>(
      require(lookup, "_thread_db_sizeof_pthread", "GLIBC_PRIVATE"));
  if (abi.pthread_size < 0x100 || abi.pthread_size > 64 * 1024)
    refuse("_thread_db_sizeof_pthread says struct pthread has " + std::to_string(abi.pthread_size) +
           " bytes");
  abi.tid_offset = field_offset(lookup, "_thread_db_pthread_tid", 32, abi.pthread_size);
  abi.list_offset = field_offset(lookup, "_thread_db_pthread_list", 128, abi.pthread_size);
  abi.dtv_offset = field_offset(lookup, "_thread_db_pthread_dtvp", 64, abi.pthread_size);
  if (abi.dtv_offset != 8)
    refuse("_thread_db_pthread_dtvp places the DTV pointer at " + std::to_string(abi.dtv_offset) +
           ", not in tcbhead_t at 8");
}

void resolve_static_tls(glibc_abi& abi, symbol_lookup lookup) {
  auto info = function<void (*)(std::size_t*, std::size_t*)>(lookup, "_dl_get_tls_static_info");
  info(&abi.static_tls_size, &abi.static_tls_align);
  if (abi.static_tls_size <= abi.pthread_size || abi.static_tls_align == 0 ||
      (abi.static_tls_align & (abi.static_tls_align - 1)) != 0)
    refuse("_dl_get_tls_static_info reports size " + std::to_string(abi.static_tls_size) +
           " and alignment " + std::to_string(abi.static_tls_align));
  auto* resp = static_cast<std::byte*>(require(lookup, "__resp", "GLIBC_PRIVATE"));
  abi.resp_offset = resp - thread_pointer();
  auto reach = static_cast<std::ptrdiff_t>(abi.static_tls_size - abi.pthread_size);
  if (abi.resp_offset >= 0 || abi.resp_offset < -reach)
    refuse("__resp is not in the static TLS blocks below the thread pointer");
}

void resolve_rseq(glibc_abi& abi, symbol_lookup lookup) {
  abi.rseq_offset =
      *static_cast<const std::ptrdiff_t*>(require(lookup, "__rseq_offset", "GLIBC_2.35"));
  abi.rseq_size = *static_cast<const unsigned*>(require(lookup, "__rseq_size", "GLIBC_2.35"));
  // The kernel accepts no registration shorter than the original 32-byte struct rseq,
  // while glibc may publish a smaller feature size (20 on Debian's 2.36).
  abi.rseq_register_size = std::max<unsigned>(abi.rseq_size, 32);
  if (abi.rseq_offset < 0 || abi.rseq_offset + sizeof(struct rseq) > abi.pthread_size)
    refuse("__rseq_offset " + std::to_string(abi.rseq_offset) + " is not inside struct pthread");
}

struct tls_search {
  const std::byte* inside;  // an address in the wanted block
  const std::byte* start;   // the block found
  std::size_t size;
};

int find_tls_block(dl_phdr_info* info, std::size_t, void* data) {
  auto* search = static_cast<tls_search*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    auto* start = static_cast<const std::byte*>(info->dlpi_tls_data);
    if (ph.p_type != PT_TLS || start == nullptr) continue;
    if (search->inside >= start && search->inside < start + ph.p_memsz) {
      search->start = start;
      search->size = ph.p_memsz;
      return 1;
    }
  }
  return 0;
}

// libc.so.6's block is the one holding __resp, one of its own TLS variables.
void resolve_libc_block(glibc_abi& abi) {
  tls_search search{thread_pointer() + abi.resp_offset, nullptr, 0};
  if (dl_iterate_phdr(find_tls_block, &search) == 0)
    refuse("no loaded object's TLS block holds __resp");
  abi.libc_tls_offset = thread_pointer() - search.start;
  abi.libc_tls_size = search.size;
  auto reach = static_cast<std::ptrdiff_t>(abi.static_tls_size - abi.pthread_size);
  if (abi.libc_tls_offset <= 0 || abi.libc_tls_offset > reach)
    refuse("libc.so.6's TLS block is not in static TLS");
  if (abi.libc_tls_size > max_libc_tls_size)
    refuse("libc.so.6's TLS block has " + std::to_string(abi.libc_tls_size) + " bytes");
}

}  // namespace

glibc_abi resolve_glibc_abi(symbol_lookup lookup) {
  glibc_abi abi{};
  abi.allocate_tls = function<void* (*)(void*)>(lookup, "_dl_allocate_tls");
  abi.deallocate_tls = function<void (*)(void*, bool)>(lookup, "_dl_deallocate_tls");
  abi.call_tls_dtors = function<void (*)()>(lookup, "__call_tls_dtors");
  abi.ctype_init = function<void (*)()>(lookup, "__ctype_init");
  abi.res_iclose = function<void (*)(void*, bool)>(lookup, "__res_iclose");
  resolve_layout(abi, lookup);
  resolve_static_tls(abi, lookup);
  resolve_rseq(abi, lookup);
  resolve_libc_block(abi);
  return abi;
}

namespace {

// What a glibc thread finds in its own control block.
struct header_sample {
  std::uint64_t tcb, self, multiple_threads, stack_guard, pointer_guard, feature_1;
  pid_t tid_field, tid;
};

header_sample sample_header(const glibc_abi& abi) {
  header_sample s{};
  s.tcb = read_thread_word(tcbhead::tcb);
  s.self = read_thread_word(tcbhead::self);
  s.multiple_threads = read_thread_word(tcbhead::multiple_threads) & 0xffffffffu;
  s.stack_guard = read_thread_word(tcbhead::stack_guard);
  s.pointer_guard = read_thread_word(tcbhead::pointer_guard);
  s.feature_1 = read_thread_word(tcbhead::feature_1) & 0xffffffffu;
  std::memcpy(&s.tid_field, thread_pointer() + abi.tid_offset, sizeof s.tid_field);
  s.tid = static_cast<pid_t>(syscall(SYS_gettid));
  return s;
}

void expect(bool holds, const std::string& what) {
  if (!holds) refuse("live check failed: " + what);
}

// glibc derives both guards from the kernel's 16 random bytes (AT_RANDOM): the canary
// from the first eight with its low byte cleared, the pointer guard from the next eight.
void check_guards(const header_sample& s) {
  auto* random = reinterpret_cast<const unsigned char*>(getauxval(AT_RANDOM));
  expect(random != nullptr, "the kernel passed no AT_RANDOM bytes");
  std::uint64_t canary, pointer_guard;
  std::memcpy(&canary, random, 8);
  std::memcpy(&pointer_guard, random + 8, 8);
  expect(s.stack_guard == (canary & ~std::uint64_t{0xff}),
         "fs:0x28 does not hold the stack-protector canary");
  expect(s.pointer_guard == pointer_guard, "fs:0x30 does not hold the pointer guard");
}

void check_caller(const glibc_abi& abi, const header_sample& s) {
  auto self = reinterpret_cast<std::uint64_t>(pthread_self());
  expect(s.tcb == self && s.self == self, "fs:0, fs:0x10 and pthread_self() differ");
  expect(s.tid_field == s.tid, "the tid field of struct pthread is not gettid()");
  check_guards(s);
  if (abi.rseq_size == 0) return;
  // Registering the area glibc already registered must fail with EBUSY exactly when
  // address, length and signature all match the kernel's record.
  long r =
      syscall(SYS_rseq, thread_pointer() + abi.rseq_offset, abi.rseq_register_size, 0, RSEQ_SIG);
  expect(r == -1 && errno == EBUSY, "this thread's rseq area is not at __rseq_offset");
}

// The offset of the one word of the calling thread's struct pthread that holds
// `pointer`, or -1 if none or several do.
std::ptrdiff_t offset_of_word_holding(const glibc_abi& abi, const void* pointer) {
  std::ptrdiff_t found = -1;
  for (std::ptrdiff_t at = 0; at + 8 <= static_cast<std::ptrdiff_t>(abi.pthread_size); at += 8) {
    if (read_thread_word(at) != reinterpret_cast<std::uintptr_t>(pointer)) continue;
    if (found >= 0) return -1;
    found = at;
  }
  return found;
}

// glibc 2.34+ keeps, in struct pthread, the text strerror() and strsignal() make for a
// number they do not know (asprintf'd, freed by the next such call or at thread exit by
// __libc_thread_freeres). A clone thread must free them itself: find where they live by
// asking this pthread for both texts and looking for the returned pointers. The
// pthread's own exit frees them.
void locate_message_buffers(glibc_abi& abi) {
  constexpr int unknown_error = 0x7ffe0001;  // no errno value has a text
  const char* error_text = std::strerror(unknown_error);
  abi.strerror_buffer_offset = offset_of_word_holding(abi, error_text);
  const char* signal_text = strsignal(SIGRTMIN + 1);  // "Real-time signal 1", allocated
  abi.strsignal_buffer_offset = offset_of_word_holding(abi, signal_text);
}

struct pthread_sample {
  glibc_abi* abi;
  header_sample header;
};

void* sample_in_pthread(void* data) {
  auto* sample = static_cast<pthread_sample*>(data);
  sample->header = sample_header(*sample->abi);
  locate_message_buffers(*sample->abi);
  return nullptr;
}

void* lookup_in_process(const char* name, const char* version) {
  return dlvsym(RTLD_DEFAULT, name, version);
}

}  // namespace

void check_glibc_abi_live(glibc_abi& abi) {
  header_sample caller = sample_header(abi);
  check_caller(abi, caller);
  pthread_sample sample{&abi, {}};
  pthread_t thread;
  int err = pthread_create(&thread, nullptr, sample_in_pthread, &sample);
  expect(err == 0, std::string("pthread_create failed: ") + std::strerror(err));
  pthread_join(thread, nullptr);
  const header_sample& helper = sample.header;
  expect(helper.tcb == helper.self && helper.tcb != caller.tcb,
         "a pthread's fs:0 and fs:0x10 differ");
  expect(helper.tid_field == helper.tid, "a pthread's tid field is not its gettid()");
  expect(helper.multiple_threads == 1, "a pthread's fs:0x18 (multiple_threads) is not 1");
  expect(helper.stack_guard == caller.stack_guard && helper.pointer_guard == caller.pointer_guard &&
             helper.feature_1 == caller.feature_1,
         "pthread_create did not copy fs:0x28, fs:0x30 and fs:0x48 as expected");
  expect((read_thread_word(tcbhead::multiple_threads) & 0xffffffffu) == 1 &&
             __libc_single_threaded == 0,
         "glibc did not switch to multi-threaded mode");
  expect(abi.strerror_buffer_offset > 0 && abi.strsignal_buffer_offset > 0 &&
             abi.strerror_buffer_offset == abi.strsignal_buffer_offset + 8,
         "the buffers of strerror() and strsignal() for unknown numbers were not found "
         "side by side in struct pthread (tls_state)");
}

const glibc_abi& glibc() {
  static const glibc_abi abi = [] {
    glibc_abi resolved = resolve_glibc_abi(lookup_in_process);
    check_glibc_abi_live(resolved);
    return resolved;
  }();
  return abi;
}

}  // namespace spindle::clone::detail
