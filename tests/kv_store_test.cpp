// Tests of the keyspace (store.hpp, hash_table.hpp) and of glob patterns (glob.hpp): lazy
// expiry, the purge of stale keys, memory accounting, the change counter snapshots use,
// and SCAN's cursor across resizes.
// A test clock stands still until the test moves it.
//
// Explained in: docs/10-spindle-kv.md (the keyspace).
// Read next: tests/kv_commands_test.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "glob.hpp"
#include "store.hpp"

namespace spindle_kv {
namespace {

struct TestClock {
  std::int64_t now_ms = 1'000'000;
  Clock clock() {
    return [this] { return now_ms; };
  }
};

std::vector<std::string> sorted(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST_CASE("a key lives until the clock passes its expiry time, not a millisecond less") {
  TestClock time;
  Store store(time.clock());
  store.set("k", "v");
  store.set_expiry("k", time.now_ms + 100);
  time.now_ms += 100;
  REQUIRE(store.find("k") != nullptr);
  CHECK(store.find("k")->expires_at == time.now_ms);
  time.now_ms += 1;
  CHECK(store.find("k") == nullptr);
  CHECK(store.size() == 0);
  CHECK(store.expired_keys() == 1);
}

TEST_CASE("setting a key drops its expiry time unless asked to keep it") {
  TestClock time;
  Store store(time.clock());
  store.set("k", "v");
  store.set_expiry("k", time.now_ms + 100);
  store.set("k", "w", KeepExpiry::yes);
  CHECK(store.find("k")->expires_at == time.now_ms + 100);
  store.set("k", "x");
  CHECK(store.find("k")->expires_at == no_expiry);
  CHECK(store.expiring() == 0);
}

// What if a stale key is set again before anyone read it?
TEST_CASE("setting a stale key makes a fresh key, without the old expiry time") {
  TestClock time;
  Store store(time.clock());
  store.set("k", "v");
  store.set_expiry("k", time.now_ms + 10);
  time.now_ms += 11;
  store.set("k", "new", KeepExpiry::yes);
  CHECK(store.find("k")->value == "new");
  CHECK(store.find("k")->expires_at == no_expiry);
  CHECK(store.expired_keys() == 1);
}

TEST_CASE("stale keys stay counted until a lookup or a purge deletes them") {
  TestClock time;
  Store store(time.clock());
  for (int i = 0; i < 5; ++i) {
    store.set("k" + std::to_string(i), "v");
    store.set_expiry("k" + std::to_string(i), time.now_ms + 10 * (i + 1));
  }
  store.set("forever", "v");
  time.now_ms += 35;  // k0, k1 and k2 are stale
  CHECK(store.size() == 6);
  CHECK(sorted(store.keys_matching("k*")) == std::vector<std::string>{"k3", "k4"});
  CHECK(store.size() == 6);

  CHECK(store.purge_expired(2) == 2);
  CHECK(store.find("k2") == nullptr);  // the third stale key goes by lookup
  CHECK(store.purge_expired() == 0);
  CHECK(store.size() == 3);
  CHECK(store.expired_keys() == 3);
}

TEST_CASE("the purge takes the longest-expired keys first") {
  TestClock time;
  Store store(time.clock());
  store.set("late", "v");
  store.set_expiry("late", time.now_ms + 20);
  store.set("early", "v");
  store.set_expiry("early", time.now_ms + 10);
  time.now_ms += 100;
  CHECK(store.purge_expired(1) == 1);
  CHECK(store.size() == 1);
  CHECK(store.keys_matching("*").empty());
  CHECK(store.purge_expired() == 1);
}

TEST_CASE("changing a key's expiry time moves it in the expiry index") {
  TestClock time;
  Store store(time.clock());
  store.set("k", "v");
  store.set_expiry("k", time.now_ms + 10);
  store.set_expiry("k", time.now_ms + 1000);
  time.now_ms += 500;
  CHECK(store.purge_expired() == 0);
  CHECK(store.expiring() == 1);
  CHECK(store.average_ttl() == 500);
}

TEST_CASE("the average TTL counts only live keys that have an expiry time") {
  TestClock time;
  Store store(time.clock());
  CHECK(store.average_ttl() == 0);
  for (auto [key, ttl] : {std::pair{"a", 100}, {"b", 300}, {"gone", -5}}) {
    store.set(key, "v");
    store.set_expiry(key, time.now_ms + ttl);
  }
  store.set("no-ttl", "v");
  CHECK(store.average_ttl() == 200);
}

TEST_CASE("memory accounting returns to zero when every key is gone, whatever the path") {
  TestClock time;
  Store store(time.clock());
  CHECK(store.used_memory() == 0);
  store.set("a", std::string(1000, 'x'));
  std::size_t one_key = store.used_memory();
  CHECK(one_key > 1000);
  store.set("a", "short");
  CHECK(store.used_memory() == one_key - 995);
  store.set("b", "v");
  store.set_expiry("b", time.now_ms + 10);
  store.set_expiry("b", time.now_ms + 20);
  store.set("c", "v");
  store.set_expiry("c", time.now_ms + 10);
  store.set("d", "v");
  store.set_expiry("d", time.now_ms + 30);
  time.now_ms += 25;
  store.purge_expired();  // b and c
  store.find("d");        // still live
  store.erase("a");
  store.set("d", "w");  // drops d's expiry
  store.erase("d");
  CHECK(store.size() == 0);
  CHECK(store.used_memory() == 0);
  CHECK(store.peak_memory() >= one_key);
}

TEST_CASE("every write counts as a change until a save forgets it") {
  Store store;
  store.set("a", "1");
  store.set("b", "2");
  store.set_expiry("b", unix_time_ms() + 100000);
  store.erase("a");
  store.erase("nothing");
  CHECK(store.changes_since_save() == 4);
  store.forget_changes(3);
  CHECK(store.changes_since_save() == 1);
  store.clear();
  CHECK(store.changes_since_save() == 2);
  store.forget_changes(99);
  CHECK(store.changes_since_save() == 0);
}

TEST_CASE("a moved store keeps its keys and its expiry index") {
  TestClock time;
  Store first(time.clock());
  first.set("k", "v");
  first.set_expiry("k", time.now_ms + 10);
  Store second(time.clock());
  second = std::move(first);
  time.now_ms += 11;
  CHECK(second.purge_expired() == 1);
  CHECK(second.size() == 0);
}

// In which order does a cursor walk the buckets?
TEST_CASE("the scan cursor counts buckets with its bits reversed, and ends at 0") {
  HashTable<int> table;
  for (int i = 0; i < 8; ++i) table.insert("key:" + std::to_string(i));
  REQUIRE(table.bucket_count() == 8);
  std::vector<std::uint64_t> cursors;
  std::uint64_t cursor = 0;
  do {
    cursors.push_back(cursor);
    cursor = table.scan(cursor, [](const HashTable<int>::Node&) {});
  } while (cursor != 0);
  CHECK(cursors == std::vector<std::uint64_t>{0, 4, 2, 6, 1, 5, 3, 7});
}

// Writes between the calls of a scan: after each of the first growth_calls calls a
// hundred new keys, then (if shrink) a hundred of those deleted after each call.
struct ScanUnderChurn {
  std::map<std::string, int> offered;  // each key offered, and how many times
  std::size_t most_buckets = 0, fewest_buckets_after_peak = 0, calls = 0;
};

ScanUnderChurn scan_while_churning(Store& store, int growth_calls, bool shrink) {
  ScanUnderChurn result;
  int made = 0, deleted = 0;
  ScanCursor cursor = 0;
  do {
    cursor = store.scan(
        cursor, 5, [&](std::string_view key, const Entry&) { ++result.offered[std::string(key)]; });
    if (result.calls++ < static_cast<std::size_t>(growth_calls)) {
      for (int i = 0; i < 100; ++i) store.set("churn:" + std::to_string(made++), "x");
      result.most_buckets = std::max(result.most_buckets, store.bucket_count());
      result.fewest_buckets_after_peak = store.bucket_count();
    } else if (shrink) {
      for (int i = 0; i < 100 && deleted < made; ++i)
        store.erase("churn:" + std::to_string(deleted++));
      result.fewest_buckets_after_peak =
          std::min(result.fewest_buckets_after_peak, store.bucket_count());
    }
  } while (cursor != 0);
  return result;
}

// What if the table doubles, again and again, and then halves, in the middle of a scan?
TEST_CASE(
    "a scan returns every key present throughout, while the table grows and shrinks under it") {
  Store store;
  for (int i = 0; i < 300; ++i) store.set("stay:" + std::to_string(i), "v");
  REQUIRE(store.bucket_count() == 512);
  ScanUnderChurn scan = scan_while_churning(store, 160, true);
  CHECK(scan.most_buckets >= 16384);                               // it grew five times at least
  CHECK(scan.fewest_buckets_after_peak * 8 <= scan.most_buckets);  // and shrank back
  for (int i = 0; i < 300; ++i) {
    INFO("stay:" << i);
    CHECK(scan.offered.count("stay:" + std::to_string(i)) == 1);
  }
}

// Only a shrink may offer a key twice (Redis's guarantee too): growth must not.
TEST_CASE("a scan while the table only grows offers no key twice") {
  Store store;
  for (int i = 0; i < 300; ++i) store.set("stay:" + std::to_string(i), "v");
  ScanUnderChurn scan = scan_while_churning(store, 160, false);
  CHECK(scan.most_buckets >= 16384);
  CHECK(scan.offered.size() > 300);  // some of the new keys too
  for (const auto& [key, times] : scan.offered) {
    INFO(key);
    CHECK(times == 1);
  }
}

// What does a scan of a table that never changes return?
TEST_CASE("a scan of an unchanging keyspace offers each live key once and no stale key") {
  TestClock time;
  Store store(time.clock());
  for (int i = 0; i < 1000; ++i) store.set("k" + std::to_string(i), "v");
  store.set_expiry("k7", time.now_ms - 1);
  std::map<std::string, int> offered;
  ScanCursor cursor = 0;
  do {
    cursor = store.scan(cursor, 10,
                        [&](std::string_view key, const Entry&) { ++offered[std::string(key)]; });
  } while (cursor != 0);
  CHECK(offered.size() == 999);
  CHECK(offered.count("k7") == 0);
  CHECK(
      std::all_of(offered.begin(), offered.end(), [](const auto& key) { return key.second == 1; }));
}

// What does a renamed key keep?
TEST_CASE("a renamed key keeps its value and expiry time, and the old name is gone") {
  TestClock time;
  Store store(time.clock());
  for (int i = 0; i < 100; ++i) store.set("k" + std::to_string(i), "v" + std::to_string(i));
  store.set_expiry("k5", time.now_ms + 10);
  store.rename("k5", "renamed");
  CHECK(store.find("k5") == nullptr);
  REQUIRE(store.find("renamed") != nullptr);
  CHECK(store.find("renamed")->value == "v5");
  time.now_ms += 11;
  CHECK(store.purge_expired() == 1);
  CHECK(store.find("renamed") == nullptr);
  CHECK(store.size() == 99);
}

TEST_CASE("KEYS * lists the empty key, which no other pattern matches") {
  Store store;
  store.set("", "v");
  store.set("a", "v");
  CHECK(sorted(store.keys_matching("*")) == std::vector<std::string>{"", "a"});
  CHECK(store.keys_matching("**") == std::vector<std::string>{"a"});
}

TEST_CASE("glob patterns follow Redis's rules") {
  struct Case {
    const char* pattern;
    const char* text;
    bool matches;
  };
  const Case cases[] = {
      {"*", "anything", true},
      {"h?llo", "hello", true},
      {"h?llo", "hllo", false},
      {"h*llo", "hllo", true},
      {"h*llo", "heeeello", true},
      {"h[ae]llo", "hallo", true},
      {"h[ae]llo", "hillo", false},
      {"h[^e]llo", "hallo", true},
      {"h[^e]llo", "hello", false},
      {"h[a-b]llo", "hbllo", true},
      {"h[b-a]llo", "hallo", true},
      {"h[a-b]llo", "hcllo", false},
      {"h\\*llo", "h*llo", true},
      {"h\\*llo", "hallo", false},
      {"[\\]]", "]", true},
      {"[]]", "]", false},
      {"[]", "x", false},
      {"[^]", "x", true},
      {"x[ab", "xb", true},
      {"x[", "x", false},
      {"a\\", "a\\", true},
      {"[a-]", "]", true},
      {"[a-]", "-", false},
      {"*a*b*c", "xxaxxbxxc", true},
      {"*a*b*c", "xxaxxbxxcx", false},
      {"a*", "a", true},
      {"", "", true},
      {"?", "", false},
      {"**", "", false},
      {"abc", "abcd", false},
      {"a[\xfe-\xff]b", "a\xffz", false},
      {"a[\xfe-\xff]b",
       "a\xff"
       "b",
       true},
  };
  for (const Case& c : cases) {
    INFO("pattern " << c.pattern << " text " << c.text);
    CHECK(glob_match(c.pattern, c.text) == c.matches);
  }
}

// What if a pattern of many stars meets a long text that almost matches?
TEST_CASE("a pattern of many stars matches a long text without exponential work") {
  std::string text(5000, 'a');
  CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
  CHECK(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", text));
}

}  // namespace
}  // namespace spindle_kv
