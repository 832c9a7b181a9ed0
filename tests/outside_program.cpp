// tests/outside_program.cpp — a program outside spindle that knows it only as a dependency.
// Built by tests/install_test.sh as a meson subproject's user (the pkg-config and CMake
// builds there compile the README's own sample instead).
#include <cstdio>
#include <spindle/green.hpp>

int main() {
  spindle::green::channel<int> numbers(0);
  auto producer = spindle::green::spawn([&] {
    for (int i = 1; i <= 10; ++i) numbers.send(i);
    numbers.close();
  });
  int sum = 0;
  for (int n : numbers) sum += n;
  producer.join();
  std::printf("sum=%d\n", sum);
  return sum == 55 ? 0 : 1;
}
