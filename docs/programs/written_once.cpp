// docs/programs/written_once.cpp — a program written once over the concept
// spindle::backend: a producer, a consumer, a channel between them.
// Shown in: docs/02-the-api.md. Regenerate the output: docs/programs/run_all.sh.
#include <cstdio>

#include "spindle/spindle.hpp"

// Sends 1..n down a channel; the consumer adds them up until the channel is closed.
template <spindle::backend B>
long sum_through_a_channel(int n) {
  typename B::template channel<int> numbers(4);
  auto consumer = B::spawn(spindle::spawn_options{.name = "consumer"}, [&numbers] {
    long sum = 0;
    for (int value : numbers) sum += value;
    return sum;
  });
  for (int i = 1; i <= n; ++i) numbers.send(i);
  numbers.close();
  return consumer.join();
}

int main() {
  std::printf("%s backend: 1 + ... + 1000 = %ld\n", spindle::green::backend::name.data(),
              sum_through_a_channel<spindle::green::backend>(1000));
}
