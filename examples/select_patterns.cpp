// examples/select_patterns.cpp — the classic uses of select, written once over
// spindle::backend: a timeout, a quit channel, and fan-in.
//
// Concept: select waits on several channel operations and performs the one that can go
// first. A deadline bounds a wait for a reply (timeout); a channel that is closed to say
// "stop" ends a worker that is otherwise busy sending (quit); and one thread merges the
// streams of several producers into one as values come (fan-in).
// Explained in: docs/06-synchronisation.md (select). Run: build/examples/select_patterns --help
#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cstdio>
#include <string>

#include "spindle/clone.hpp"
#include "spindle/green.hpp"

namespace {

using namespace std::chrono_literals;

template <spindle::backend B>
using channel = typename B::template channel<int>;

// Timeout: ask a slow worker, give up on the reply after `patience`, then wait longer.
template <spindle::backend B>
void timeout_pattern() {
  channel<B> reply(1);
  auto worker = B::spawn(spindle::spawn_options{.name = "slow worker"}, [&] {
    B::this_thread::sleep_for(200ms);
    reply.send(42);
  });
  auto answer = spindle::receive_from(reply);
  if (spindle::select_for(10ms, answer).index == spindle::select_result::none)
    std::printf("timeout:  no reply within 10 ms\n");
  if (spindle::select_for(10s, answer).status == spindle::channel_status::ok)
    std::printf("timeout:  then, waiting longer, the reply %d\n", *answer.value);
  worker.join();
}

// Quit channel: a worker sends ticks until the quit channel is closed; the sends and the
// quit are one select, so the worker never blocks past the request to stop.
template <spindle::backend B>
void quit_pattern(int wanted) {
  channel<B> ticks(0), quit(0);
  auto ticker = B::spawn(spindle::spawn_options{.name = "ticker"}, [&] {
    int sent = 0;
    for (;;) {
      auto r = spindle::select(spindle::send_to(ticks, sent), spindle::receive_from(quit));
      if (r.index == 1) return sent;
      ++sent;
    }
  });
  for (int i = 0; i < wanted; ++i) ticks.recv();
  quit.close();
  std::printf("quit:     took %d ticks, closed quit; the ticker stopped after sending %d\n", wanted,
              ticker.join());
}

// Fan-in: three producers on channels of their own, merged by one thread into `merged`
// in the order the values come; the merger ends when every producer's channel has closed.
template <spindle::backend B>
void fan_in_pattern(int per_producer) {
  std::array<channel<B>, 3> sources{channel<B>(0), channel<B>(0), channel<B>(0)};
  channel<B> merged(0);
  std::array<typename B::template thread<void>, 3> producers;
  for (int p = 0; p < 3; ++p) {
    producers[p] = B::spawn([&, p] {
      for (int i = 1; i <= per_producer; ++i) sources[p].send(i * (p + 1));
      sources[p].close();
    });
  }
  auto merger = B::spawn(spindle::spawn_options{.name = "merger"}, [&] {
    std::array<bool, 3> ended{};
    while (!(ended[0] && ended[1] && ended[2])) {
      auto a = spindle::receive_from(sources[0]);
      auto b = spindle::receive_from(sources[1]);
      auto c = spindle::receive_from(sources[2]);
      auto r = spindle::select(a, b, c);
      if (r.status == spindle::channel_status::closed)
        ended[r.index] = true;
      else
        merged.send(r.index == 0 ? *a.value : r.index == 1 ? *b.value : *c.value);
    }
    merged.close();
  });
  long sum = 0;
  int count = 0;
  for (int v : merged) {
    sum += v;
    ++count;
  }
  for (auto& p : producers) p.join();
  merger.join();
  std::printf("fan-in:   merged %d values from 3 producers, sum %ld\n", count, sum);
}

template <spindle::backend B>
void run(int ticks, int per_producer) {
  std::printf("%s backend\n", std::string(B::name).c_str());
  timeout_pattern<B>();
  quit_pattern<B>(ticks);
  fan_in_pattern<B>(per_producer);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"select's classic patterns: a timeout, a quit channel, fan-in."};
  std::string backend = "green";
  int ticks = 5;
  int per_producer = 100;
  app.add_option("-b,--backend", backend, "which threads to use")
      ->check(CLI::IsMember({"green", "clone"}));
  app.add_option("-t,--ticks", ticks, "ticks to take before quitting")
      ->check(CLI::Range(0, 1000000));
  app.add_option("-n,--per-producer", per_producer, "values each fan-in producer sends")
      ->check(CLI::Range(0, 1000000));
  CLI11_PARSE(app, argc, argv);
  if (backend == "clone")
    run<spindle::clone::backend>(ticks, per_producer);
  else
    run<spindle::green::backend>(ticks, per_producer);
  return 0;
}
