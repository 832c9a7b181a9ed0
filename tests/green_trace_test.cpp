// tests/green_trace_test.cpp — recording the green scheduler as a Chrome trace.
#include <chrono>
#include <sstream>
#include <string>

#include "harness.hpp"
#include "spindle/green/trace.hpp"

namespace green = spindle::green;
using namespace std::chrono_literals;

namespace {

// A small program with every kind of event: spawns, channel parks and wakes, a sleep
// whose timer fires, and exits.
void ping_pong_and_sleep() {
  green::channel<int> ping(0), pong(0);
  auto server = green::spawn({.name = "server"}, [&] {
    for (auto n = ping.recv(); n; n = ping.recv()) pong.send(*n + 1);
  });
  auto sleeper = green::spawn({.name = "sleeper"}, [] { green::this_thread::sleep_for(2ms); });
  // The server runs first and parks receiving: on a rendezvous channel the first to come
  // parks, and without this yield that would be main, sending.
  green::this_thread::yield();
  for (int i = 0; i < 3; ++i) {
    ping.send(i);
    pong.recv();
  }
  ping.close();
  server.join();
  sleeper.join();
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("green trace") {

// Does the trace name every thread and show when each ran and why it stopped?
TEST_CASE("a_trace_shows_each_thread_running_parking_and_waking") {
  green::trace::start();
  ping_pong_and_sleep();
  green::trace::stop();
  std::ostringstream json;
  green::trace::write_chrome_json(json);
  std::string text = json.str();
  CHECK(text.rfind("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", 0) == 0);
  CHECK(text.substr(text.size() - 3) == "]}\n");
  CHECK(has(text, "\"args\":{\"name\":\"server (id "));
  CHECK(has(text, "\"args\":{\"name\":\"sleeper (id "));
  CHECK(has(text, "\"args\":{\"name\":\"main (id "));
  CHECK(has(text, "\"name\":\"running\""));
  CHECK(has(text, "\"name\":\"park: channel (receive)\""));
  CHECK(has(text, "\"name\":\"park: sleep\""));
  CHECK(has(text, "\"name\":\"timer fired\""));
  CHECK(has(text, "\"name\":\"wake: timed out\""));
  CHECK(has(text, "\"name\":\"exit\""));
  CHECK(green::trace::dropped() == 0);
}

// Once stopped, does the scheduler record nothing more?
TEST_CASE("nothing_is_recorded_while_tracing_is_off") {
  green::trace::start();
  green::this_thread::yield();
  green::trace::stop();
  std::size_t before = green::trace::recorded();
  CHECK(before > 0);
  ping_pong_and_sleep();
  CHECK(green::trace::recorded() == before);
}

// A full buffer drops events and says so, rather than growing without bound.
TEST_CASE("a_full_trace_buffer_counts_what_it_drops") {
  green::trace::start(8);
  ping_pong_and_sleep();
  green::trace::stop();
  CHECK(green::trace::recorded() == 8);
  CHECK(green::trace::dropped() > 0);
}

}  // TEST_SUITE("green trace")
