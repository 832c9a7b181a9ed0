// examples/blocking_hazard.cpp — the one rule of green threads, seen on a timeline:
// never make a blocking system call.
//
// Concept: green threads share one kernel thread, so when one of them makes a system
// call that blocks, the kernel puts that kernel thread to sleep, and with it every
// green thread: nothing else can run until the call returns. Two green threads show it.
// The ticker wakes every 100 ms and notes the time. The blocker first blocks the way
// libc's calls do (::nanosleep, then ::read of a timerfd, a descriptor whose data the
// kernel delivers after a delay, as a slow network peer would), then the way spindle's
// calls do (B::this_thread::sleep_for, B::io::read), which park only the calling green
// thread. The ticker's row shows the difference. On the clone backend both versions
// keep ticking: each thread is a kernel thread, and blocking one blocks only it.
// On the green backend the watchdog notices each libc call and names it on stderr: the
// program sets its threshold to half a blocking call (spindle/green/watchdog.hpp).
// With --trace FILE the green scheduler records both green runs (spindle/green/trace.hpp)
// into FILE, Chrome trace-event JSON for Perfetto: the libc way shows the blocker
// "running" for the whole blocking call while the ticker's track is empty.
// With --preempt, the green backend shows the other way to freeze the ticker: a spinner
// that computes without yielding (and makes no system call). Cooperatively the ticker
// freezes as it does for a blocking call, and the hog watchdog names the spinner; with
// preemption on (spindle/green/preemption.hpp) the spinner is made to yield at the end
// of each slice and the ticker keeps its beat. In the trace, the cooperative spinner is
// one long "running" span; the preempted one is cut into slices marked "preempted".
// Explained in: docs/10-spindle-kv.md (the rule the server lives by), the reactor and
// preemption in docs/08-reactor.md. Run: build/examples/blocking_hazard --help
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "spindle/clone.hpp"
#include "spindle/green.hpp"
#include "spindle/green/preemption.hpp"
#include "spindle/green/trace.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using milliseconds = std::chrono::milliseconds;

// One blocking call the blocker made: when it began and ended, and its letter on the
// timeline (S: a sleep, R: a read, C: a computation that never yields).
struct Call {
  char letter;
  clock_type::time_point begin, end;
};

// What one run saw: when the ticker ticked, and the blocker's calls.
struct Timeline {
  clock_type::time_point start;
  std::vector<clock_type::time_point> ticks;
  std::vector<Call> calls;
};

// A timerfd that becomes readable after `delay`: a read on it blocks until then.
int descriptor_ready_after(milliseconds delay) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "timerfd_create");
  itimerspec when{};
  when.it_value.tv_sec = static_cast<time_t>(delay.count() / 1000);
  when.it_value.tv_nsec = static_cast<long>(delay.count() % 1000) * 1'000'000;
  timerfd_settime(fd, 0, &when, nullptr);
  return fd;
}

// Sleeps in libc's nanosleep for `how_long`, as a program that expects signals does: a
// signal handler ends the call early (EINTR), and it sleeps again for what is left. The
// green watchdog's ticks are such signals (docs/08-reactor.md, the watchdog).
void nanosleep_through_signals(milliseconds how_long) {
  timespec left{static_cast<time_t>(how_long.count() / 1000),
                static_cast<long>(how_long.count() % 1000) * 1'000'000};
  while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

// The blocker's two calls, the libc way: each blocks the whole kernel thread.
template <spindle::backend B>
void block_with_libc(milliseconds how_long, milliseconds tick, std::vector<Call>& calls) {
  auto begin = clock_type::now();
  nanosleep_through_signals(how_long);
  calls.push_back({'S', begin, clock_type::now()});
  B::this_thread::sleep_for(2 * tick);
  int fd = descriptor_ready_after(how_long);
  std::uint64_t expirations;
  begin = clock_type::now();
  [[maybe_unused]] ssize_t got = ::read(fd, &expirations, sizeof expirations);
  calls.push_back({'R', begin, clock_type::now()});
  ::close(fd);
}

// The same two calls, the spindle way: each parks only the calling thread.
template <spindle::backend B>
void block_with_spindle(milliseconds how_long, milliseconds tick, std::vector<Call>& calls) {
  auto begin = clock_type::now();
  B::this_thread::sleep_for(how_long);
  calls.push_back({'S', begin, clock_type::now()});
  B::this_thread::sleep_for(2 * tick);
  int fd = descriptor_ready_after(how_long);
  std::uint64_t expirations;
  begin = clock_type::now();
  B::io::read(fd, &expirations, sizeof expirations);
  calls.push_back({'R', begin, clock_type::now()});
  B::io::close(fd);
}

// Computes for `how_long` without calling spindle or making a system call (the clock is
// read through the vDSO): the green scheduler never gets the processor back by itself.
void compute_for(milliseconds how_long, std::vector<Call>& calls) {
  auto begin = clock_type::now();
  volatile std::uint64_t work = 0;
  while (clock_type::now() - begin < how_long) {
    for (int i = 0; i < 10000; ++i) work = work + static_cast<std::uint64_t>(i);
  }
  calls.push_back({'C', begin, clock_type::now()});
}

// Runs the ticker beside a blocker that waits two ticks, then runs `block`; the ticker
// stops two ticks after the blocker is done. Between its two calls the blocker also
// waits two ticks, so that the timeline shows the two freezes apart. `way` ends the
// threads' names ("ticker, libc way"), which a trace shows on their tracks; `role` is
// the second thread's ("blocker", or "spinner").
template <spindle::backend B, class Block>
Timeline run(const std::string& way, milliseconds tick, Block block,
             const std::string& role = "blocker") {
  Timeline seen{clock_type::now(), {}, {}};
  std::atomic<bool> blocker_done{false};
  auto ticker = B::spawn(spindle::spawn_options{.name = "ticker, " + way}, [&] {
    int after_done = 0;
    while (after_done < 3) {
      seen.ticks.push_back(clock_type::now());
      if (blocker_done) ++after_done;
      B::this_thread::sleep_for(tick);
    }
  });
  auto blocker = B::spawn(spindle::spawn_options{.name = role + ", " + way}, [&] {
    B::this_thread::sleep_for(2 * tick);
    block(seen.calls);
    blocker_done = true;
  });
  blocker.join();
  ticker.join();
  return seen;
}

// The longest time between two ticks.
milliseconds longest_gap(const Timeline& seen) {
  milliseconds longest{0};
  for (std::size_t i = 1; i < seen.ticks.size(); ++i) {
    longest = std::max(longest,
                       std::chrono::duration_cast<milliseconds>(seen.ticks[i] - seen.ticks[i - 1]));
  }
  return longest;
}

// Prints the timeline, one column per tick period: '#' where the ticker ticked, '.'
// where it should have and did not; the blocker's row (or the spinner's, `role`) shows
// which call it was in.
void print(const Timeline& seen, milliseconds tick, const char* role = "blocker") {
  auto column = [&](clock_type::time_point t) {
    return static_cast<std::size_t>((t - seen.start) / tick);
  };
  std::size_t width = column(seen.ticks.back()) + 1;
  std::string ticker(width, '.'), blocker(width, ' '), scale(width, ' ');
  for (auto t : seen.ticks) ticker[column(t)] = '#';
  for (const Call& c : seen.calls) {
    for (std::size_t i = column(c.begin); i <= column(c.end) && i < width; ++i)
      blocker[i] = c.letter;
  }
  std::size_t per_second = static_cast<std::size_t>(1000 / tick.count());
  for (std::size_t i = 0; i < width && i / per_second < 10; i += per_second) {
    scale[i] = static_cast<char>('0' + i / per_second);
  }
  std::printf("    seconds  %s\n    ticker   %s\n    %-8s %s\n", scale.c_str(), ticker.c_str(),
              role, blocker.c_str());
  std::printf("    longest gap between ticks: %lld ms (a tick was due every %lld ms)\n",
              static_cast<long long>(longest_gap(seen).count()),
              static_cast<long long>(tick.count()));
}

template <spindle::backend B>
void show(milliseconds how_long, milliseconds tick) {
  std::string name(B::name);
  long long ms = how_long.count();
  std::printf(
      "== %s backend, blocking the libc way: ::nanosleep(%lld ms), then ::read of a "
      "descriptor whose data comes in %lld ms\n",
      name.c_str(), ms, ms);
  std::printf(
      "    (one column per %lld ms: # the ticker ticked, . it did not; S the blocker is in "
      "its sleep call, R in its read call)\n",
      static_cast<long long>(tick.count()));
  print(run<B>("libc way", tick,
               [&](std::vector<Call>& calls) { block_with_libc<B>(how_long, tick, calls); }),
        tick);
  std::printf(
      "== %s backend, blocking the spindle way: B::this_thread::sleep_for(%lld ms), then "
      "B::io::read of the same kind of descriptor\n",
      name.c_str(), ms);
  print(run<B>("spindle way", tick,
               [&](std::vector<Call>& calls) { block_with_spindle<B>(how_long, tick, calls); }),
        tick);
}

// The green backend's spinner, cooperatively and then preempted every `slice`.
void show_spinning(milliseconds how_long, milliseconds tick, milliseconds slice) {
  using green = spindle::green::backend;
  long long ms = how_long.count();
  std::printf(
      "== green backend, computing for %lld ms without yielding, cooperatively (no preemption)\n",
      ms);
  std::printf(
      "    (one column per %lld ms: # the ticker ticked, . it did not; C the spinner computes)\n",
      static_cast<long long>(tick.count()));
  print(run<green>(
            "cooperative", tick, [&](std::vector<Call>& calls) { compute_for(how_long, calls); },
            "spinner"),
        tick, "spinner");
  spindle::green::preemption::set_slice(slice);
  std::printf(
      "== green backend, the same computation with preemption on "
      "(spindle::green::preemption::set_slice(%lld ms))\n",
      static_cast<long long>(slice.count()));
  print(run<green>(
            "preempted", tick, [&](std::vector<Call>& calls) { compute_for(how_long, calls); },
            "spinner"),
        tick, "spinner");
  spindle::green::preemption::set_slice(milliseconds(0));
  auto counts = spindle::green::preemption::statistics();
  std::printf(
      "    preemptions taken: %llu; deferred (the spinner was in a library or in spindle): "
      "%llu\n",
      static_cast<unsigned long long>(counts.taken + counts.taken_at_section_end),
      static_cast<unsigned long long>(counts.deferred_in_library + counts.deferred_in_spindle));
  std::printf(
      "Preemption: cooperatively, a green thread that computes keeps the processor until it\n"
      "yields, so the ticker froze as it did for a blocking call, and the hog watchdog named\n"
      "the spinner on stderr. With preemption on, a timer on the kernel thread's CPU clock\n"
      "interrupts the spinner once per slice and, the spinner being in the program's own\n"
      "code, makes it yield from the signal handler: the ticker's timer is fired and the\n"
      "ticker runs within a slice or so of its time. (The slice is CPU time: on a loaded\n"
      "machine it lasts longer on the clock, and the ticker may miss a beat.)\n\n");
}

void explain(const std::string& backend) {
  if (backend == "green") {
    std::printf(
        "Green: the ticker and the blocker share one kernel thread. ::nanosleep and ::read put\n"
        "that kernel thread to sleep, so the ticker froze for the whole call (the dots), and\n"
        "the watchdog said so on stderr (\"spindle: green thread ... has blocked its "
        "scheduler\").\n"
        "sleep_for parks only the blocker in the timer queue; io::read meets EAGAIN and parks\n"
        "it in the reactor; either way the scheduler runs the ticker meanwhile.\n\n");
  } else {
    std::printf(
        "Clone: each thread is a kernel thread, and a blocking call blocks only the kernel\n"
        "thread that makes it; the kernel runs the ticker meanwhile. Nothing freezes either\n"
        "way: the libc calls are harmless here, and spindle's are the same system calls.\n\n");
  }
}

// Writes the green scheduler's recording to `path` as Chrome trace-event JSON.
// Throws std::runtime_error if the file cannot be written.
void write_trace(const std::string& path) {
  std::ofstream out(path);
  spindle::green::trace::write_chrome_json(out);
  out.close();
  if (!out) {
    throw std::runtime_error("cannot write the trace to " + path +
                             " (--trace): is its folder there and writable?");
  }
  std::printf("The green runs' scheduler trace: %s (%zu events; open it in ui.perfetto.dev)\n\n",
              path.c_str(), spindle::green::trace::recorded());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "The blocking-call hazard of green threads, on a timeline: a ticker thread "
      "beside a thread that blocks with libc's calls, then with spindle's."};
  std::string backend = "both";
  int block_ms = 1000;
  int tick_ms = 100;
  app.add_option("-b,--backend", backend, "which threads to use")
      ->check(CLI::IsMember({"green", "clone", "both"}))
      ->capture_default_str();
  app.add_option("--block-ms", block_ms, "how long each blocking call lasts")
      ->check(CLI::Range(200, 10000))
      ->capture_default_str();
  app.add_option("--tick-ms", tick_ms, "the ticker's period (divides 1000)")
      ->check(CLI::IsMember({20, 50, 100, 200, 250, 500}))
      ->capture_default_str();
  bool preempt = false;
  app.add_flag("--preempt", preempt,
               "also show a green thread that computes without yielding, freezing the ticker "
               "cooperatively and not with preemption on (spindle/green/preemption.hpp)");
  int slice_ms = 10;
  app.add_option("--slice-ms", slice_ms, "the preemption slice for --preempt")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  std::string trace_file;
  app.add_option("--trace", trace_file,
                 "record the green scheduler during the green runs and write the record to "
                 "this file as Chrome trace-event JSON, for Perfetto or chrome://tracing");
  CLI11_PARSE(app, argc, argv);
  if (preempt && backend == "clone") {
    std::fprintf(stderr,
                 "blocking_hazard: --preempt shows the green scheduler: use it with --backend "
                 "green or both (clone threads are preempted by the kernel)\n");
    return 2;
  }
  if (!trace_file.empty() && backend == "clone") {
    std::fprintf(stderr,
                 "blocking_hazard: --trace records the green scheduler: use it with "
                 "--backend green or both\n");
    return 2;
  }
  milliseconds how_long(block_ms), tick(tick_ms);
  if (backend != "clone") {
    // Half a blocking call, so that the watchdog names each libc call while it blocks,
    // and the hog watchdog the cooperative spinner.
    spindle::green::watchdog::set_threshold(how_long / 2);
    spindle::green::watchdog::set_hog_limit(how_long / 2);
    if (!trace_file.empty()) spindle::green::trace::start();
    show<spindle::green::backend>(how_long, tick);
    explain("green");
    if (preempt) show_spinning(how_long, tick, milliseconds(slice_ms));
    spindle::green::trace::stop();
    if (!trace_file.empty()) {
      try {
        write_trace(trace_file);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "blocking_hazard: %s\n", e.what());
        return 1;
      }
    }
  }
  if (backend != "green") {
    show<spindle::clone::backend>(how_long, tick);
    explain("clone");
  }
  return 0;
}
