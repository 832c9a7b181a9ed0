// The entry point of spindle-kv's engine tests (doctest's own main).
//
// Build and run, from the top of the tree:
//   g++ -std=c++20 -O2 -g -Wall -Wextra -Werror -I examples/kv -I tests
//       examples/kv/*.cpp tests/kv_*_test.cpp tests/kv_golden_format.cpp
//       tests/kv_test_main.cpp -o kv_engine_test
//   ./kv_engine_test
//
// Explained in: docs/10-spindle-kv.md (testing against redis).
// Read next: tests/kv_resp_test.cpp.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
