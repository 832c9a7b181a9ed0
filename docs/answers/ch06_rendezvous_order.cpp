// docs/answers/ch06_rendezvous_order.cpp — the answer to docs/06-synchronisation.md,
// exercise 2: over a rendezvous channel, a spawned sender notes "sent" right after send
// returns and main notes "received" right after recv returns. Which comes first?
//
// What it shows: on the green backend under FIFO, always "sent": spawn does not switch,
// so main reaches recv first and parks with a slot on its stack; the sender hands the
// value into the slot and wakes main, and since a wake never switches, the sender goes on
// and notes "sent" before main is picked. On the clone backend the two threads run at
// once after the hand-over, so no order is promised; the program counts both orders over
// many runs, and checks only that every value arrived.
// Explained in: docs/06-synchronisation.md (exercises), answer 06.2 in docs/appendix-answers.md.
// Read next: runtime/include/spindle/channel.hpp.
#include <atomic>
#include <cstdio>
#include <string>

#include "claim.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"

namespace {

// Returns the two notes in the order they were made, "sent received" or "received sent",
// or "lost" if the value did not arrive.
template <spindle::backend B>
std::string one_rendezvous() {
  typename B::template channel<int> rendezvous(0);
  typename B::mutex notes_lock;
  std::string notes;
  auto note = [&](const char* what) {
    std::lock_guard hold(notes_lock);
    notes += notes.empty() ? what : std::string(" ") + what;
  };
  auto sender = B::spawn([&] {
    rendezvous.send(42);
    note("sent");
  });
  bool arrived = rendezvous.recv() == 42;
  note("received");
  sender.join();
  return arrived ? notes : "lost";
}

template <spindle::backend B>
int runs_in_which(const std::string& order, int runs, int* lost) {
  int count = 0;
  for (int i = 0; i < runs; ++i) {
    std::string notes = one_rendezvous<B>();
    count += notes == order;
    *lost += notes == "lost";
  }
  return count;
}

}  // namespace

int main() {
  constexpr int runs = 200;
  int lost = 0;
  int green_sent_first = runs_in_which<spindle::green::backend>("sent received", runs, &lost);
  int clone_sent_first = runs_in_which<spindle::clone::backend>("sent received", runs, &lost);
  std::printf("\"sent\" first: green %d of %d runs, clone %d of %d\n", green_sent_first, runs,
              clone_sent_first, runs);
  answer::claim(green_sent_first == runs, "green, FIFO: \"sent\" comes first in every run");
  answer::claim(lost == 0, "on both backends every value sent was received");
  return answer::claims_failed();
}
