// tests/clone_kernel_thread_test.cpp — the clone backend's lowest layer: kernel threads.
//
// Concept: each test states one behaviour of start/join/detach and of the TLS a clone
// thread gets. Outcomes only, never durations. Stress and exhaustion are tested in
// tests/clone_stress_test.cpp; credentials, fork and exit in tests/clone_process_test.cpp.
// Explained in: docs/09-clone-backend.md. Read next: tests/clone_stress_test.cpp.
#include <dlfcn.h>
#include <doctest/doctest.h>
#include <locale.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "clone/glibc_abi.hpp"
#include "clone/stack.hpp"
#include "clone_test_support.hpp"

using namespace clone_test;

namespace {

// A lookup that hides one symbol, or hands out a descriptor of the wrong shape.
const char* hidden_symbol = nullptr;
const std::uint32_t narrow_tid_descriptor[3] = {16, 1, 720};

void* lookup_with_faults(const char* name, const char* version) {
  if (hidden_symbol != nullptr && std::strcmp(name, hidden_symbol) == 0) return nullptr;
  if (std::strcmp(name, "_thread_db_pthread_tid") == 0 && hidden_symbol == nullptr)
    return const_cast<std::uint32_t*>(narrow_tid_descriptor);
  return dlvsym(RTLD_DEFAULT, name, version);
}

}  // namespace

// Can a function that may throw be started? No: the compiler refuses it.
static_assert(!std::is_convertible_v<void (*)(void*), kt::thread_function>);
static_assert(std::is_convertible_v<void (*)(void*) noexcept, kt::thread_function>);

// Can several threads race to be first to call ensure_ready?
TEST_CASE("ensure_ready_accepts_this_glibc_from_many_threads_at_once") {
  std::vector<std::thread> racers;
  for (int i = 0; i < 4; ++i) racers.emplace_back([] { kt::ensure_ready(); });
  for (auto& racer : racers) racer.join();
  CHECK_NOTHROW(kt::ensure_ready());
}

// What does the user see when glibc lacks a private symbol, or its layout moved?
TEST_CASE("a_missing_symbol_or_moved_field_is_refused_with_its_name") {
  hidden_symbol = "_dl_allocate_tls";
  try {
    kt::resolve_glibc_abi(lookup_with_faults);
    FAIL("a missing _dl_allocate_tls was accepted");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("_dl_allocate_tls@GLIBC_PRIVATE is missing") !=
          std::string::npos);
    CHECK(std::string(e.what()).find("verified on glibc 2.36") != std::string::npos);
  }
  hidden_symbol = nullptr;
  try {
    kt::resolve_glibc_abi(lookup_with_faults);
    FAIL("a 16-bit tid field was accepted");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("_thread_db_pthread_tid is {16,1,720}") != std::string::npos);
  }
}

// Does join return only after the function has run to its end?
TEST_CASE("join_returns_after_the_thread_function_has_finished") {
  gate go;
  std::atomic<int> stage{0};
  auto body = [&] {
    go.wait();
    stage.store(1);
  };
  kt::kernel_thread* t = start_running(body);
  CHECK(stage.load() == 0);
  go.open();
  kt::join(t);
  CHECK(stage.load() == 1);
}

// Does wait_for_exit_or return when the word is set, while the thread still runs, and
// when the thread exits, with the word still 0?
TEST_CASE("wait_for_exit_or_returns_at_the_word_or_at_the_exit_whichever_comes_first") {
  kt::ensure_ready();
  if (!kt::exit_or_word_wait_available()) {
    MESSAGE("not run: no futex_waitv here (an older kernel, or valgrind)");
    return;
  }
  gate go;
  auto body = [&] { go.wait(); };
  kt::kernel_thread* t = start_running(body);
  std::atomic<std::uint32_t> word{0};
  std::thread setter([&] {
    word.store(1, std::memory_order_release);
    kt::futex::wake_private(word);
  });
  kt::wait_for_exit_or(t, word);
  CHECK(kt::tid(t) != 0);
  setter.join();
  word.store(0);
  go.open();
  kt::wait_for_exit_or(t, word);
  CHECK(kt::tid(t) == 0);
  CHECK(word.load() == 0);
  kt::join(t);
}

// Is a thread a separate kernel task with its own control block and thread pointer?
TEST_CASE("each_thread_has_its_own_kernel_id_and_control_block") {
  gate go;
  pid_t inside_tid = 0;
  void* inside_self = nullptr;
  std::byte* inside_tp = nullptr;
  auto body = [&] {
    inside_tid = static_cast<pid_t>(syscall(SYS_gettid));
    inside_self = reinterpret_cast<void*>(pthread_self());
    inside_tp = kt::thread_pointer();
    go.wait();
  };
  kt::kernel_thread* t = start_running(body);
  pid_t running_tid = kt::tid(t);
  struct stat task {};
  CHECK(stat(("/proc/self/task/" + std::to_string(running_tid)).c_str(), &task) == 0);
  go.open();
  kt::join(t);
  CHECK(inside_tid == running_tid);
  CHECK(inside_tid != getpid());
  CHECK(inside_self == inside_tp);
  CHECK(inside_tp != kt::thread_pointer());
}

// Does errno written by one thread ever show up in another?
TEST_CASE("errno_is_private_to_each_clone_thread") {
  constexpr int threads = 8;
  std::atomic<int> wrong{0};
  auto body = [&] {
    int mine = static_cast<int>(syscall(SYS_gettid));
    for (int i = 0; i < 20000; ++i) {
      errno = mine;
      sched_yield();
      wrong += errno != mine;
    }
  };
  errno = 0;
  std::vector<kt::kernel_thread*> started;
  for (int i = 0; i < threads; ++i) started.push_back(start_running(body));
  for (auto* t : started) kt::join(t);
  CHECK(wrong.load() == 0);
  CHECK(errno == 0);
}

namespace {
std::atomic<int> destroyed{0};
struct counted {
  int value = 7;
  ~counted() { destroyed.fetch_add(1); }
};
thread_local counted local_counter;
}  // namespace

// Does a new thread on reused memory start with fresh thread_local values, and does
// each thread's destructor run when it exits?
TEST_CASE("thread_local_variables_start_fresh_and_are_destroyed_at_exit") {
  destroyed = 0;
  local_counter.value = 1000;
  std::vector<int> seen;
  std::mutex seen_lock;
  auto body = [&] {
    std::lock_guard lock(seen_lock);
    seen.push_back(local_counter.value);
    local_counter.value = 99;
  };
  for (int i = 0; i < 10; ++i) kt::join(start_running(body));
  CHECK(seen == std::vector<int>(10, 7));
  CHECK(destroyed.load() == 10);
  CHECK(local_counter.value == 1000);
}

// Do <ctype.h> and sched_getcpu (which reads the rseq area) work in a new thread?
TEST_CASE("ctype_and_sched_getcpu_work_in_a_clone_thread") {
  int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  int cpu = cpus > 1 ? 1 : 0;
  int reported = -1;
  unsigned actual = 99;
  bool ctype_ok = false;
  auto body = [&] {
    cpu_set_t only;
    CPU_ZERO(&only);
    CPU_SET(cpu, &only);
    sched_setaffinity(0, sizeof only, &only);
    reported = sched_getcpu();
    syscall(SYS_getcpu, &actual, nullptr, nullptr);
    ctype_ok = std::isalpha('q') && !std::isdigit('q') && std::toupper('q') == 'Q';
  };
  kt::join(start_running(body));
  CHECK(ctype_ok);
  CHECK(actual == static_cast<unsigned>(cpu));
  CHECK(reported == cpu);
}

namespace {

// Runs `first` on a clone thread, then `second` on the next one, which must reuse the
// first one's memory (the same control block: pthread_self() is its address).
template <class First, class Second>
void on_one_memory_twice(First first, Second second) {
  pthread_t first_tcb{}, second_tcb{};
  auto run_first = [&] {
    first_tcb = pthread_self();
    first();
  };
  auto run_second = [&] {
    second_tcb = pthread_self();
    second();
  };
  kt::join(start_running(run_first));
  kt::join(start_running(run_second));
  REQUIRE(first_tcb == second_tcb);
}

}  // namespace

// A thread left a dlopen error it never read: does the next thread on its memory see
// none (pthreads: a new thread's first dlerror() is null)?
TEST_CASE("a_new_threads_first_dlerror_is_null_after_a_finished_thread_left_one") {
  const char* left = nullptr;
  const char* seen = "not called";
  on_one_memory_twice(
      [&] { left = dlopen("libspindle-no-such-library.so", RTLD_NOW) ? "" : "pending"; },
      [&] { seen = dlerror(); });
  CHECK(std::string(left) == "pending");
  CHECK(seen == nullptr);
}

// errno and h_errno set by a finished thread: does the next thread start with both 0?
TEST_CASE("errno_and_h_errno_start_at_zero_after_a_finished_thread_set_them") {
  int errno_seen = -1, h_errno_seen = -1;
  on_one_memory_twice(
      [] {
        errno = EXDEV;
        h_errno = HOST_NOT_FOUND;
      },
      [&] {
        errno_seen = errno;
        h_errno_seen = h_errno;
      });
  CHECK(errno_seen == 0);
  CHECK(h_errno_seen == 0);
}

// A thread switched to a locale of its own with uselocale: does the next thread start in
// the global locale?
TEST_CASE("a_new_thread_starts_in_the_global_locale_after_a_finished_thread_used_its_own") {
  locale_t own = newlocale(LC_ALL_MASK, "C", nullptr);
  REQUIRE(own != nullptr);
  locale_t seen = nullptr;
  on_one_memory_twice([&] { uselocale(own); }, [&] { seen = uselocale(nullptr); });
  freelocale(own);
  CHECK(seen == LC_GLOBAL_LOCALE);
}

// A thread initialised its resolver state: does the next thread find it uninitialised,
// as a new pthread does (glibc closes it at thread exit)?
TEST_CASE("a_new_threads_resolver_state_is_uninitialised_after_a_finished_thread_used_it") {
  unsigned long first_options = 0, second_options = 1;
  on_one_memory_twice(
      [&] {
        res_init();
        first_options = _res.options;
      },
      [&] { second_options = _res.options; });
  CHECK((first_options & RES_INIT) != 0);
  CHECK((second_options & RES_INIT) == 0);
}

// strerror and strsignal of a number they have no text for allocate that text: is it
// freed at thread exit (valgrind's configuration reports it lost otherwise), and does
// the next thread get its own?
TEST_CASE("strerror_and_strsignal_texts_of_unknown_numbers_are_the_threads_own") {
  std::string first_error, first_signal, second_error, second_signal;
  on_one_memory_twice(
      [&] {
        first_error = std::strerror(123456);
        first_signal = strsignal(SIGRTMIN + 2);
      },
      [&] {
        second_error = std::strerror(654321);
        second_signal = strsignal(SIGRTMIN + 3);
      });
  CHECK(first_error == "Unknown error 123456");
  CHECK(second_error == "Unknown error 654321");
  CHECK(first_signal == "Real-time signal 2");
  CHECK(second_signal == "Real-time signal 3");
}

// Does a thread_local destructor registered by a finished thread stay with that thread:
// run once at its exit, never again by the next thread on its memory?
TEST_CASE("thread_local_destructors_run_once_in_the_thread_that_registered_them") {
  destroyed = 0;
  int after_first = -1;
  on_one_memory_twice([] { local_counter.value = 1; }, [&] { after_first = destroyed.load(); });
  CHECK(after_first == 1);
  CHECK(destroyed.load() == 1);
}

// Does a recursive mutex, which records its owner's tid, admit one clone thread at a time?
TEST_CASE("recursive_mutex_admits_one_clone_thread_at_a_time") {
  std::recursive_mutex mutex;
  long counter = 0;
  std::atomic<bool> occupied{false};
  std::atomic<int> intruded{0};
  auto body = [&] {
    for (int i = 0; i < 20000; ++i) {
      std::lock_guard outer(mutex);
      std::lock_guard inner(mutex);
      intruded += occupied.exchange(true, std::memory_order_relaxed);
      counter = counter + 1;
      occupied.store(false, std::memory_order_relaxed);
    }
  };
  std::vector<kt::kernel_thread*> started;
  for (int i = 0; i < 4; ++i) started.push_back(start_running(body));
  for (auto* t : started) kt::join(t);
  CHECK(intruded.load() == 0);
  CHECK(counter == 4 * 20000);
}

// Are the memory mappings of finished threads reused rather than multiplied?
TEST_CASE("start_and_join_many_times_reuses_the_same_memory") {
  std::atomic<int> ran{0};
  auto body = [&] { ran.fetch_add(1); };
  for (int i = 0; i < 100; ++i) kt::join(start_running(body));
  int mappings_before = count_lines("/proc/self/maps");
  for (int i = 0; i < 3000; ++i) kt::join(start_running(body));
  CHECK(ran.load() == 3100);
  CHECK(count_lines("/proc/self/maps") <= mappings_before + 4);
  CHECK(kt::count_thread_memory().cached >= 1);
}

// Is a detached thread's memory reclaimed once it has exited, and only then?
TEST_CASE("detached_threads_memory_is_reclaimed_after_they_exit") {
  static gate go;  // static: detached threads may outlive this test's locals
  std::size_t waiting_before = kt::count_thread_memory().awaiting_exit;
  for (int i = 0; i < 8; ++i) kt::detach(kt::start([](void*) noexcept { go.wait(); }, nullptr));
  auto nothing = [] {};
  kt::join(start_running(nothing));
  CHECK(kt::count_thread_memory().awaiting_exit == waiting_before + 8);
  go.open();
  for (int i = 0; i < 100000 && kt::count_thread_memory().awaiting_exit != 0; ++i)
    kt::join(start_running(nothing));
  CHECK(kt::count_thread_memory().awaiting_exit == 0);
}

// What happens with a null function, a silly stack size, a null or used handle, or a
// thread joining itself?
TEST_CASE("bad_arguments_are_refused_with_invalid_argument") {
  CHECK_THROWS_AS(kt::start(nullptr, nullptr), std::invalid_argument);
  auto nothing = [] {};
  CHECK_THROWS_AS(start_running(nothing, 4096), std::invalid_argument);
  CHECK_THROWS_AS(start_running(nothing, std::size_t{2} << 30), std::invalid_argument);
  CHECK_THROWS_AS(kt::join(nullptr), std::invalid_argument);
  CHECK_THROWS_AS(kt::detach(nullptr), std::invalid_argument);

  // A detached thread may outlive this test's locals, so it uses only static ones.
  static gate detached_go;
  kt::kernel_thread* t = kt::start([](void*) noexcept { detached_go.wait(); }, nullptr);
  kt::detach(t);
  CHECK_THROWS_AS(kt::join(t), std::invalid_argument);
  detached_go.open();

  std::atomic<kt::kernel_thread*> self{nullptr};
  std::string refusal;
  auto joins_itself = [&] {
    while (self.load() == nullptr) sched_yield();
    try {
      kt::join(self.load());
    } catch (const std::invalid_argument& e) {
      refusal = e.what();
    }
  };
  kt::kernel_thread* j = start_running(joins_itself);
  self.store(j);
  kt::join(j);
  CHECK(refusal == "spindle: a thread cannot join itself");
}

namespace {
volatile int deepest = -1;  // never reached: descend runs until the stack ends

// Uses about 1 KiB of stack per level.
[[gnu::noinline]] int descend(int depth) {
  if (depth == deepest) return 0;
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  return descend(depth + 1) + frame[0];
}
}  // namespace

// Can a thread use nearly all the stack it asked for, and does running off its end
// fault on the guard page instead of writing into a neighbour?
TEST_CASE("a_thread_can_use_its_stack_and_an_overflow_hits_the_guard_page") {
  constexpr std::size_t size = 512 * 1024;
  bool filled = false;
  auto body = [&] {
    volatile char big[size - 16 * 1024];
    big[0] = 1;
    big[sizeof big - 1] = 2;
    filled = big[0] + big[sizeof big - 1] == 3;
  };
  kt::join(start_running(body, size));
  CHECK(filled);
  int status = exit_status_of_child([&] {
    auto overflow = [] { descend(0); };
    kt::join(start_running(overflow, size));
    return 0;
  });
  CHECK(status == 128 + SIGSEGV);
}
