// Tests of snapshots (snapshot.hpp) and of SAVE and BGSAVE (persistence.hpp): the round
// trip, crash safety, damaged files, and a forked child that saves the state of the
// moment of the fork while the parent keeps changing the store.
//
// Explained in: docs/10-spindle-kv.md (snapshots).
// Read next: tests/kv_golden_test.cpp.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "kv_session.hpp"
#include "snapshot.hpp"

namespace spindle_kv::testing {
namespace {

using namespace std::string_literals;

// Everything a store holds, comparable: key -> (value, expires_at).
std::map<std::string, std::pair<std::string, std::int64_t>> contents(const Store& store) {
  std::map<std::string, std::pair<std::string, std::int64_t>> all;
  store.for_each_live([&](std::string_view key, const Entry& entry) {
    all.emplace(std::string(key), std::pair(entry.value, entry.expires_at));
  });
  return all;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A store with plain, binary, empty and expiring keys.
void fill(Store& store) {
  store.set("plain", "value");
  store.set("bin\0ary\r\n"s, "\0\xff\x01"s);
  store.set("", "empty key");
  store.set("empty value", "");
  store.set("expiring", "soon");
  store.set_expiry("expiring", store.now() + 60'000);
  store.set("big", std::string(100'000, 'b'));
}

// Sends the BGSAVE child's complaint to /dev/null while a test makes it fail.
class QuietStderr {
 public:
  QuietStderr() : saved_(::dup(STDERR_FILENO)) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDERR_FILENO);
    ::close(null);
  }
  ~QuietStderr() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }

 private:
  int saved_;
};

TEST_CASE("crc32 is the CRC-32 of zlib and Ethernet") {
  CHECK(crc32(0, "123456789") == 0xCBF43926u);
  CHECK(crc32(crc32(0, "1234"), "56789") == 0xCBF43926u);
  CHECK(crc32(0, "") == 0);
}

TEST_CASE("a snapshot loads back every key, value and expiry time") {
  TempDir dir;
  Store saved;
  fill(saved);
  CHECK(write_snapshot(saved, dir.path()) == 6);
  Store loaded;
  LoadReport report = load_snapshot(dir.path(), loaded);
  CHECK(report.found);
  CHECK(report.keys_loaded == 6);
  CHECK(contents(loaded) == contents(saved));
  CHECK(loaded.changes_since_save() == 0);
}

TEST_CASE("keys that expired while the server was down are left out of the load") {
  TempDir dir;
  std::int64_t now_ms = 1'000'000;
  Store saved([&] { return now_ms; });
  saved.set("lasting", "v");
  saved.set("brief", "v");
  saved.set_expiry("brief", now_ms + 10);
  write_snapshot(saved, dir.path());
  now_ms += 11;
  Store loaded([&] { return now_ms; });
  LoadReport report = load_snapshot(dir.path(), loaded);
  CHECK(report.keys_loaded == 1);
  CHECK(report.keys_expired == 1);
  CHECK(loaded.find("brief") == nullptr);
}

TEST_CASE("without a snapshot the store is left as it was") {
  TempDir dir;
  Store store;
  store.set("k", "v");
  LoadReport report = load_snapshot(dir.path(), store);
  CHECK_FALSE(report.found);
  CHECK(store.size() == 1);
}

// What if the server crashed while writing, leaving its temporary file behind?
TEST_CASE("a temporary file left by a crash is ignored") {
  TempDir dir;
  Store saved;
  saved.set("k", "v");
  write_snapshot(saved, dir.path());
  write_file(temporary_snapshot_path(dir.path(), 12345), "SPKV half a snap");
  Store loaded;
  CHECK(load_snapshot(dir.path(), loaded).keys_loaded == 1);
  CHECK(contents(loaded) == contents(saved));

  std::filesystem::remove(dir.path() / snapshot_file_name);
  CHECK_FALSE(load_snapshot(dir.path(), loaded).found);
}

TEST_CASE("a failed write leaves the previous snapshot whole and no temporary file") {
  TempDir dir;
  Store first;
  first.set("generation", "1");
  write_snapshot(first, dir.path());
  std::string before = read_file(dir.path() / snapshot_file_name);

  // A directory where the temporary file should go makes creating it fail.
  std::filesystem::path temp = temporary_snapshot_path(dir.path(), ::getpid());
  std::filesystem::create_directory(temp);
  Store second;
  second.set("generation", "2");
  CHECK_THROWS_AS(write_snapshot(second, dir.path()), SnapshotError);
  CHECK(read_file(dir.path() / snapshot_file_name) == before);
  std::filesystem::remove(temp);

  CHECK_THROWS_AS(write_snapshot(second, dir.path() / "missing"), SnapshotError);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "missing"));
}

TEST_CASE("any damaged byte or cut-short file is refused, and the store is untouched") {
  TempDir dir;
  Store saved;
  fill(saved);
  saved.erase("big");  // keep the file small: every byte of it is tried
  write_snapshot(saved, dir.path());
  const std::string good = read_file(dir.path() / snapshot_file_name);
  Store store;
  store.set("untouched", "yes");

  for (std::size_t i = 0; i < good.size(); ++i) {
    for (char flip : {'\x01', '\x80', '\xff'}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      write_file(dir.path() / snapshot_file_name, bad);
      CHECK_THROWS_AS(load_snapshot(dir.path(), store), SnapshotError);
    }
  }
  for (std::size_t size = 0; size < good.size(); ++size) {
    write_file(dir.path() / snapshot_file_name, good.substr(0, size));
    CHECK_THROWS_AS(load_snapshot(dir.path(), store), SnapshotError);
  }
  write_file(dir.path() / snapshot_file_name, good + "x");
  CHECK_THROWS_AS(load_snapshot(dir.path(), store), SnapshotError);
  CHECK(contents(store).size() == 1);
}

TEST_CASE("the load error says what is wrong with the file") {
  TempDir dir;
  Store store;
  write_file(dir.path() / snapshot_file_name, "REDIS0009 and so on");
  CHECK_THROWS_WITH(load_snapshot(dir.path(), store),
                    doctest::Contains("is corrupt: not a spindle-kv snapshot (at byte 4)"));
  write_file(dir.path() / snapshot_file_name, "SPKV\x02\0\0\0"s);
  CHECK_THROWS_WITH(load_snapshot(dir.path(), store),
                    doctest::Contains("unsupported format version 2"));
  write_file(dir.path() / snapshot_file_name, "SPKV\x01\0\0\0K\xff"s);
  CHECK_THROWS_WITH(load_snapshot(dir.path(), store), doctest::Contains("truncated"));
}

TEST_CASE("SAVE writes the snapshot and forgets the changes it covers") {
  TempDir dir;
  Session session(dir.path());
  CHECK(session.send("SET a 1\r\nSET b 2\r\nSAVE\r\n") == "+OK\r\n+OK\r\n+OK\r\n");
  CHECK(session.store.changes_since_save() == 0);
  CHECK(session.persistence.stats().rdb_saves == 1);
  Store loaded;
  load_snapshot(dir.path(), loaded);
  CHECK(contents(loaded) == contents(session.store));
}

TEST_CASE("a SAVE that fails replies -ERR and keeps the changes") {
  TempDir dir;
  Session session(dir.path() / "missing");
  CHECK(session.send("SET a 1\r\nSAVE\r\n") == "+OK\r\n-ERR\r\n");
  CHECK(session.store.changes_since_save() == 1);
  CHECK(session.persistence.last_error().find("cannot create") != std::string::npos);
}

// What if clients keep writing while the child is still saving?
TEST_CASE("BGSAVE saves the state at the fork while the parent changes the store") {
  TempDir dir;
  Session session(dir.path());
  fill(session.store);
  auto at_fork = contents(session.store);
  std::uint64_t changes_at_fork = session.store.changes_since_save();

  CHECK(session.send("BGSAVE\r\n") == "+Background saving started\r\n");
  CHECK(
      session.send("SET plain changed\r\nDEL big\r\nSET new key\r\nFLUSHALL\r\nSET after 1\r\n") ==
      "+OK\r\n:1\r\n+OK\r\n+OK\r\n+OK\r\n");
  std::uint64_t changes_after_fork = session.store.changes_since_save() - changes_at_fork;
  session.persistence.wait_background_save(session.store);

  Store loaded;
  load_snapshot(dir.path(), loaded);
  CHECK(contents(loaded) == at_fork);
  PersistenceStats stats = session.persistence.stats();
  CHECK(stats.rdb_last_bgsave_status_ok);
  CHECK_FALSE(stats.rdb_bgsave_in_progress);
  CHECK(stats.total_forks == 1);
  CHECK(session.store.changes_since_save() == changes_after_fork);
}

TEST_CASE("while a BGSAVE runs, another BGSAVE or a SAVE gets Redis's refusal") {
  TempDir dir;
  Session session(dir.path());
  CHECK(session.send("BGSAVE\r\n") == "+Background saving started\r\n");
  CHECK(session.send("INFO persistence\r\n").find("rdb_bgsave_in_progress:1\r\n") !=
        std::string::npos);
  CHECK(session.send("BGSAVE\r\nSAVE\r\nBGSAVE SCHEDULE\r\n") ==
        "-ERR Background save already in progress\r\n"
        "-ERR Background save already in progress\r\n"
        "-ERR Background save already in progress\r\n");
  session.persistence.wait_background_save(session.store);
  CHECK(session.send("BGSAVE\r\n") == "+Background saving started\r\n");
  session.persistence.wait_background_save(session.store);
}

TEST_CASE("the server's periodic reap collects the child once it has exited") {
  TempDir dir;
  Session session(dir.path());
  CHECK_FALSE(session.persistence.reap_background_save(session.store));
  session.send("SET k v\r\nBGSAVE\r\n");
  bool reaped = false;
  for (int tries = 0; tries < 10'000 && !reaped; ++tries) {
    reaped = session.persistence.reap_background_save(session.store);
    if (!reaped) ::usleep(1000);
  }
  CHECK(reaped);
  CHECK_FALSE(session.persistence.background_save_in_progress());
  CHECK(std::filesystem::exists(dir.path() / snapshot_file_name));
}

TEST_CASE("a BGSAVE whose child fails is recorded as failed, and the changes are kept") {
  TempDir dir;
  Session session(dir.path() / "missing");
  QuietStderr quiet;
  session.send("SET k v\r\n");
  CHECK(session.send("BGSAVE\r\n") == "+Background saving started\r\n");
  session.persistence.wait_background_save(session.store);
  CHECK_FALSE(session.persistence.stats().rdb_last_bgsave_status_ok);
  CHECK(session.store.changes_since_save() == 1);
  CHECK(session.send("INFO persistence\r\n").find("rdb_last_bgsave_status:err\r\n") !=
        std::string::npos);
  CHECK(session.persistence.last_error().find("failed") != std::string::npos);
}

TEST_CASE("loading at start-up tells INFO how many keys it loaded") {
  TempDir dir;
  Store saved;
  fill(saved);
  write_snapshot(saved, dir.path());
  Session session(dir.path());
  session.persistence.load(session.store);
  CHECK(contents(session.store) == contents(saved));
  CHECK(session.send("INFO persistence\r\n").find("rdb_last_load_keys_loaded:6\r\n") !=
        std::string::npos);
}

}  // namespace
}  // namespace spindle_kv::testing
