// Does the engine reply exactly what a real redis-server replied? Replays every case of
// examples/kv/golden_replies.txt (recorded by examples/kv/compare_with_redis.sh) through
// a Session, in order, on one keyspace, and compares the bytes.
//
// Explained in docs/09-spindle-kv.md ("Testing against Redis").
// Read next: examples/kv/golden_cases.txt.
#include <doctest/doctest.h>

#include <filesystem>

#include "kv_golden_format.hpp"
#include "kv_session.hpp"

namespace spindle_kv::testing {
namespace {

// The golden file, found from this source file's path (absolute, or relative to the
// directory the compiler ran in, which is where the tests run from) unless the build
// names it.
std::filesystem::path golden_replies_file() {
#ifdef KV_GOLDEN_REPLIES
  return KV_GOLDEN_REPLIES;
#else
  return std::filesystem::path(__FILE__).parent_path() / "../examples/kv/golden_replies.txt";
#endif
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
    session.persistence.wait_background_save(session.store);
    CHECK(escape_bytes(reply) == escape_bytes(golden.recv));
  }
}

}  // namespace
}  // namespace spindle_kv::testing
