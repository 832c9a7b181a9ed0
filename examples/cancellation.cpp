// examples/cancellation.cpp — cooperative cancellation, written once over spindle::backend.
//
// Concept: a thread is asked to stop, never killed. A jthread's destructor requests the
// stop and joins, and each kind of block that takes a std::stop_token (channel receive
// and send, sleep, condition variable wait, select) returns early with a status that
// says so. A stop is not an exception: join returns the function's result, or rethrows
// what it threw. A thread blocked with a token that nobody can stop is a deadlock, and
// reported as one. On the green backend, another kernel thread may not touch a green
// object (foreign_thread_error names the object, its home and the caller); it asks the
// home scheduler instead (scheduler_handle::post, remote_event), and that is also how it
// requests a green thread's stop.
// Explained in: docs/02-the-api.md (cancellation). Run: build/examples/cancellation --help
#include <sys/syscall.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>

#include "spindle/clone.hpp"
#include "spindle/green.hpp"
#include "spindle/green/remote.hpp"

namespace {

using namespace std::chrono_literals;
using spindle::channel_status;

template <spindle::backend B>
using channel = typename B::template channel<int>;

long kernel_tid() { return syscall(SYS_gettid); }

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

template <class Status>
std::string said(Status status) {
  std::ostringstream text;
  text << status;
  return text.str();
}

// Runs blocked(token) on a jthread and leaves the scope once it has blocked: the
// destructor requests the stop and joins. Prints what the blocking call answered.
template <spindle::backend B, class Blocked>
void stopped_by_the_destructor(const char* kind, Blocked blocked) {
  std::string answer;
  {
    auto worker = spindle::spawn_jthread<B>(
        [&answer, blocked](std::stop_token stop) { answer = blocked(stop); });
    // Time to block; a stop requested before the call would end it the same way.
    B::this_thread::sleep_for(10ms);
  }
  std::printf("%-10s %s\n", kind, answer.c_str());
}

template <spindle::backend B>
void stop_every_kind_of_block() {
  channel<B> empty(0), full(1);
  full.send(0);
  stopped_by_the_destructor<B>("receive:", [&](std::stop_token stop) {
    return "answered " + said(empty.receive(stop).status);
  });
  stopped_by_the_destructor<B>("send:", [&](std::stop_token stop) {
    return "answered " + said(full.send(1, stop)) + ", the value not sent";
  });
  stopped_by_the_destructor<B>("sleep:", [](std::stop_token stop) {
    return std::string(spindle::sleep_for<B>(1h, stop) ? "slept the hour" : "returned early");
  });
  typename B::mutex m;
  typename B::condition_variable cv;
  stopped_by_the_destructor<B>("wait:", [&](std::stop_token stop) {
    std::unique_lock lock(m);
    bool ready = cv.wait(lock, stop, [] { return false; });
    return std::string(ready ? "the predicate came true" : "returned with the predicate false");
  });
  stopped_by_the_destructor<B>("select:", [&](std::stop_token stop) {
    auto r = spindle::select(stop, spindle::receive_from(empty), spindle::send_to(full, 2));
    return std::string(r.index == spindle::select_result::none ? "no case went, "
                                                               : "a case went, ") +
           "answered " + said(r.status);
  });
}

// A stop is a request: join returns what the function returned, or rethrows what it threw.
template <spindle::backend B>
void join_after_a_stop() {
  channel<B> jobs(0);
  auto counter = spindle::spawn_jthread<B>([&jobs](std::stop_token stop) {
    int done = 0;
    while (jobs.receive(stop).status == channel_status::ok) ++done;
    return done;
  });
  for (int job = 1; job <= 3; ++job) jobs.send(job);
  counter.request_stop();
  std::printf("join:      returned %d, the jobs done before the stop\n", counter.join());
  auto quitter = spindle::spawn_jthread<B>([&jobs](std::stop_token stop) -> int {
    jobs.receive(stop);
    throw std::runtime_error("stopped before its job came");
  });
  quitter.request_stop();
  try {
    quitter.join();
  } catch (const std::runtime_error& e) {
    std::printf("join:      rethrew \"%s\"\n", e.what());
  }
}

// Every thread blocked, one of them with a stop token whose source only the joiner holds:
// nobody can request that stop, so the detector reports the deadlock rather than wait.
template <spindle::backend B>
void a_stop_nobody_can_request() {
  channel<B> never(0);
  std::stop_source source;
  auto stuck = B::spawn([&] {
    try {
      never.receive(source.get_token());
    } catch (const spindle::deadlock_error& e) {
      return "the receive threw spindle::deadlock_error\n  what(): " + first_line(e.what());
    }
    return std::string("the receive returned");
  });
  std::printf("deadlock:  %s\n", stuck.join().c_str());
}

// A std::thread that locks a green mutex is refused at once, with the object, the home and
// the caller named (on the green backend; the clone backend's objects serve any thread).
void a_foreign_thread_is_refused() {
  spindle::green::mutex m;
  { std::lock_guard held(m); }  // its home: this kernel thread, whose threads used it first
  const long home = kernel_tid();
  std::thread intruder([&m, home] {
    try {
      std::lock_guard held(m);
      std::printf("foreign:   the std::thread locked the mutex\n");
    } catch (const spindle::foreign_thread_error& e) {
      bool named = e.object() == &m && e.home_tid() == home && e.caller_tid() == kernel_tid();
      std::printf("foreign:   a std::thread's lock threw spindle::foreign_thread_error%s\n",
                  named ? " naming the mutex, its home and the caller" : " naming something else");
      std::printf("  what(): %s\n", first_line(e.what()).c_str());
    }
  });
  intruder.join();  // blocks this kernel thread, and no green thread needs to run meanwhile
}

// The sanctioned way in from another kernel thread: post to the home scheduler, whose
// green thread requests the stop there (a std::thread's own request_stop would run the
// wake in the std::thread); and a remote_event, notified from anywhere.
void a_foreign_thread_goes_through_the_home() {
  channel<spindle::green::backend> jobs(0);
  auto worker = spindle::spawn_jthread<spindle::green::backend>(
      [&jobs](std::stop_token stop) { return said(jobs.receive(stop).status); });
  spindle::green::remote_event done;
  auto home = spindle::green::this_scheduler();
  std::thread outside([home, &worker, &done] {
    home.post([&worker] { worker.request_stop(); });
    done.notify();
  });
  std::printf("remote:    the green worker, stopped through scheduler_handle::post, answered %s\n",
              worker.join().c_str());
  std::printf("remote:    main woke on the std::thread's remote_event (count %llu)\n",
              static_cast<unsigned long long>(done.wait()));
  outside.join();
}

template <spindle::backend B>
void run() {
  std::printf("%s backend\n", std::string(B::name).c_str());
  stop_every_kind_of_block<B>();
  join_after_a_stop<B>();
  a_stop_nobody_can_request<B>();
  if constexpr (B::name == std::string_view("green")) {
    a_foreign_thread_is_refused();
    a_foreign_thread_goes_through_the_home();
  } else {
    std::printf(
        "foreign:   none: a clone object is a kernel-thread object, usable from any thread\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Cancellation: jthread, stop tokens in every kind of block, and other kernel "
      "threads."};
  std::string backend = "green";
  app.add_option("-b,--backend", backend, "which threads to use")
      ->check(CLI::IsMember({"green", "clone"}));
  CLI11_PARSE(app, argc, argv);
  if (backend == "clone")
    run<spindle::clone::backend>();
  else
    run<spindle::green::backend>();
  return 0;
}
