// docs/answers/ch02_ping_pong.cpp — the answer to docs/02-the-api.md, exercise 2:
// template <spindle::backend B> void ping_pong(), in which two threads pass a counter
// back and forth over two B::channel<int>s a thousand times; instantiated with both
// backends.
//
// What it shows: one function template compiles and runs over either backend; each side
// sees every value the other sent, one more than it sent itself, so the hops strictly
// alternate, and the counter comes back as 1000 from both.
// Explained in: docs/02-the-api.md (exercises), answer 02.2 in docs/appendix-answers.md.
// Read next: docs/programs/written_once.cpp.
#include <cstdio>
#include <string>

#include "claim.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"

namespace {

constexpr int hops = 1000;

struct outcome {
  int last = 0;            // the counter after the last hop
  bool alternated = true;  // every value received was one more than the last one sent
};

// Main sends 1 to the player (the first hop); each side sends back one more than it
// received, until the player's send makes it `hops`. Rendezvous channels (capacity 0):
// a send waits for its receiver.
template <spindle::backend B>
outcome ping_pong() {
  typename B::template channel<int> to_player(0), to_main(0);
  auto player = B::spawn([&] {
    bool alternated = true;
    int expected = 1;
    for (int value : to_player) {
      alternated = alternated && value == expected;
      expected = value + 2;
      to_main.send(value + 1);
    }
    return alternated;
  });
  outcome result;
  int sent = 1;
  to_player.send(sent);
  for (;;) {
    int value = to_main.recv().value();  // the player never closes to_main
    result.alternated = result.alternated && value == sent + 1;
    result.last = value;
    if (value == hops) break;
    sent = value + 1;
    to_player.send(sent);
  }
  to_player.close();
  result.alternated = player.join() && result.alternated;
  return result;
}

template <spindle::backend B>
void check() {
  outcome result = ping_pong<B>();
  std::printf("%s: the counter came back as %d\n", B::name.data(), result.last);
  answer::claim(result.last == hops && result.alternated,
                std::string(B::name) + ": a thousand hops, each one more than the last");
}

}  // namespace

int main() {
  check<spindle::green::backend>();
  check<spindle::clone::backend>();
  return answer::claims_failed();
}
