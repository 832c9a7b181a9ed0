// tests/green_home_test.cpp — a green object called from a kernel thread that is not its
// home fails at once, naming the object, the home and the caller.
//
// Each test runs once per kind of foreign caller: a std::thread, a clone thread, and a
// green thread of another kernel thread's scheduler. The object is first used on the
// test's own kernel thread (its home); the foreign call must throw
// spindle::foreign_thread_error and leave the object as it was, usable at home.
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "harness.hpp"

namespace green = spindle::green;
using namespace std::chrono_literals;

namespace {

long kernel_tid() { return static_cast<long>(syscall(SYS_gettid)); }

// What a call made elsewhere did: the error it threw, if it was the expected one.
struct foreign_outcome {
  bool threw_foreign = false;
  bool threw_other = false;
  std::string what;
  const void* object = nullptr;
  long home_tid = 0;
  long caller_tid = 0;
  long ran_on = 0;  // the kernel thread the call ran on
};

foreign_outcome attempt(const std::function<void()>& call) {
  foreign_outcome out;
  out.ran_on = kernel_tid();
  try {
    call();
  } catch (const spindle::foreign_thread_error& e) {
    out.threw_foreign = true;
    out.what = e.what();
    out.object = e.object();
    out.home_tid = e.home_tid();
    out.caller_tid = e.caller_tid();
  } catch (...) {
    out.threw_other = true;
  }
  return out;
}

struct from_std_thread {
  static constexpr const char* name = "a std::thread";
  static foreign_outcome run(const std::function<void()>& call) {
    foreign_outcome out;
    std::thread([&] { out = attempt(call); }).join();
    return out;
  }
};

struct from_clone_thread {
  static constexpr const char* name = "a clone thread";
  static foreign_outcome run(const std::function<void()>& call) {
    return spindle::clone::spawn([&] { return attempt(call); }).join();
  }
};

// A std::thread whose green threads call: that kernel thread has a scheduler of its own.
struct from_another_scheduler {
  static constexpr const char* name = "a green thread of another scheduler";
  static foreign_outcome run(const std::function<void()>& call) {
    foreign_outcome out;
    std::thread([&] { out = green::spawn([&] { return attempt(call); }).join(); }).join();
    return out;
  }
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FOREIGN_CALLERS from_std_thread, from_another_scheduler
#else
#define FOREIGN_CALLERS from_std_thread, from_clone_thread, from_another_scheduler
#endif

// The error names the call, the object's address, the home's and the caller's kernel
// thread ids.
template <class Caller>
void check_refused(const foreign_outcome& out, const void* object, const std::string& call) {
  INFO("foreign caller: " << Caller::name << "; what(): " << out.what);
  REQUIRE(out.threw_foreign);
  CHECK(!out.threw_other);
  CHECK(out.object == object);
  CHECK(out.home_tid == kernel_tid());
  CHECK(out.caller_tid == out.ran_on);
  CHECK(out.caller_tid != kernel_tid());
  std::ostringstream address;
  address << object;
  CHECK(out.what.find(call) != std::string::npos);
  CHECK(out.what.find(address.str()) != std::string::npos);
  CHECK(out.what.find("kernel thread " + std::to_string(kernel_tid())) != std::string::npos);
  CHECK(out.what.find("kernel thread " + std::to_string(out.caller_tid)) != std::string::npos);
}

}  // namespace

TEST_SUITE("green home") {

// What if another kernel thread locks a free mutex that this one's threads use?
TEST_CASE_TEMPLATE("lock_try_lock_and_unlock_from_another_kernel_thread_throw_naming_the_mutex",
                   Caller, FOREIGN_CALLERS) {
  green::mutex m;
  { std::lock_guard first_use(m); }
  check_refused<Caller>(Caller::run([&] { m.lock(); }), &m, "spindle::green::mutex::lock");
  check_refused<Caller>(Caller::run([&] { (void)m.try_lock(); }), &m,
                        "spindle::green::mutex::try_lock");
  m.lock();
  check_refused<Caller>(Caller::run([&] { m.unlock(); }), &m, "spindle::green::mutex::unlock");
  m.unlock();  // still ours: the foreign unlock changed nothing
  CHECK(m.try_lock());
  m.unlock();
}

// What if a green thread waits for a mutex while another kernel thread tries to release
// it? Before, that thread's unlock was a race and the waiter's park a false deadlock.
TEST_CASE_TEMPLATE("a_mutex_held_at_home_is_not_released_by_another_kernel_thread", Caller,
                   FOREIGN_CALLERS) {
  green::mutex m;
  m.lock();
  bool waiter_got_it = false;
  auto waiter = green::spawn([&] {
    std::lock_guard held(m);
    waiter_got_it = true;
  });
  green::this_thread::yield();  // the waiter parks in lock
  check_refused<Caller>(Caller::run([&] { m.unlock(); }), &m, "spindle::green::mutex::unlock");
  CHECK(!waiter_got_it);
  m.unlock();
  waiter.join();
  CHECK(waiter_got_it);
}

// What if another kernel thread notifies, or waits on, a condition variable used here?
TEST_CASE_TEMPLATE("wait_and_notify_from_another_kernel_thread_throw_naming_the_condition_variable",
                   Caller, FOREIGN_CALLERS) {
  green::mutex m;
  green::condition_variable cv;
  bool ready = false;
  auto waiter = green::spawn([&] {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return ready; });
  });
  green::this_thread::yield();  // parked in wait: the home is bound
  check_refused<Caller>(Caller::run([&] { cv.notify_one(); }), &cv,
                        "spindle::green::condition_variable::notify_one");
  check_refused<Caller>(Caller::run([&] { cv.notify_all(); }), &cv,
                        "spindle::green::condition_variable::notify_all");
  // With a mutex of the caller's own, made there: only the condition variable is foreign.
  check_refused<Caller>(Caller::run([&] {
                          green::mutex elsewhere;
                          std::unique_lock lock(elsewhere);
                          cv.wait_for(lock, 1ms);
                        }),
                        &cv, "spindle::green::condition_variable::wait_until");
  check_refused<Caller>(Caller::run([&] {
                          green::mutex elsewhere;
                          std::unique_lock lock(elsewhere);
                          cv.wait(lock);
                        }),
                        &cv, "spindle::green::condition_variable::wait");
  {
    std::lock_guard lock(m);
    ready = true;
  }
  cv.notify_one();
  waiter.join();
}

// What if another kernel thread sends to, receives from or closes a channel used here?
// The channel's mutex refuses, naming it (the channel holds it first).
TEST_CASE_TEMPLATE("channel_calls_from_another_kernel_thread_throw_instead_of_a_deadlock_report",
                   Caller, FOREIGN_CALLERS) {
  green::channel<int> ch(0);
  std::optional<int> received;
  auto receiver = green::spawn([&] { received = ch.recv(); });
  green::this_thread::yield();  // parked in recv
  auto sent = Caller::run([&] { ch.send(7); });
  INFO("what(): " << sent.what);
  REQUIRE(sent.threw_foreign);
  CHECK(sent.what.find("spindle::green::mutex::lock") != std::string::npos);
  CHECK(sent.home_tid == kernel_tid());
  CHECK(Caller::run([&] { (void)ch.try_recv(); }).threw_foreign);
  CHECK(Caller::run([&] { ch.close(); }).threw_foreign);
  CHECK(!received);
  ch.send(8);
  receiver.join();
  CHECK(received == 8);
}

// What if another kernel thread uses a semaphore, a latch, a barrier or a once flag? A
// once flag whose function has returned is the exception: call_once then reads one
// atomic and returns, which is safe from any thread, so it is allowed.
TEST_CASE_TEMPLATE("semaphore_latch_barrier_and_once_from_another_kernel_thread_throw", Caller,
                   FOREIGN_CALLERS) {
  green::counting_semaphore<> permits(1);
  permits.acquire();
  CHECK(Caller::run([&] { permits.release(); }).threw_foreign);
  CHECK(Caller::run([&] { permits.acquire(); }).threw_foreign);
  CHECK(!permits.try_acquire());  // the foreign release added nothing
  permits.release();

  green::latch done(2);
  done.count_down();
  CHECK(Caller::run([&] { done.count_down(); }).threw_foreign);
  CHECK(!done.try_wait());
  done.count_down();
  CHECK(done.try_wait());

  green::barrier<> meeting(1);
  meeting.arrive_and_wait();
  CHECK(Caller::run([&] { meeting.arrive_and_wait(); }).threw_foreign);

  green::once_flag once;
  int calls = 0;
  CHECK_THROWS_AS(green::call_once(once,
                                   [&] {
                                     ++calls;
                                     throw std::runtime_error("not done: the flag stays unset");
                                   }),
                  std::runtime_error);
  CHECK(Caller::run([&] { green::call_once(once, [&] { ++calls; }); }).threw_foreign);
  CHECK(calls == 1);
  green::call_once(once, [&] { ++calls; });
  CHECK(calls == 2);
  auto after_done = Caller::run([&] { green::call_once(once, [&] { ++calls; }); });
  CHECK(!after_done.threw_foreign);
  CHECK(!after_done.threw_other);
  CHECK(calls == 2);
}

// Whose is a mutex that another kernel thread used first? That thread's: the home is the
// first user's, and this kernel thread is then the foreign one.
TEST_CASE("a_mutex_belongs_to_the_kernel_thread_that_used_it_first") {
  green::mutex m;
  long first_user = 0;
  std::thread([&] {
    first_user = kernel_tid();
    std::lock_guard first_use(m);
  }).join();
  auto out = attempt([&] { m.lock(); });
  INFO("what(): " << out.what);
  REQUIRE(out.threw_foreign);
  // That kernel thread has exited: the report says so rather than name a dead id.
  CHECK(out.home_tid == 0);
  CHECK(out.what.find("whose kernel thread has exited") != std::string::npos);
  CHECK(first_user != kernel_tid());
}

}  // TEST_SUITE("green home")
