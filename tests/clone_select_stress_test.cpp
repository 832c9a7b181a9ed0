// tests/clone_select_stress_test.cpp — select and the timed channel calls raced by kernel
// threads on several CPUs at once.
//
// Concept: on the green backend a test can replay every interleaving from a seed; on the
// clone backend the races are real, so these tests make many of them (8 threads, several
// channels, deadlines of microseconds that expire in the middle of hand-overs) and check
// only outcomes: every value that a sender was told went was received exactly once, and
// every value a sender was told did not go was received never.
// Explained in: docs/06-synchronisation.md (select). Read next: tests/select_test.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include "spindle/clone.hpp"

using spindle::channel_status;
using namespace std::chrono_literals;

namespace {

constexpr int threads_per_side = 4;
constexpr int values_per_sender = 3000;

// What each sender was told: the values that went.
using sent_values = std::vector<int>;

}  // namespace

// Senders that select over three channels with a deadline of microseconds, receivers that
// do the same with plain timed receives mixed in: is each value that went received once,
// and each value that timed out never?
TEST_CASE("racing_timed_selects_on_kernel_threads_lose_and_double_no_value") {
  for (std::size_t capacity : {0u, 1u, 8u, 0u, 1u, 8u, 0u, 1u, 8u}) {
    CAPTURE(capacity);
    std::array<spindle::clone::channel<int>, 3> lanes{spindle::clone::channel<int>(capacity),
                                                      spindle::clone::channel<int>(capacity),
                                                      spindle::clone::channel<int>(capacity)};
    spindle::clone::channel<int> quit(0);
    std::vector<spindle::clone::thread<sent_values>> senders;
    for (int s = 0; s < threads_per_side; ++s) {
      senders.push_back(spindle::clone::spawn([&, s] {
        sent_values went;
        for (int i = 0; i < values_per_sender; ++i) {
          int v = s * values_per_sender + i;
          auto r =
              spindle::select_for(20us, spindle::send_to(lanes[0], v),
                                  spindle::send_to(lanes[1], v), spindle::send_to(lanes[2], v));
          if (r.status == channel_status::ok) went.push_back(v);
        }
        return went;
      }));
    }
    std::vector<spindle::clone::thread<std::vector<int>>> receivers;
    for (int r = 0; r < threads_per_side; ++r) {
      receivers.push_back(spindle::clone::spawn([&, r] {
        std::vector<int> got;
        for (int round = 0;; ++round) {
          if ((round + r) % 4 == 0) {  // a plain timed receive now and then, racing the selects
            auto one = lanes[round % 3].receive_for(10us);
            if (one.value) got.push_back(*one.value);
            continue;
          }
          auto a = spindle::receive_from(lanes[0]);
          auto b = spindle::receive_from(lanes[1]);
          auto c = spindle::receive_from(lanes[2]);
          auto result = spindle::select_for(50us, a, b, c, spindle::receive_from(quit));
          if (result.index == 3) break;
          for (auto* taken : {&a.value, &b.value, &c.value})
            if (*taken) got.push_back(**taken);
        }
        // Drain what was buffered when quit closed.
        for (auto& lane : lanes)
          while (auto v = lane.try_recv()) got.push_back(*v);
        return got;
      }));
    }
    std::vector<int> went;
    for (auto& s : senders) {
      auto mine = s.join();
      went.insert(went.end(), mine.begin(), mine.end());
    }
    quit.close();
    std::vector<int> received;
    for (auto& r : receivers) {
      auto mine = r.join();
      received.insert(received.end(), mine.begin(), mine.end());
    }
    std::sort(went.begin(), went.end());
    std::sort(received.begin(), received.end());
    CHECK(received.size() == went.size());
    CHECK(received == went);
    CHECK(std::adjacent_find(received.begin(), received.end()) == received.end());
  }
}

// Many selects and plain receivers parked on one rendezvous channel, values sent one at a
// time: does each value end in exactly one of them?
TEST_CASE("one_value_at_a_time_to_many_racing_selects_and_receivers_goes_to_exactly_one") {
  constexpr int rounds = 300;
  for (int round = 0; round < rounds; ++round) {
    spindle::clone::channel<int> value(0), quit(0);
    std::vector<spindle::clone::thread<int>> contenders;
    for (int c = 0; c < 6; ++c) {
      contenders.push_back(spindle::clone::spawn([&, c] {
        int total = 0;
        for (;;) {
          if (c % 2 == 0) {
            auto v = spindle::receive_from(value);
            auto r = spindle::select(v, spindle::receive_from(quit));
            if (r.status == channel_status::closed) return total;  // quit, or value closed
            REQUIRE(r.index == 0);
            total += *v.value;
          } else {
            auto v = value.recv();
            if (!v) return total;
            total += *v;
          }
        }
      }));
    }
    for (int i = 1; i <= 20; ++i) value.send(i);
    quit.close();
    value.close();
    int sum = 0;
    for (auto& c : contenders) sum += c.join();
    REQUIRE(sum == 20 * 21 / 2);
  }
}
