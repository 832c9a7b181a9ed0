// Does the engine reply exactly what a real redis-server replied? Replays every case of
// examples/kv/golden_replies.txt (recorded by examples/kv/compare_with_redis.sh) through
// a Session, in order, on one keyspace, and compares the bytes.
//
// Explained in: docs/10-spindle-kv.md (testing against redis).
// Read next: tests/kv_golden_format.hpp.
#include <doctest/doctest.h>
#include <valgrind/valgrind.h>

#include <filesystem>
#include <stdexcept>

#include "kv_golden_format.hpp"
#include "kv_session.hpp"

namespace spindle_kv::testing {
namespace {

// The golden file: where the build says (-DKV_GOLDEN_REPLIES="path"), or found from
// this source file's path, which is relative to where the compiler ran: run the tests
// from there too.
std::filesystem::path golden_replies_file() {
#ifdef KV_GOLDEN_REPLIES
  std::filesystem::path file = KV_GOLDEN_REPLIES;
#else
  std::filesystem::path file =
      std::filesystem::path(__FILE__).parent_path() / "../examples/kv/golden_replies.txt";
#endif
  if (!std::filesystem::exists(file))
    throw std::runtime_error(file.string() +
                             " not found: run from the directory the tests were "
                             "compiled in, or compile with -DKV_GOLDEN_REPLIES=\"/path/to/it\"");
  return file;
}

// What if the file were missing or empty? The test must fail, not pass on nothing.
TEST_CASE("the golden file holds the recorded cases") {
  CHECK(read_golden_replies(golden_replies_file()).size() > 150);
}

TEST_CASE("every reply matches what redis-server replied, byte for byte") {
  TempDir dir;
  Session session(dir.path());
  for (const GoldenCase& golden : read_golden_replies(golden_replies_file())) {
    INFO("golden_replies.txt line " << golden.line << ": send " << escape_bytes(golden.send));
    std::string reply = session.send(golden.send);
    // Memcheck computes x87 long double at double's precision, so INCRBYFLOAT's digits
    // (Redis's long double arithmetic) differ under it; they are checked in the plain
    // and sanitized configurations.
    if (RUNNING_ON_VALGRIND && golden.send.find("INCRBYFLOAT") != std::string::npos) continue;
    session.persistence.wait_background_save(session.store);
    CHECK(escape_bytes(reply) == escape_bytes(golden.recv));
  }
}

}  // namespace
}  // namespace spindle_kv::testing
