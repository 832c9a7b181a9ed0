// Tests of the commands (commands.hpp, info.hpp) beyond what the golden replies cover:
// the actions handed to the server, expiry as a test clock moves, INFO's contents, and
// that no arguments whatever can make a command fail to answer.
//
// Explained in: docs/10-spindle-kv.md (commands).
// Read next: tests/kv_snapshot_test.cpp.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "kv_session.hpp"

namespace spindle_kv::testing {
namespace {

struct TestClock {
  std::int64_t now_ms = 1'700'000'000'000;
  Clock clock() {
    return [this] { return now_ms; };
  }
};

struct Executed {
  Action action;
  std::string reply;
};

Executed run(Session& session, const Argv& argv) {
  Executed executed;
  spindle_kv::Client client;
  executed.action =
      execute(argv, session.store, session.persistence, session.facts, client, executed.reply);
  client.unwatch_all(session.store);
  return executed;
}

// Consumes one RESP2 value from reply at pos; false if it is not well formed.
bool skip_one_value(const std::string& reply, std::size_t& pos) {
  std::size_t end = reply.find("\r\n", pos);
  if (pos >= reply.size() || end == std::string::npos) return false;
  char type = reply[pos];
  std::string header = reply.substr(pos + 1, end - pos - 1);
  pos = end + 2;
  if (type == '+' || type == '-') return true;
  auto number = parse_integer(header);
  if (!number) return false;
  if (type == ':') return true;
  if (type == '$') {
    if (*number == -1) return true;
    pos += static_cast<std::size_t>(*number) + 2;
    return *number >= 0 && pos <= reply.size() && reply.compare(pos - 2, 2, "\r\n") == 0;
  }
  if (type != '*' || *number < 0) return false;
  for (std::int64_t i = 0; i < *number; ++i)
    if (!skip_one_value(reply, pos)) return false;
  return true;
}

TEST_CASE("SAVE, BGSAVE and QUIT hand the server an action; other commands just reply") {
  TempDir dir;
  Session session(dir.path());
  CHECK(run(session, {"save"}).action == Action::save);
  CHECK(run(session, {"save"}).reply.empty());
  CHECK(run(session, {"BGSAVE"}).action == Action::background_save);
  CHECK(run(session, {"bgsave", "Schedule"}).action == Action::background_save);

  Executed bad_bgsave = run(session, {"BGSAVE", "now"});
  CHECK(bad_bgsave.action == Action::reply);
  CHECK(bad_bgsave.reply == "-ERR syntax error\r\n");

  Executed quit = run(session, {"QUIT", "ignored"});
  CHECK(quit.action == Action::close_after_reply);
  CHECK(quit.reply == "+OK\r\n");

  Executed http = run(session, {"POST", "/", "HTTP/1.1"});
  CHECK(http.action == Action::close_now);
  CHECK(http.reply.empty());
  CHECK(run(session, {"Host:", "example.com"}).action == Action::close_now);
  CHECK(run(session, {"PING"}).action == Action::reply);
}

TEST_CASE("a key set with PX is there until the clock passes its time") {
  TestClock time;
  TempDir dir;
  Session session(dir.path(), time.clock());
  CHECK(session.send("SET k v PX 100\r\n") == "+OK\r\n");
  time.now_ms += 100;
  CHECK(session.send("GET k\r\nTTL k\r\n") == "$1\r\nv\r\n:0\r\n");
  time.now_ms += 1;
  CHECK(session.send("GET k\r\nTTL k\r\nEXISTS k\r\n") == "$-1\r\n:-2\r\n:0\r\n");
}

TEST_CASE("TTL rounds the time left to the nearest second") {
  TestClock time;
  TempDir dir;
  Session session(dir.path(), time.clock());
  CHECK(session.send("SET k v PX 1499\r\nTTL k\r\n") == "+OK\r\n:1\r\n");
  CHECK(session.send("SET k v PX 1500\r\nTTL k\r\n") == "+OK\r\n:2\r\n");
  time.now_ms += 1001;
  CHECK(session.send("TTL k\r\n") == ":0\r\n");
}

TEST_CASE("EXAT and PXAT set an absolute time, and a time past makes the key stale") {
  TestClock time;
  TempDir dir;
  Session session(dir.path(), time.clock());
  std::string in_ten_seconds = std::to_string(time.now_ms / 1000 + 10);
  CHECK(session.send("SET a v EXAT " + in_ten_seconds + "\r\nTTL a\r\n") == "+OK\r\n:10\r\n");
  std::string in_five_seconds = std::to_string(time.now_ms + 5000);
  CHECK(session.send("SET b v PXAT " + in_five_seconds + "\r\nTTL b\r\n") == "+OK\r\n:5\r\n");
  std::string a_second_ago = std::to_string(time.now_ms - 1000);
  CHECK(session.send("SET c v PXAT " + a_second_ago + "\r\nGET c\r\n") == "+OK\r\n$-1\r\n");
}

TEST_CASE("EXPIRE to a time already past deletes the key at once") {
  TestClock time;
  TempDir dir;
  Session session(dir.path(), time.clock());
  CHECK(session.send("SET k v\r\nEXPIRE k 0\r\n") == "+OK\r\n:1\r\n");
  CHECK(session.store.size() == 0);
}

// What does DBSIZE say about a key whose time has passed but that nobody touched?
TEST_CASE("DBSIZE counts stale keys until a purge or a lookup deletes them") {
  TestClock time;
  TempDir dir;
  Session session(dir.path(), time.clock());
  session.send("SET a v PX 10\r\nSET b v\r\n");
  time.now_ms += 11;
  CHECK(session.send("DBSIZE\r\nKEYS *\r\n") == ":2\r\n*1\r\n$1\r\nb\r\n");
  session.store.purge_expired();
  CHECK(session.send("DBSIZE\r\n") == ":1\r\n");
}

TEST_CASE("INFO reports the server's facts and the store's numbers, section by section") {
  TestClock time;
  TempDir dir;
  Session session(dir.path(), time.clock());
  session.facts = {"green", 42, 7, 99};
  session.send("SET a 1\r\nSET b 2 PX 3000\r\n");
  Executed info = run(session, {"INFO"});
  std::string text = info.reply;
  for (const char* line :
       {"# Server\r\n", "thread_backend:green\r\n", "uptime_in_seconds:42\r\n",
        "\r\n\r\n# Clients\r\nconnected_clients:7\r\n", "\r\n\r\n# Memory\r\n",
        "\r\n\r\n# Persistence\r\n", "rdb_changes_since_last_save:3\r\n",
        "rdb_last_bgsave_status:ok\r\n", "\r\n\r\n# Stats\r\n", "total_connections_received:99\r\n",
        "total_forks:0\r\n", "\r\n\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=3000\r\n"})
    CHECK_MESSAGE(text.find(line) != std::string::npos, line);
  CHECK(text.find("used_memory:" + std::to_string(session.store.used_memory()) + "\r\n") !=
        std::string::npos);
  CHECK(text.find("# Server") < text.find("# Clients"));
  CHECK(text.find("# Stats") < text.find("# Keyspace"));
  std::size_t pos = 0;
  CHECK(skip_one_value(text, pos));
  CHECK(pos == text.size());
}

TEST_CASE("INFO shows only the sections asked for, in Redis's order") {
  TempDir dir;
  Session session(dir.path());
  session.facts.connected_clients = 3;
  std::string clients = "# Clients\r\nconnected_clients:3\r\n";
  CHECK(run(session, {"INFO", "clients"}).reply == "$32\r\n" + clients + "\r\n");
  std::string two = run(session, {"INFO", "KEYSPACE", "Clients"}).reply;
  CHECK(two == "$46\r\n" + clients + "\r\n# Keyspace\r\n\r\n");
  for (const char* every : {"default", "all", "everything"}) {
    std::string text = run(session, {"INFO", every}).reply;
    CHECK(text == run(session, {"INFO"}).reply);
  }
}

TEST_CASE("used_memory_human reads like Redis's") {
  TempDir dir;
  Session session(dir.path());
  session.store.set("k", std::string(3 * 1024 * 1024, 'x'));
  std::string text = run(session, {"INFO", "memory"}).reply;
  CHECK(text.find("used_memory_human:3.00M\r\n") != std::string::npos);
}

// What if a client sends any old arguments to any command?
TEST_CASE("every command answers random arguments with exactly one well-formed reply") {
  // Every command of the table but the three whose action is not a reply (save, bgsave,
  // quit), and one that does not exist.
  const char* names[] = {
      "ping",      "echo",        "set",       "get",        "del",         "exists",  "incr",
      "decr",      "incrby",      "decrby",    "mget",       "mset",        "expire",  "ttl",
      "keys",      "dbsize",      "flushall",  "info",       "nosuch",      "setnx",   "setex",
      "psetex",    "getset",      "getdel",    "getex",      "append",      "strlen",  "getrange",
      "setrange",  "incrbyfloat", "msetnx",    "unlink",     "touch",       "pexpire", "expireat",
      "pexpireat", "persist",     "pttl",      "expiretime", "pexpiretime", "rename",  "renamenx",
      "copy",      "type",        "randomkey", "scan",       "object",      "hello",   "client",
      "select",    "command",     "config",    "time",       "multi",       "exec",    "discard",
      "watch",     "unwatch",     "lcs"};
  const char* words[] = {"k",
                         "v",
                         "1",
                         "-1",
                         "0",
                         "EX",
                         "px",
                         "NX",
                         "xx",
                         "GET",
                         "keepttl",
                         "exat",
                         "9223372036854775807",
                         "-9223372036854775808",
                         "*",
                         "[",
                         "\\",
                         "",
                         "gt",
                         "LT",
                         "sync",
                         "99999999999999999999",
                         "3.5",
                         "\r\n",
                         "persist",
                         "MATCH",
                         "count",
                         "TYPE",
                         "replace",
                         "db",
                         "setname",
                         "GETNAME",
                         "id",
                         "list",
                         "encoding",
                         "string",
                         "2",
                         "inf",
                         "-inf",
                         "nan",
                         "1e308",
                         "IDX",
                         "len",
                         "minmatchlen",
                         "WITHMATCHLEN"};
  std::mt19937 random(7);
  TempDir dir;
  Session session(dir.path());
  for (int round = 0; round < 20000; ++round) {
    Argv argv{names[random() % std::size(names)]};
    for (int n = static_cast<int>(random() % 6); n > 0; --n)
      argv.push_back(words[random() % std::size(words)]);
    Executed executed = run(session, argv);
    std::size_t pos = 0;
    INFO("request: " << argv[0] << " with " << argv.size() - 1 << " arguments");
    REQUIRE(executed.action == Action::reply);
    REQUIRE(skip_one_value(executed.reply, pos));
    REQUIRE(pos == executed.reply.size());
  }
}

}  // namespace
}  // namespace spindle_kv::testing
