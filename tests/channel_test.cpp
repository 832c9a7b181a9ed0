// tests/channel_test.cpp — rendezvous and buffered channels, close, range-for.
#include <algorithm>
#include <atomic>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"

using spindle_test::under_many_schedules;

TEST_SUITE("channel") {

// Capacity 0: does send wait until a receiver is there?
TEST_CASE_TEMPLATE("a_rendezvous_send_returns_only_once_a_receiver_waits", B, SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(0);
  CHECK(ch.try_send(1) == spindle::channel_status::timeout);
  std::atomic<bool> receiver_started{false};
  auto sender = B::spawn([&] {
    ch.send(7);
    return receiver_started.load();
  });
  B::this_thread::yield();
  receiver_started = true;
  CHECK(ch.recv() == 7);
  CHECK(sender.join());
}

// Capacity N: do N sends complete with nobody receiving, and the next one not?
TEST_CASE_TEMPLATE("a_buffered_channel_holds_capacity_values_without_a_receiver", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<std::string> ch(3);
  CHECK(ch.capacity() == 3);
  ch.send("a");
  ch.send("b");
  CHECK(ch.try_send(std::string("c")) == spindle::channel_status::ok);
  std::string kept = "d";
  CHECK(ch.try_send(std::move(kept)) == spindle::channel_status::timeout);
  CHECK(kept == "d");
  CHECK(ch.recv() == "a");
  CHECK(ch.try_recv() == "b");
  CHECK(ch.recv() == "c");
  CHECK_FALSE(ch.try_recv().has_value());
}

// After close: does the receiver drain what was sent, then get an empty optional?
TEST_CASE_TEMPLATE("receiving_from_a_closed_channel_drains_it_then_reports_the_end", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(4);
  ch.send(1);
  ch.send(2);
  ch.close();
  CHECK(ch.closed());
  CHECK(ch.recv() == 1);
  CHECK(ch.recv() == 2);
  CHECK_FALSE(ch.recv().has_value());
  CHECK_FALSE(ch.recv().has_value());
  ch.close();
}

// Is sending on a closed channel an error rather than a hang, and try_send's answer closed?
TEST_CASE_TEMPLATE("sending_on_a_closed_channel_throws_channel_closed", B, SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(1);
  ch.close();
  CHECK_THROWS_AS(ch.send(1), spindle::channel_closed);
  CHECK(ch.try_send(1) == spindle::channel_status::closed);
  CHECK(ch.send_for(1, std::chrono::milliseconds(5)) == spindle::channel_status::closed);
}

// Blocked senders and receivers when the channel closes: does each wake with its answer?
TEST_CASE_TEMPLATE("close_wakes_blocked_senders_and_receivers", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<int> full(0), empty(0);
    auto sender = B::spawn([&] {
      try {
        full.send(1);
      } catch (const spindle::channel_closed&) {
        return true;
      }
      return false;
    });
    auto receiver = B::spawn([&] { return empty.recv().has_value(); });
    B::this_thread::yield();
    full.close();
    empty.close();
    // Nobody ever receives on `full` (capacity 0), so the sender can only end by the close.
    CHECK(sender.join());
    CHECK_FALSE(receiver.join());
  });
}

// Does a range-for loop receive every value and stop at close?
TEST_CASE_TEMPLATE("a_range_for_loop_receives_until_the_channel_is_closed", B, SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(2);
  auto producer = B::spawn([&] {
    for (int i = 0; i < 10; ++i) ch.send(i);
    ch.close();
  });
  std::vector<int> got;
  for (int v : ch) got.push_back(v);
  producer.join();
  CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

// Many producers, many consumers, both capacities: is every value received exactly once?
TEST_CASE_TEMPLATE("every_value_sent_is_received_exactly_once", B, SPINDLE_TEST_BACKENDS) {
  for (std::size_t capacity : {0u, 1u, 5u}) {
    CAPTURE(capacity);
    under_many_schedules<B>([capacity] {
      typename B::template channel<int> ch(capacity);
      std::vector<typename B::template thread<void>> producers;
      std::vector<typename B::template thread<std::vector<int>>> consumers;
      for (int p = 0; p < 3; ++p) {
        producers.push_back(B::spawn([&ch, p] {
          for (int i = 0; i < 20; ++i) ch.send(p * 100 + i);
        }));
      }
      for (int c = 0; c < 3; ++c) {
        consumers.push_back(B::spawn([&ch] {
          std::vector<int> mine;
          for (int v : ch) mine.push_back(v);
          return mine;
        }));
      }
      for (auto& p : producers) p.join();
      ch.close();
      std::vector<int> all;
      for (auto& c : consumers) {
        auto mine = c.join();
        // The channel is FIFO: each consumer sees each producer's values in send order.
        for (int p = 0; p < 3; ++p) {
          std::vector<int> from_p;
          std::copy_if(mine.begin(), mine.end(), std::back_inserter(from_p),
                       [p](int v) { return v / 100 == p; });
          CHECK(std::is_sorted(from_p.begin(), from_p.end()));
        }
        all.insert(all.end(), mine.begin(), mine.end());
      }
      std::sort(all.begin(), all.end());
      std::vector<int> expected;
      for (int p = 0; p < 3; ++p)
        for (int i = 0; i < 20; ++i) expected.push_back(p * 100 + i);
      CHECK(all == expected);
    });
  }
}

// A receiver parked before anything was sent, then more sends than it takes: does it get
// the first value (handed to it directly) and the buffered ones after it, in send order?
TEST_CASE_TEMPLATE("a_parked_receiver_gets_the_first_value_and_the_buffer_keeps_the_order", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<std::string> ch(2);
    auto receiver = B::spawn([&] {
      std::vector<std::string> got;
      for (std::string& v : ch) got.push_back(v);
      return got;
    });
    B::this_thread::yield();
    for (const char* v : {"a", "b", "c", "d", "e"}) ch.send(v);
    ch.close();
    CHECK(receiver.join() == std::vector<std::string>{"a", "b", "c", "d", "e"});
  });
}

// Several receivers parked on an empty channel when it closes, after some were handed a
// value: does each get either its value or the end, and no value twice or never?
TEST_CASE_TEMPLATE("close_ends_every_parked_receiver_and_loses_no_value_handed_over", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<int> ch(0);
    std::vector<typename B::template thread<std::optional<int>>> receivers;
    for (int r = 0; r < 4; ++r) receivers.push_back(B::spawn([&ch] { return ch.recv(); }));
    ch.send(10);
    ch.send(20);
    ch.close();
    std::vector<int> got;
    int ended = 0;
    for (auto& r : receivers) {
      if (auto v = r.join()) got.push_back(*v);
      else ++ended;
    }
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{10, 20});
    CHECK(ended == 2);
    CHECK_FALSE(ch.recv().has_value());
  });
}

}  // TEST_SUITE
