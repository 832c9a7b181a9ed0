// tests/green_remote_test.cpp — other kernel threads handing work to a green scheduler:
// scheduler_handle::post and remote_event, under load, with no lost wake-up, and what
// the deadlock report does while a remote end is open.
//
// Each test runs once per kind of poster: a std::thread, a clone thread, and a green
// thread of another kernel thread's scheduler.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "green/remote.hpp"
#include "green/scheduler.hpp"
#include "harness.hpp"

namespace green = spindle::green;
using namespace std::chrono_literals;
using spindle_test::under_many_schedules;

namespace {

long kernel_tid() { return static_cast<long>(syscall(SYS_gettid)); }

// The kernel's number for the eventfd behind descriptor `fd` (its fdinfo's eventfd-id),
// or "" if `fd` is no eventfd.
std::string eventfd_id(int fd) {
  std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
  std::string key, value;
  while (info >> key >> value) {
    if (key == "eventfd-id:") return value;
  }
  return "";
}

// Starts body on another kernel thread; join() waits for it.
struct on_std_thread {
  static constexpr const char* name = "a std::thread";
  std::thread t;
  explicit on_std_thread(std::function<void()> body) : t(std::move(body)) {}
  void join() { t.join(); }
};

struct on_clone_thread {
  static constexpr const char* name = "a clone thread";
  spindle::clone::thread<void> t;
  explicit on_clone_thread(std::function<void()> body)
      : t(spindle::clone::spawn(std::move(body))) {}
  void join() { t.join(); }
};

struct on_another_scheduler {
  static constexpr const char* name = "a green thread of another scheduler";
  std::thread t;
  explicit on_another_scheduler(std::function<void()> body)
      : t([body = std::move(body)] { green::spawn(body).join(); }) {}
  void join() { t.join(); }
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define POSTERS on_std_thread, on_another_scheduler
#else
#define POSTERS on_std_thread, on_clone_thread, on_another_scheduler
#endif

}  // namespace

TEST_SUITE("green remote") {

// Two kernel threads post while green threads here block on a channel the posts send
// to: is every post run once, on the home kernel thread, and every value received?
TEST_CASE_TEMPLATE("every_post_runs_once_on_the_home_scheduler_and_none_is_lost", Poster, POSTERS) {
  under_many_schedules<green::backend>([] {
    constexpr int posters = 2, posts = 60, receivers = 3;
    const long home_tid = kernel_tid();
    green::channel<int> values(0);
    std::atomic<int> ran_elsewhere{0}, refused{0};
    auto home = green::this_scheduler();
    std::vector<Poster> started;
    started.reserve(posters);
    for (int p = 0; p < posters; ++p) {
      started.emplace_back([home, p, &values, &ran_elsewhere, &refused, home_tid] {
        for (int i = 0; i < posts; ++i) {
          bool accepted = home.post([&values, &ran_elsewhere, home_tid, v = p * posts + i] {
            if (kernel_tid() != home_tid) ran_elsewhere.fetch_add(1);
            // Its last act: the receiver that takes the value may go on and end the test,
            // channel and all, before this thread resumes (it touches nothing after).
            values.send(v);
          });
          if (!accepted) refused.fetch_add(1);
          if (i % 16 == 0) std::this_thread::yield();
        }
      });
    }
    std::vector<int> times_seen(posters * posts, 0);
    std::vector<green::thread<void>> waiting;
    std::atomic<int> received{0};
    for (int r = 0; r < receivers; ++r) {
      waiting.push_back(green::spawn([&] {
        while (received.load() < posters * posts) {
          auto v = values.recv();
          if (!v) return;
          ++times_seen[*v];
          if (received.fetch_add(1) + 1 == posters * posts) values.close();
        }
      }));
    }
    for (auto& w : waiting) w.join();
    for (auto& p : started) p.join();
    CHECK(refused.load() == 0);
    CHECK(received.load() == posters * posts);
    CHECK(ran_elsewhere.load() == 0);
    int each_once = 0;
    for (int n : times_seen) each_once += n == 1;
    CHECK(each_once == posters * posts);
  });
}

// A notifier elsewhere while a green thread here keeps the scheduler busy for a while
// (the drain every 64 hand-overs), then lets it sleep (the eventfd): does the waiter
// take every notification, counted, without a lost wake-up?
TEST_CASE_TEMPLATE("a_remote_event_counts_every_notify_from_another_kernel_thread", Poster,
                   POSTERS) {
  under_many_schedules<green::backend>([] {
    constexpr std::uint64_t notifies = 150;
    green::remote_event event;
    bool stop = false;
    auto busy = green::spawn([&] {
      for (int round = 0; round < 3000 && !stop; ++round) green::this_thread::yield();
    });
    Poster notifier([&event] {
      for (std::uint64_t i = 0; i < notifies; ++i) {
        event.notify();
        if (i % 8 == 0) std::this_thread::yield();
      }
    });
    std::uint64_t taken = 0, wakes = 0;
    while (taken < notifies) {
      std::uint64_t n = event.wait();
      CHECK(n >= 1);
      taken += n;
      ++wakes;
    }
    stop = true;
    busy.join();
    notifier.join();
    CHECK(taken == notifies);
    CHECK(wakes <= notifies);
  });
}

// While a notifier elsewhere may still notify, is a green thread that waits for it
// left waiting rather than reported as deadlocked?
TEST_CASE_TEMPLATE("the_deadlock_report_waits_while_a_remote_end_is_open", Poster, POSTERS) {
  green::remote_event event;
  Poster late([&event] {
    std::this_thread::sleep_for(30ms);
    event.notify();
  });
  std::uint64_t n = 0;
  CHECK_NOTHROW(n = event.wait());
  CHECK(n == 1);
  late.join();
}

// Once the last handle elsewhere is gone, can the scheduler see a deadlock again? The
// handle's end wakes the scheduler from its sleep to judge.
TEST_CASE_TEMPLATE("a_deadlock_is_reported_once_the_last_remote_end_closes", Poster, POSTERS) {
  green::channel<int> never(0);
  auto held = std::make_shared<std::optional<green::scheduler_handle>>(green::this_scheduler());
  Poster holder([held] {
    std::this_thread::sleep_for(20ms);
    held->reset();  // the only handle: no remote end is open now
  });
  CHECK_THROWS_AS(never.recv(), spindle::deadlock_error);
  holder.join();
  CHECK_THROWS_AS(never.recv(), spindle::deadlock_error);  // and at once, with none at all
}

// fork() copies the inbox's eventfd descriptor, not the eventfd: a child that slept in
// its reactor on it could read the signal of a post meant for the parent, whose
// scheduler would then sleep with the post in its inbox. Does the child's first look
// give it an eventfd of its own (the kernel's eventfd-id, in fdinfo, differs), and do
// the child's own posts still wake it?
TEST_CASE("a_forked_child_gets_an_eventfd_of_its_own_for_its_inbox") {
  auto outcome = spindle_test::run_in_child(
      [] {
        auto home = green::this_scheduler();
        int fd = green::detail::scheduler::here().remote_inbox()->wakeup_fd();
        std::string parents = eventfd_id(fd);
        pid_t child = fork();
        if (child == 0) {
          // The reactor's first look in the child: a wait on a descriptor watches it at
          // once, however late the deadline is found to have passed.
          int nothing[2];
          if (pipe(nothing) != 0) _exit(8);
          (void)green::io::wait_readable(nothing[0], 1ms);
          if (eventfd_id(fd).empty() || eventfd_id(fd) == parents) _exit(5);
          auto childs_home = green::this_scheduler();
          green::channel<int> posted(1);
          std::thread([childs_home, &posted] {
            std::this_thread::sleep_for(20ms);  // the child sleeps in epoll meanwhile
            childs_home.post([&posted] { posted.send(1); });
          }).join();
          _exit(posted.recv() == 1 ? 0 : 6);
        }
        int status = 0;
        waitpid(child, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 7;
      },
      std::chrono::seconds(20));
  INFO(outcome.describe());
  CHECK(outcome.exited_with(0));
}

// What does a post to a scheduler whose kernel thread has exited do?
TEST_CASE("a_post_to_an_exited_scheduler_is_refused_and_its_function_destroyed") {
  std::optional<green::scheduler_handle> gone;
  std::thread([&] { gone.emplace(green::this_scheduler()); }).join();
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  bool ran = false;
  CHECK(!gone->post([token = std::move(token), &ran] { ran = true; }));
  CHECK(watch.expired());
  CHECK(!ran);
}

}  // TEST_SUITE("green remote")

namespace {

green::remote_event* signalled = nullptr;

extern "C" void notify_from_handler(int) { signalled->notify(); }

}  // namespace

TEST_SUITE("green remote") {

// Is notify safe in a signal handler that interrupts the home kernel thread itself,
// while it runs green threads (the first half) and while it sleeps in epoll (the
// second)? Each signal is acknowledged before the next is sent (signals of one number
// do not queue).
TEST_CASE("a_remote_event_may_be_notified_from_a_signal_handler_on_its_home_thread") {
  green::remote_event event;
  signalled = &event;
  struct sigaction action {
  }, previous{};
  action.sa_handler = notify_from_handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  REQUIRE(sigaction(SIGUSR1, &action, &previous) == 0);
  constexpr int signals = 50;
  std::atomic<int> acknowledged{0};
  pthread_t home = pthread_self();
  std::thread sender([&] {
    for (int i = 0; i < signals; ++i) {
      pthread_kill(home, SIGUSR1);
      while (acknowledged.load() <= i) std::this_thread::yield();
    }
  });
  auto busy = green::spawn([&] {
    while (acknowledged.load() < signals / 2) green::this_thread::yield();
  });
  int taken = 0;
  while (taken < signals) {
    taken += static_cast<int>(event.wait());
    acknowledged.store(taken);
  }
  busy.join();
  sender.join();
  sigaction(SIGUSR1, &previous, nullptr);
  signalled = nullptr;
  CHECK(taken == signals);
}

}  // TEST_SUITE("green remote")
