// tests/channel_test.cpp — rendezvous and buffered channels, close, range-for, and the
// timed and non-blocking sends and receives with their channel_status.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"

using spindle::channel_status;
using spindle_test::under_many_schedules;
using namespace std::chrono_literals;

TEST_SUITE("channel") {

// Capacity 0: does send wait until a receiver is there?
TEST_CASE_TEMPLATE("a_rendezvous_send_returns_only_once_a_receiver_waits", B,
                   SPINDLE_TEST_BACKENDS) {
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
TEST_CASE_TEMPLATE("a_range_for_loop_receives_until_the_channel_is_closed", B,
                   SPINDLE_TEST_BACKENDS) {
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
      if (auto v = r.join())
        got.push_back(*v);
      else
        ++ended;
    }
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{10, 20});
    CHECK(ended == 2);
    CHECK_FALSE(ch.recv().has_value());
  });
}

// A deadline already past, or a zero or negative duration: does a ready value still go,
// and an operation that would have to wait time out at once, moving nothing?
TEST_CASE_TEMPLATE(
    "timed_operations_with_no_time_left_do_what_needs_no_wait_and_time_out_otherwise", B,
    SPINDLE_TEST_BACKENDS) {
  typename B::template channel<std::string> ch(1);
  auto past = std::chrono::steady_clock::now() - 1s;
  CHECK(ch.send_until(std::string("a"), past) == channel_status::ok);
  std::string kept = "b";
  CHECK(ch.send_for(std::move(kept), 0ms) == channel_status::timeout);
  CHECK(ch.send_until(std::move(kept), past) == channel_status::timeout);
  CHECK(ch.try_send(std::move(kept)) == channel_status::timeout);
  CHECK(kept == "b");
  auto [status, value] = ch.receive_until(past);
  CHECK(status == channel_status::ok);
  CHECK(value == "a");
  CHECK(ch.receive_for(0ms).status == channel_status::timeout);
  CHECK(ch.receive_for(-5ms).status == channel_status::timeout);
  CHECK(ch.receive_until(std::chrono::system_clock::now() - 1h).status == channel_status::timeout);
  auto nothing = ch.try_receive();
  CHECK(nothing.status == channel_status::timeout);
  CHECK_FALSE(nothing.value.has_value());
}

// A receive that timed out on a rendezvous channel: is it gone, so that a later sender
// finds no receiver, and a sender that timed out gone, so that a receiver finds no value?
TEST_CASE_TEMPLATE("a_timed_out_wait_leaves_nothing_behind_in_the_channel", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(0);
  CHECK(ch.receive_for(2ms).status == channel_status::timeout);
  CHECK(ch.try_send(1) == channel_status::timeout);
  CHECK(ch.send_for(2, 2ms) == channel_status::timeout);
  CHECK(ch.try_receive().status == channel_status::timeout);
}

// A thread parked in a timed receive or send, long before its deadline: does a counterpart
// arriving in time complete it with ok?
TEST_CASE_TEMPLATE("a_counterpart_arriving_before_the_deadline_completes_a_timed_wait", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<int> to_receiver(0), from_sender(0);
    auto receiver = B::spawn([&] { return to_receiver.receive_for(60s); });
    auto sender = B::spawn([&] { return from_sender.send_for(42, 60s); });
    to_receiver.send(7);
    CHECK(from_sender.recv() == 42);
    auto got = receiver.join();
    CHECK(got.status == channel_status::ok);
    CHECK(got.value == 7);
    CHECK(sender.join() == channel_status::ok);
  });
}

// A sender and a receiver whose deadlines are the same moment: whichever way the race at
// the deadline goes, do both report the same outcome, so the value is never lost or doubled?
TEST_CASE_TEMPLATE("at_a_shared_deadline_sender_and_receiver_agree_on_whether_the_value_went", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<int> ch(0);
    auto deadline = std::chrono::steady_clock::now() + 1ms;
    auto receiver = B::spawn([&] { return ch.receive_until(deadline); });
    auto sender = B::spawn([&] {
      B::this_thread::sleep_until(deadline);
      return ch.send_until(5, deadline);
    });
    auto got = receiver.join();
    channel_status sent = sender.join();
    CHECK(got.status == sent);
    CHECK(got.value.has_value() == (sent == channel_status::ok));
    if (got.value) CHECK(*got.value == 5);
    CHECK(ch.try_receive().status == channel_status::timeout);
  });
}

// Timed waits on both ends when the channel closes: does each end early with closed?
TEST_CASE_TEMPLATE("closing_the_channel_ends_timed_waits_with_closed", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<int> full(1), empty(0);
    full.send(0);
    auto sender = B::spawn([&] { return full.send_for(1, 60s); });
    auto receiver =
        B::spawn([&] { return empty.receive_until(std::chrono::steady_clock::now() + 60s); });
    B::this_thread::yield();
    full.close();
    empty.close();
    CHECK(sender.join() == channel_status::closed);
    CHECK(receiver.join().status == channel_status::closed);
    // What was buffered before the close is still received, then the end.
    CHECK(full.try_receive().value == 0);
    CHECK(full.try_receive().status == channel_status::closed);
  });
}

// Senders parked on a full buffer: does each receive let the first waiting sender's value
// into the room it made, so that values come out in the order the senders parked?
TEST_CASE_TEMPLATE("parked_senders_refill_the_buffer_in_the_order_they_came", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(1);
  ch.send(1);
  std::vector<typename B::template thread<void>> senders;
  for (int v = 2; v <= 4; ++v) {
    senders.push_back(B::spawn([&ch, v] { ch.send(v); }));
    B::this_thread::yield();  // green, FIFO: the sender runs and parks before the next
  }
  std::vector<int> got;
  for (int i = 0; i < 4; ++i) got.push_back(*ch.recv());
  for (auto& s : senders) s.join();
  CHECK(got.front() == 1);
  if constexpr (spindle_test::is_green<B>) {
    CHECK(got == std::vector<int>{1, 2, 3, 4});
  } else {  // kernel threads park in an order of the kernel's choosing
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{1, 2, 3, 4});
  }
}

// Starts `parked(channel)` on a thread of its own, lets it block on a rendezvous channel,
// then runs `counterpart(channel)` and destroys the channel at once, as a function whose
// channel goes out of scope does; returns what the parked thread returned.
template <class B, class Parked, class Counterpart>
int destroyed_right_after(Parked parked, Counterpart counterpart) {
  auto ch = std::make_unique<typename B::template channel<int>>(0);
  std::atomic<bool> started{false};
  auto thread = B::spawn([&started, parked, c = ch.get()] {
    started = true;
    return parked(*c);
  });
  while (!started) B::this_thread::yield();  // green: it has parked by now
  if constexpr (!spindle_test::is_green<B>) B::this_thread::sleep_for(1ms);  // most likely parked
  counterpart(*ch);
  ch.reset();
  return thread.join();
}

// A thread parked on a channel, woken because the other side completed its call (took its
// value, handed it one, closed the channel, decided its select): does it return without
// touching the channel again, so that the other side may destroy it at once? (The woken
// thread once took the channel's mutex again on its way out: a use after free, reported by
// ASan and valgrind, and natively a thread parked on freed memory or a failed unlock.)
TEST_CASE_TEMPLATE("a_thread_woken_by_the_other_side_leaves_without_touching_the_channel", B,
                   SPINDLE_TEST_BACKENDS) {
  using channel = typename B::template channel<int>;
  under_many_schedules<B>([] {
    int taken = 0;
    auto send_7 = [](channel& c) {
      c.send(7);
      return 0;
    };
    CHECK(destroyed_right_after<B>(send_7, [&](channel& c) { taken = c.recv().value_or(-1); }) ==
          0);
    CHECK(taken == 7);
    auto receive = [](channel& c) { return c.recv().value_or(-1); };
    CHECK(destroyed_right_after<B>(receive, [](channel& c) { c.send(7); }) == 7);
    CHECK(destroyed_right_after<B>(receive, [](channel& c) { c.close(); }) == -1);
    auto stoppable_receive = [](channel& c) {
      std::stop_source never_stopped;
      return c.receive_for(1h, never_stopped.get_token()).value.value_or(-1);
    };
    CHECK(destroyed_right_after<B>(stoppable_receive, [](channel& c) { c.send(8); }) == 8);
    auto select_receive = [](channel& c) {
      auto got = spindle::receive_from(c);
      spindle::select(got);
      return got.value.value_or(-1);
    };
    CHECK(destroyed_right_after<B>(select_receive, [](channel& c) { c.send(9); }) == 9);
    CHECK(destroyed_right_after<B>(select_receive, [](channel& c) { c.close(); }) == -1);
  });
}

}  // TEST_SUITE("channel")
