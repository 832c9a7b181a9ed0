// tests/select_test.cpp — select over channel sends and receives: the ready case, the
// default, deadlines, closed channels, fairness among ready cases, and races for one value.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <stop_token>
#include <vector>

#include "harness.hpp"

using spindle::channel_status;
using spindle::select_result;
using spindle_test::under_many_schedules;
using namespace std::chrono_literals;

TEST_SUITE("select") {

// One of two receive cases ready: is it the one taken, with its value?
TEST_CASE_TEMPLATE("select_takes_the_one_ready_receive_case_and_its_value", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> a(1), b(1);
  b.send(9);
  auto from_a = spindle::receive_from(a);
  auto from_b = spindle::receive_from(b);
  select_result r = spindle::select(from_a, from_b);
  CHECK(r.index == 1);
  CHECK(r.status == channel_status::ok);
  CHECK(from_b.value == 9);
  CHECK_FALSE(from_a.value.has_value());
  CHECK(b.try_receive().status == channel_status::timeout);
}

// A send case whose channel has room, beside a receive case with nothing to receive:
// is the send performed, and only it?
TEST_CASE_TEMPLATE("select_performs_the_send_case_whose_channel_has_room", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<std::string> out(1), in(1);
  auto r = spindle::select(spindle::receive_from(in), spindle::send_to(out, "hello"));
  CHECK(r.index == 1);
  CHECK(r.status == channel_status::ok);
  CHECK(out.try_recv() == "hello");
  CHECK(in.try_receive().status == channel_status::timeout);
}

// No case ready: does try_select take the default, and leave no waiter on any channel?
TEST_CASE_TEMPLATE("try_select_with_no_ready_case_returns_none_and_leaves_nothing_behind", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> a(0), b(0);
  auto r = spindle::try_select(spindle::receive_from(a), spindle::send_to(b, 1));
  CHECK(r.index == select_result::none);
  CHECK(r.status == channel_status::timeout);
  CHECK(a.try_send(1) == channel_status::timeout);           // no receiver was left queued
  CHECK(b.try_receive().status == channel_status::timeout);  // nor a sender
}

// A deadline with nothing ready: does select_for time out, and withdraw its waiters?
TEST_CASE_TEMPLATE("select_for_times_out_when_no_case_becomes_ready_and_withdraws_its_waiters", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> a(0), b(0);
  auto r = spindle::select_for(2ms, spindle::receive_from(a), spindle::send_to(b, 1));
  CHECK(r.index == select_result::none);
  CHECK(r.status == channel_status::timeout);
  CHECK(a.try_send(1) == channel_status::timeout);
  CHECK(b.try_receive().status == channel_status::timeout);
  CHECK(spindle::select_for(0ms, spindle::receive_from(a)).index == select_result::none);
}

// A deadline already past, but a case ready: is the case taken all the same?
TEST_CASE_TEMPLATE("select_until_a_past_deadline_still_takes_a_ready_case", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> a(1);
  a.send(3);
  auto from_a = spindle::receive_from(a);
  auto r = spindle::select_until(std::chrono::steady_clock::now() - 1s, from_a);
  CHECK(r.index == 0);
  CHECK(from_a.value == 3);
}

// Parked in select: does a receive case complete when a sender comes, and a send case
// when a receiver comes, each with the right value?
TEST_CASE_TEMPLATE("a_parked_select_completes_when_a_counterpart_arrives", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<int> in(0), out(0), unused(0);
    auto receiving = B::spawn([&] {
      auto from_in = spindle::receive_from(in);
      auto r = spindle::select(spindle::receive_from(unused), from_in);
      return r.index == 1 && r.status == channel_status::ok ? *from_in.value : -1;
    });
    auto sending = B::spawn([&] {
      return spindle::select_for(60s, spindle::send_to(out, 8), spindle::receive_from(unused))
          .index;
    });
    in.send(4);
    CHECK(out.recv() == 8);
    CHECK(receiving.join() == 4);
    CHECK(sending.join() == 0);
  });
}

// Closed channels: is a receive on a closed, drained channel a case that goes (closed),
// a send on a closed channel too, rather than a throw, and does close end a parked select?
TEST_CASE_TEMPLATE("select_reports_a_closed_channel_as_its_case_with_status_closed", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> done(0), out(0);
  done.close();
  auto r = spindle::select(spindle::send_to(out, 1), spindle::receive_from(done));
  CHECK(r.index == 1);
  CHECK(r.status == channel_status::closed);
  out.close();
  CHECK(spindle::try_select(spindle::send_to(out, 1)).status == channel_status::closed);
  under_many_schedules<B>([] {
    typename B::template channel<int> quit(0), work(0);
    auto worker = B::spawn(
        [&] { return spindle::select(spindle::receive_from(work), spindle::receive_from(quit)); });
    B::this_thread::yield();
    quit.close();
    auto got = worker.join();
    CHECK(got.index == 1);
    CHECK(got.status == channel_status::closed);
  });
}

// Fair: with three cases always ready, is each chosen over many selects, in about equal
// shares? (Each has probability 1/3; 300 draws land under 60 with odds below 1e-9.)
TEST_CASE_TEMPLATE("select_chooses_every_ready_case_over_many_runs", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    std::array<typename B::template channel<int>, 3> ready{typename B::template channel<int>(1),
                                                           typename B::template channel<int>(1),
                                                           typename B::template channel<int>(1)};
    std::array<int, 3> chosen{};
    for (auto& ch : ready) ch.send(0);
    for (int round = 0; round < 300; ++round) {
      auto r = spindle::select(spindle::receive_from(ready[0]), spindle::receive_from(ready[1]),
                               spindle::receive_from(ready[2]));
      REQUIRE(r.index < 3);
      ++chosen[r.index];
      ready[r.index].send(0);
    }
    for (int n : chosen) CHECK(n >= 60);
  });
}

// A receive case declared once and passed to select after select: does it hold only
// what the latest select received, and nothing when another case won?
TEST_CASE_TEMPLATE("a_receive_case_reused_holds_only_the_latest_selects_value", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> a(1), b(1);
  auto from_a = spindle::receive_from(a);
  a.send(1);
  CHECK(spindle::select(from_a, spindle::receive_from(b)).index == 0);
  CHECK(from_a.value == 1);
  b.send(2);
  CHECK(spindle::select(from_a, spindle::receive_from(b)).index == 1);
  CHECK_FALSE(from_a.value.has_value());
}

// The same seed: does it replay the same choices among ready cases?
TEST_CASE_TEMPLATE("the_same_seed_replays_the_same_choices", B, SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> a(1), b(1);
  auto choices = [&] {
    std::vector<std::size_t> made;
    for (int i = 0; i < 64; ++i) {
      a.try_send(0);
      b.try_send(0);
      made.push_back(spindle::select(spindle::receive_from(a), spindle::receive_from(b)).index);
    }
    return made;
  };
  spindle::seed_select(17);
  auto first = choices();
  spindle::seed_select(17);
  CHECK(choices() == first);
  CHECK(std::count(first.begin(), first.end(), 0u) > 0);
  CHECK(std::count(first.begin(), first.end(), 1u) > 0);
}

// Two selects parked on one channel, one value sent: does exactly one of them get it,
// and the other end by the quit channel, never both or neither?
TEST_CASE_TEMPLATE("two_selects_racing_for_one_value_take_it_once", B, SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<int> value(0), quit(0);
    auto contender = [&] {
      auto from_value = spindle::receive_from(value);
      auto r = spindle::select(from_value, spindle::receive_from(quit));
      return r.index == 0 ? *from_value.value : 0;
    };
    auto first = B::spawn(contender);
    auto second = B::spawn(contender);
    value.send(1);
    quit.close();
    CHECK(first.join() + second.join() == 1);
  });
}

// A select and a plain receive racing for one value, and a select and a plain send
// racing for one receiver: is each value taken exactly once?
TEST_CASE_TEMPLATE("a_select_and_a_plain_call_racing_take_each_value_once", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<int> value(0), quit(0);
    auto selecting = B::spawn([&] {
      auto from_value = spindle::receive_from(value);
      return spindle::select(from_value, spindle::receive_from(quit)).index == 0 ? *from_value.value
                                                                                 : 0;
    });
    auto plain = B::spawn([&] { return value.receive_for(60s).value.value_or(0); });
    value.send(1);
    // Whoever lost waits on: end it. The plain receiver by a second value, if it lost.
    quit.close();
    int by_select = selecting.join();
    if (by_select == 1) value.send(2);
    int by_plain = plain.join();
    CHECK(by_select + by_plain == (by_select == 1 ? 3 : 1));

    typename B::template channel<int> sink(0), never(0);
    auto select_sender = B::spawn(
        [&] { return spindle::select(spindle::send_to(sink, 10), spindle::receive_from(never)); });
    auto plain_sender = B::spawn([&] { return sink.send_for(20, 60s); });
    std::vector<int> got{*sink.recv(), *sink.recv()};
    auto selected = select_sender.join();
    CHECK(selected.index == 0);
    CHECK(selected.status == channel_status::ok);
    CHECK(plain_sender.join() == channel_status::ok);
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{10, 20});
    CHECK(sink.try_receive().status == channel_status::timeout);
  });
}

// Many selecting senders and selecting receivers over two channels at once: is every
// value received exactly once, with none lost to a waiter that another case outran?
TEST_CASE_TEMPLATE("selects_on_both_ends_deliver_every_value_exactly_once", B,
                   SPINDLE_TEST_BACKENDS) {
  for (std::size_t capacity : {0u, 2u}) {
    CAPTURE(capacity);
    under_many_schedules<B>([capacity] {
      typename B::template channel<int> left(capacity), right(capacity);
      constexpr int producers = 3, per_producer = 40;
      std::vector<typename B::template thread<void>> senders;
      for (int p = 0; p < producers; ++p) {
        senders.push_back(B::spawn([&, p] {
          for (int i = 0; i < per_producer; ++i) {
            int v = p * 1000 + i;
            spindle::select(spindle::send_to(left, v), spindle::send_to(right, v));
          }
        }));
      }
      std::vector<typename B::template thread<std::vector<int>>> receivers;
      for (int c = 0; c < 2; ++c) {
        receivers.push_back(B::spawn([&] {
          std::vector<int> mine;
          // Closed and drained stays so: done once each channel has said closed.
          std::array<bool, 2> ended{};
          while (!(ended[0] && ended[1])) {
            auto from_left = spindle::receive_from(left);
            auto from_right = spindle::receive_from(right);
            auto r = spindle::select(from_left, from_right);
            if (r.status == channel_status::closed)
              ended[r.index] = true;
            else
              mine.push_back(r.index == 0 ? *from_left.value : *from_right.value);
          }
          return mine;
        }));
      }
      for (auto& s : senders) s.join();
      left.close();
      right.close();
      std::vector<int> all;
      for (auto& r : receivers) {
        auto mine = r.join();
        all.insert(all.end(), mine.begin(), mine.end());
      }
      std::sort(all.begin(), all.end());
      std::vector<int> expected;
      for (int p = 0; p < producers; ++p)
        for (int i = 0; i < per_producer; ++i) expected.push_back(p * 1000 + i);
      CHECK(all == expected);
    });
  }
}

// A select that nothing can ever complete: is it reported as a deadlock naming select?
TEST_CASE_TEMPLATE("a_select_no_thread_can_complete_is_a_deadlock", B, SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> a(0), b(0);
  auto stuck = B::spawn([&] {
    try {
      spindle::select(spindle::receive_from(a), spindle::receive_from(b));
    } catch (const spindle::deadlock_error& e) {
      return std::string(e.what()).find("select") != std::string::npos;
    }
    return false;
  });
  CHECK(stuck.join());
  CHECK(a.try_send(1) == channel_status::timeout);  // the waiters were withdrawn
}

// A select parked with a stop token: does request_stop end it with index none and status
// stopped, with nothing received, and leave no waiter behind on any of its channels?
TEST_CASE_TEMPLATE("a_stop_request_ends_a_parked_select_and_leaves_no_waiter_behind", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<int> a(0), b(0);
    std::stop_source source;
    auto selecting = B::spawn([&] {
      auto from_a = spindle::receive_from(a);
      auto r = spindle::select(source.get_token(), from_a, spindle::send_to(b, 1));
      return r.index == select_result::none && r.status == channel_status::stopped && !from_a.value;
    });
    auto timed = B::spawn(
        [&] { return spindle::select_for(60s, source.get_token(), spindle::receive_from(a)); });
    B::this_thread::yield();
    source.request_stop();
    CHECK(selecting.join());
    auto r = timed.join();
    CHECK(r.index == select_result::none);
    CHECK(r.status == channel_status::stopped);
    CHECK(a.try_send(5) == channel_status::timeout);
    CHECK(b.try_receive().status == channel_status::timeout);
  });
}

// A stop requested before the call: does a ready case still go, as with a deadline
// already past, and a select with no case ready end at once with stopped?
TEST_CASE_TEMPLATE("a_select_whose_stop_was_requested_already_takes_only_a_ready_case", B,
                   SPINDLE_TEST_BACKENDS) {
  typename B::template channel<int> ch(1);
  std::stop_source source;
  source.request_stop();
  auto token = source.get_token();
  CHECK(spindle::select(token, spindle::send_to(ch, 3)).status == channel_status::ok);
  auto got = spindle::receive_from(ch);
  auto r = spindle::select_until(std::chrono::steady_clock::now() - 1s, token, got);
  CHECK(r.index == 0);
  CHECK(got.value == 3);
  r = spindle::select(token, got);
  CHECK(r.index == select_result::none);
  CHECK(r.status == channel_status::stopped);
  CHECK(spindle::select_for(60s, token, got).status == channel_status::stopped);
  std::stop_token never;  // a default token: the plain select
  CHECK(spindle::select_for(1ms, never, got).status == channel_status::timeout);
}

// A stop and a sender racing for one parked select: does the value go to the select (ok)
// or stay with its sender (whose own stop then ends it), never both and never neither?
TEST_CASE_TEMPLATE("a_stop_racing_a_sender_for_a_parked_select_loses_no_value", B,
                   SPINDLE_TEST_BACKENDS) {
  under_many_schedules<B>([] {
    typename B::template channel<int> ch(0);
    std::stop_source stop_select, stop_sender;
    auto selecting = B::spawn([&] {
      auto got = spindle::receive_from(ch);
      auto r = spindle::select(stop_select.get_token(), got);
      return r.status == channel_status::ok ? *got.value : -1;
    });
    auto sending = B::spawn([&] { return ch.send(7, stop_sender.get_token()); });
    B::this_thread::yield();
    stop_select.request_stop();
    int selected = selecting.join();
    stop_sender.request_stop();
    channel_status sent = sending.join();
    CHECK((selected == 7) == (sent == channel_status::ok));
    CHECK((selected == -1) == (sent == channel_status::stopped));
  });
}

}  // TEST_SUITE("select")
