// spindle-kv's server, tested from outside: the real program on a loopback port, driven
// by the real redis-cli and by raw sockets. tests/meson.build runs this file once per
// backend (SPINDLE_KV_BACKEND), so each case is written once and runs on both.
//
// The cases assert what clients see, never how fast: where a case waits for the server
// to do something on its own (purge a key, reap a BGSAVE child), it asks again until the
// answer comes or a generous limit passes, and the limit passing is a failure.
//
// Explained in: docs/10-spindle-kv.md (testing the server).
// Read next: tests/kv_server_harness.hpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>

#include "kv_server_harness.hpp"
#include "kv_session.hpp"

namespace spindle_kv::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> all;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) all.push_back(line);
  return all;
}

TEST_SUITE("spindle-kv server") {

// Does the real redis-cli get Redis's answers to the everyday commands?
TEST_CASE("redis_cli_sets_gets_counts_expires_and_lists_keys") {
  TempDir dir;
  RunningServer server(dir.path());
  auto cli = [&](std::vector<std::string> args) { return redis_cli(server.port(), args); };
  CHECK(cli({"SET", "greeting", "hello world"}) == "OK\n");
  CHECK(cli({"GET", "greeting"}) == "hello world\n");
  CHECK(cli({"INCR", "counter"}) == "1\n");
  CHECK(cli({"INCR", "counter"}) == "2\n");
  CHECK(cli({"MSET", "x", "1", "y", "2"}) == "OK\n");
  CHECK(cli({"MGET", "x", "nosuch", "y"}) == "1\n\n2\n");
  auto keys = lines(cli({"KEYS", "*"}));
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"counter", "greeting", "x", "y"});
  CHECK(cli({"EXPIRE", "greeting", "100"}) == "1\n");
  int ttl = std::stoi(cli({"TTL", "greeting"}));
  CHECK(ttl > 0);
  CHECK(ttl <= 100);
  CHECK(cli({"TTL", "counter"}) == "-1\n");
  CHECK(cli({"DEL", "x", "y", "nosuch"}) == "2\n");
  CHECK(cli({"TTL", "x"}) == "-2\n");
  CHECK(cli({"INCR", "greeting"}).starts_with("ERR value is not an integer or out of range\n"));
}

// A thousand requests in one write, cut by the server's reads wherever they fall:
// does each get its reply, in order?
TEST_CASE("pipelined_requests_each_get_their_reply_in_order") {
  TempDir dir;
  RunningServer server(dir.path());
  Client client(server.port());
  constexpr int count = 1000;
  std::string pipeline, expected;
  for (int i = 1; i <= count; ++i) {
    pipeline += request({"INCR", "hits"});
    expected += ":" + std::to_string(i) + "\r\n";
  }
  REQUIRE(client.send(pipeline));
  CHECK(client.replies(count) == expected);
  CHECK(client.call({"GET", "hits"}) == bulk(std::to_string(count)));
}

// redis-cli --pipe streams a file of requests and counts the replies: all of them?
TEST_CASE("redis_cli_pipe_mode_runs_every_request") {
  TempDir dir;
  RunningServer server(dir.path());
  std::filesystem::path input = dir.path() / "requests.resp";
  {
    std::ofstream out(input, std::ios::binary);
    for (int i = 0; i < 10000; ++i) out << request({"SET", "key:" + std::to_string(i), "value"});
  }
  std::string summary = redis_cli(server.port(), {"--pipe"}, input);
  CHECK(summary.find("errors: 0, replies: 10000") != std::string::npos);
  CHECK(redis_cli(server.port(), {"DBSIZE"}) == "10000\n");
}

// Bytes that are not the protocol: the replies to what came before them, the protocol
// error, a closed connection, and no other client any the wiser?
TEST_CASE("a_malformed_request_gets_the_protocol_error_and_only_its_connection_closes") {
  TempDir dir;
  RunningServer server(dir.path());
  Client bystander(server.port());
  CHECK(bystander.call({"SET", "k", "v"}) == "+OK\r\n");
  Client offender(server.port());
  REQUIRE(offender.send("PING\r\n*1\r\n$x\r\n"));
  CHECK(offender.until_closed() == "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
  CHECK(bystander.call({"GET", "k"}) == bulk("v"));
}

// Clients that leave in the middle of a request, one with a reset and one with an
// orderly close: is the half request dropped, and are the others served as before?
TEST_CASE("a_client_vanishing_mid_command_does_not_disturb_the_others") {
  TempDir dir;
  RunningServer server(dir.path());
  Client bystander(server.port());
  CHECK(bystander.call({"PING"}) == "+PONG\r\n");
  Client reset(server.port()), closed(server.port());
  REQUIRE(reset.send("*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$5\r\nhal"));
  REQUIRE(closed.send("*3\r\n$3\r\nSET\r\n$4\r\nlost"));
  reset.reset();
  closed.close();
  CHECK(bystander.call({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(bystander.call({"GET", "lost"}) == "$-1\r\n");
  ask_until(
      [&] {
        return bystander.call({"INFO", "clients"});
      },
      [](const std::string& reply) { return info_field(reply, "connected_clients") == "1"; });
}

// A request that grows past the query buffer limit: refused with an error and closed,
// while one just under the limit, bigger than a single read, still works?
TEST_CASE("a_request_over_the_query_buffer_limit_is_refused_and_its_connection_closed") {
  TempDir dir;
  RunningServer server(dir.path(),
                       {.arguments = {"--max-query-buffer", "64KB"}, .max_open_files = 0});
  Client bystander(server.port());
  std::string under_limit(40000, 'u');
  CHECK(bystander.call({"ECHO", under_limit}) == bulk(under_limit));
  Client greedy(server.port());
  greedy.send("*2\r\n$4\r\nECHO\r\n$1000000\r\n" + std::string(200000, 'g'));
  CHECK(greedy.until_closed().starts_with(
      "-ERR Protocol error: the request is over the client query buffer limit"));
  CHECK(bystander.call({"PING"}) == "+PONG\r\n");
}

// QUIT: +OK, then the end of the stream, and the requests pipelined after it not run?
TEST_CASE("quit_replies_ok_and_closes_the_connection") {
  TempDir dir;
  RunningServer server(dir.path());
  Client quitter(server.port());
  REQUIRE(quitter.send(request({"QUIT"}) + request({"SET", "after", "quit"})));
  CHECK(quitter.until_closed() == "+OK\r\n");
  Client other(server.port());
  CHECK(other.call({"EXISTS", "after"}) == ":0\r\n");
}

// INFO knows what only the server knows: its backend and how many clients are here.
TEST_CASE("info_reports_the_backend_and_the_connected_clients") {
  TempDir dir;
  RunningServer server(dir.path());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(server.port()));
    CHECK(clients.back()->call({"PING"}) == "+PONG\r\n");
  }
  std::string info = clients[0]->call({"INFO"});
  CHECK(info_field(info, "thread_backend") == backend_under_test());
  CHECK(info_field(info, "connected_clients") == "4");
  CHECK(info_field(info, "total_connections_received") == "4");
}

// INFO's # Spindle section: the runtime's statistics, with each connection's thread
// blocked on its socket (green: in the reactor; clone: blocked in the kernel, alive).
TEST_CASE("info_has_a_spindle_section_with_the_runtime_statistics") {
  TempDir dir;
  RunningServer server(dir.path());
  Client client(server.port());
  std::string info = client.call({"INFO", "spindle"});
  CHECK(info.find("# Spindle\r\n") != std::string::npos);
  CHECK(std::stoi(info_field(info, "threads_alive")) >= 2);
  CHECK(std::stoi(info_field(info, "spawns")) >= 1);
  CHECK(info_field(info, "stack_bytes_cached") != "");
}

// Many clients at once, each with a thread of its own: is every one served?
TEST_CASE("three_hundred_clients_at_once_are_each_served") {
  TempDir dir;
  RunningServer server(dir.path());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 300; ++i) clients.push_back(std::make_unique<Client>(server.port()));
  for (int i = 0; i < 300; ++i) {
    REQUIRE(clients[i]->send(request({"SET", "client:" + std::to_string(i), std::to_string(i)})));
  }
  for (int i = 0; i < 300; ++i) {
    CHECK(clients[i]->replies(1) == "+OK\r\n");
    CHECK(clients[i]->call({"GET", "client:" + std::to_string(i)}) == bulk(std::to_string(i)));
  }
}

// Keys that expire and that nobody reads again: does the housekeeper delete them? (Until
// it does, DBSIZE counts them, as Redis's does.)
TEST_CASE("expired_keys_are_deleted_without_anyone_reading_them") {
  TempDir dir;
  RunningServer server(dir.path());
  Client client(server.port());
  for (int i = 0; i < 5; ++i) {
    CHECK(client.call({"SET", "brief:" + std::to_string(i), "v", "PX", "50"}) == "+OK\r\n");
  }
  CHECK(client.call({"SET", "lasting", "v"}) == "+OK\r\n");
  ask_until([&] { return client.call({"DBSIZE"}); },
            [](const std::string& reply) { return reply == ":1\r\n"; });
  std::string info = client.call({"INFO", "stats"});
  CHECK(info_field(info, "expired_keys") == "5");
}

}  // TEST_SUITE("spindle-kv server")
}  // namespace
}  // namespace spindle_kv::testing
