// tests/green_policy_test.cpp — the scheduling policies of docs/14 do what their textbook
// rules say: strict priority starves and aging does not, stride shares by tickets
// exactly and lottery by luck that replays from its seed, MLFQ demotes a hog and boosts
// it back; and the interface tells a policy each run and why it stopped.
//
// Green only: the clone backend's threads are scheduled by the kernel. One kernel thread
// makes the policies' choices deterministic, except MLFQ's, which depend on run times;
// its tests spin for set times and assert only which side of an allotment a run fell.
// A run is wall time, and includes any time the kernel gives the processor to another
// process: on a loaded machine a 1 ms spin was measured at 4.8 ms. A spin is at least its
// length, so passing an allotment is certain; a run that must stay under one (a quick
// thread's, a run before a boost) is kept ten times or more below it.
#include <chrono>
#include <cstdint>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"
#include "spindle/diagnostics.hpp"

namespace green = spindle::green;
using namespace std::chrono_literals;

namespace {

// Keeps the processor for `d`, by the clock, without yielding: one run of that length.
void spin_for(std::chrono::nanoseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}

// The line of the calling scheduler's thread dump that names thread `name`.
std::string dump_line_of(const std::string& name) {
  std::ostringstream out;
  green::dump_threads(out);
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);)
    if (line.find('"' + name + '"') != std::string::npos) return line;
  return "no thread " + name + " in the dump:\n" + out.str();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// How many runs a thread of priority `high` has before one of priority 0 first runs,
// both spawned together, under the calling kernel thread's policy; the high one runs
// `runs` times in all, yielding at the end of each.
int runs_before_the_low_thread_runs(int high, int runs) {
  int high_runs = 0;
  int seen_by_low = -1;
  auto hog = green::spawn({.name = "high", .priority = high}, [&] {
    while (high_runs < runs) {
      ++high_runs;
      green::this_thread::yield();
    }
  });
  auto low = green::spawn({.name = "low", .priority = 0}, [&] { seen_by_low = high_runs; });
  hog.join();
  low.join();
  return seen_by_low;
}

// The runs each thread got, by its tickets, when threads holding `tickets` yield until
// `runs` runs were made in all, under the calling kernel thread's policy.
std::map<std::uint32_t, int> runs_by_tickets(const std::vector<std::uint32_t>& tickets, int runs) {
  std::map<std::uint32_t, int> got;
  int total = 0;
  std::vector<green::thread<void>> threads;
  for (std::uint32_t t : tickets) {
    threads.push_back(green::spawn({.tickets = t}, [&got, &total, t, runs] {
      while (total < runs) {
        ++got[t];
        ++total;
        green::this_thread::yield();
      }
    }));
  }
  for (auto& t : threads) t.join();
  return got;
}

// Which of three threads of 1, 2 and 3 tickets ran, run by run, under lottery(seed).
std::string lottery_schedule(std::uint64_t seed) {
  green::use_policy(green::make_lottery_policy(seed));
  std::string order;
  std::vector<green::thread<void>> threads;
  for (std::uint32_t t : {1u, 2u, 3u}) {
    threads.push_back(green::spawn({.tickets = t}, [&order, t] {
      for (int i = 0; i < 20; ++i) {
        order += static_cast<char>('0' + t);
        green::this_thread::yield();
      }
    }));
  }
  for (auto& t : threads) t.join();
  green::use_fifo_policy();
  return order;
}

// A FIFO policy that writes down what the interface tells it, and counts each thread's
// runs in the thread's policy area.
struct runs_seen {
  std::uint32_t runs;
};
class recording_policy final : public green::policy {
 public:
  explicit recording_policy(std::string& log) : log_(log) {}
  void awakened(green::detail::record* r) noexcept override { queue_.push_back(r); }
  green::detail::record* pick_next() noexcept override { return queue_.pop_front(); }
  bool has_ready() const noexcept override { return !queue_.empty(); }
  void stopped(green::detail::record* r, std::chrono::nanoseconds ran,
               green::stop_reason why) noexcept override {
    if (r->name != "watched") return;
    static const char* const names[] = {"yielded", "blocked", "finished", "preempted"};
    log_ += "run " + std::to_string(++green::policy_data<runs_seen>(r).runs) + " " +
            names[static_cast<int>(why)] + (ran.count() > 0 ? "; " : " without time; ");
  }

 private:
  std::string& log_;
  green::detail::thread_queue queue_;
};

}  // namespace

TEST_SUITE("green policies") {

// Does the interface say how each run ended, and does the policy's area start at zero?
TEST_CASE("the_policy_is_told_each_run_and_why_it_stopped_yielded_blocked_finished") {
  std::string log;
  green::use_policy(std::make_unique<recording_policy>(log));
  green::mutex m;
  std::unique_lock held(m);
  auto watched = green::spawn({.name = "watched"}, [&] {
    green::this_thread::yield();
    std::lock_guard again(m);  // held by main: blocks
  });
  green::this_thread::yield();  // watched yields
  green::this_thread::yield();  // watched blocks on m
  held.unlock();
  watched.join();
  green::use_fifo_policy();
  CHECK(log == "run 1 yielded; run 2 blocked; run 3 finished; ");
}

// Does strict priority starve a low thread for as long as a high one stays runnable?
TEST_CASE("strict_priority_starves_a_low_thread_until_the_high_one_stops_yielding") {
  green::use_policy(green::make_priority_policy());
  CHECK(runs_before_the_low_thread_runs(10, 1000) == 1000);
  green::use_fifo_policy();
}

// Does aging let the low thread in while the high one still yields, and when?
TEST_CASE("aging_runs_a_starved_thread_after_its_priority_gap_times_picks_per_level") {
  green::use_policy(green::make_aging_policy({.picks_per_level = 4}));
  // The gap is 10 levels of 4 picks each: the low thread runs after 40 of the high one's
  // runs, the 40th being the tie that first come, first served breaks its way.
  CHECK(runs_before_the_low_thread_runs(10, 1000) == 40);
  green::use_fifo_policy();
}

// Do threads of equal priority take turns under both priority policies?
TEST_CASE("threads_of_equal_priority_take_turns_under_strict_priority_and_aging") {
  for (auto make : {+[] { return green::make_priority_policy(); },
                    +[] { return green::make_aging_policy(); }}) {
    green::use_policy(make());
    std::string order;
    auto a = green::spawn([&] {
      for (int i = 0; i < 3; ++i) order += 'a', green::this_thread::yield();
    });
    auto b = green::spawn([&] {
      for (int i = 0; i < 3; ++i) order += 'b', green::this_thread::yield();
    });
    a.join();
    b.join();
    CHECK(order == "ababab");
  }
  green::use_fifo_policy();
}

// Over a deterministic run, does stride give each thread runs in proportion to its tickets?
TEST_CASE("stride_gives_each_thread_its_ticket_share_of_runs_within_one_run") {
  green::use_policy(green::make_stride_policy());
  auto got = runs_by_tickets({100, 200, 300}, 600);
  green::use_fifo_policy();
  // The tolerance: one run each, the pass rounding and the last round's cut.
  CHECK(got[100] == doctest::Approx(100).epsilon(0.011));
  CHECK(got[200] == doctest::Approx(200).epsilon(0.006));
  CHECK(got[300] == doctest::Approx(300).epsilon(0.004));
}

// Does lottery replay its schedule from its seed, and does another seed draw another?
TEST_CASE("lottery_replays_the_same_schedule_from_the_same_seed") {
  std::string first = lottery_schedule(5);
  CHECK(first.size() == 60);
  CHECK(lottery_schedule(5) == first);
  CHECK(lottery_schedule(6) != first);
}

// Over many runs, do lottery's shares approach the tickets' (a fixed seed: no flakiness)?
TEST_CASE("lottery_shares_approach_the_tickets_over_many_runs") {
  green::use_policy(green::make_lottery_policy(11));
  auto got = runs_by_tickets({100, 300}, 8000);
  green::use_fifo_policy();
  // Three standard deviations of a binomial share over 8000 draws: 0.015.
  CHECK(got[300] / 8000.0 == doctest::Approx(0.75).epsilon(0.02));
}

// What if the policy changes while threads holding tickets wait to run? The old policy
// gives its runnable threads up to the new one, reading its own data to do it: does every
// thread still run, once each time it is picked, to the end?
TEST_CASE("changing_the_policy_while_lottery_threads_are_runnable_runs_each_of_them_to_the_end") {
  for (const char* next : {"random", "fifo", "stride", "lottery"}) {
    green::use_policy(green::make_lottery_policy(3));
    constexpr int threads = 8, rounds = 20;
    std::vector<int> done(threads, 0);
    std::vector<green::thread<void>> started;
    for (int i = 0; i < threads; ++i) {
      started.push_back(
          green::spawn({.tickets = static_cast<std::uint32_t>(100 * (i + 1))}, [&done, i] {
            for (int r = 0; r < rounds; ++r) green::this_thread::yield();
            ++done[i];
          }));
    }
    green::this_thread::yield();  // every thread has run once and waits in the lottery
    green::use_policy(green::make_policy(next, 9));
    for (auto& t : started) t.join();
    green::use_fifo_policy();
    INFO("lottery, then " << next);
    CHECK(done == std::vector<int>(threads, 1));
  }
}

// Does MLFQ move a thread that uses its allotment down a level, and leave a quick one on top?
TEST_CASE("mlfq_demotes_a_hog_that_uses_its_allotment_and_keeps_a_quick_thread_on_top") {
  green::use_policy(
      green::make_mlfq_policy({.levels = 3, .allotment = 20ms, .boost_interval = 1h}));
  auto hog = green::spawn({.name = "hog"}, [] {
    spin_for(60ms);
    green::this_thread::yield();
  });
  auto quick = green::spawn({.name = "quick"}, [] {
    for (int i = 0; i < 10; ++i) green::this_thread::yield();
  });
  green::this_thread::yield();  // the hog spins, then the quick thread yields once
  CHECK(contains(dump_line_of("hog"), "[mlfq level 1 of 3"));
  CHECK(contains(dump_line_of("quick"), "[mlfq level 0 of 3"));
  hog.join();
  quick.join();
  green::use_fifo_policy();
}

// Does the periodic boost bring a demoted hog back to the top?
TEST_CASE("mlfq_boost_brings_a_demoted_hog_back_to_the_top_level") {
  green::use_policy(
      green::make_mlfq_policy({.levels = 3, .allotment = 5ms, .boost_interval = 100ms}));
  std::string demoted, boosted;
  // The hog looks at itself: main, on the top level, would otherwise run before it.
  auto hog = green::spawn({.name = "hog"}, [&] {
    spin_for(10ms);  // past the top level's allotment, far from the boost
    green::this_thread::yield();
    demoted = dump_line_of("hog");
    spin_for(120ms);  // past the boost interval: its stop brings the boost
    green::this_thread::yield();
    boosted = dump_line_of("hog");
  });
  hog.join();
  green::use_fifo_policy();
  CHECK(contains(demoted, "[mlfq level 1 of 3"));
  CHECK(contains(boosted, "[mlfq level 0 of 3"));
}

// Can a thread stay on top by yielding just before its allotment runs out? (OSTEP's gaming.)
TEST_CASE("mlfq_counts_the_total_time_at_a_level_so_short_runs_cannot_game_it") {
  green::use_policy(
      green::make_mlfq_policy({.levels = 3, .allotment = 40ms, .boost_interval = 1h}));
  auto gamer = green::spawn({.name = "gamer"}, [] {
    for (int i = 0; i < 6; ++i) {  // 10 ms a run, well under the allotment each time
      spin_for(10ms);
      green::this_thread::yield();
    }
  });
  for (int i = 0; i < 6; ++i) green::this_thread::yield();
  CHECK(contains(dump_line_of("gamer"), "[mlfq level 1 of 3"));
  gamer.join();
  green::use_fifo_policy();
}

// Does a priority set while running take effect at the thread's next yield?
TEST_CASE("set_priority_takes_effect_when_the_thread_next_becomes_runnable") {
  green::use_policy(green::make_priority_policy());
  std::string order;
  auto a = green::spawn({.name = "a"}, [&] {
    order += 'a';
    green::this_thread::set_priority(-5);
    green::this_thread::yield();  // now below b
    order += 'a';
  });
  auto b = green::spawn({.name = "b"}, [&] {
    order += 'b';
    green::this_thread::yield();
    order += 'b';
  });
  CHECK(green::set_priority(b.get_id(), 1));
  a.join();
  b.join();
  green::use_fifo_policy();
  // a ran first (both were placed at 0); b, raised to 1 while runnable, keeps its place
  // until it yields; then b outranks a.
  CHECK(order == "abba");
  CHECK_FALSE(green::set_priority(green::thread_id{999999}, 1));
}

// Does make_policy know every policy by name, and refuse others with the list?
TEST_CASE("make_policy_makes_every_named_policy_and_refuses_an_unknown_name") {
  for (const char* name : {"fifo", "random", "priority", "aging", "lottery", "stride", "mlfq"})
    CHECK(green::make_policy(name, 3) != nullptr);
  try {
    green::make_policy("fair");
    FAIL("no throw");
  } catch (const std::invalid_argument& e) {
    CHECK(contains(e.what(), "\"fair\""));
    CHECK(contains(e.what(), "mlfq"));
  }
  CHECK_THROWS_AS(green::make_mlfq_policy({.levels = 0}), std::invalid_argument);
  CHECK_THROWS_AS(green::make_aging_policy({.picks_per_level = 0}), std::invalid_argument);
}

}  // TEST_SUITE("green policies")
