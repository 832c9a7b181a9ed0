// spindle-kv's server across its life: snapshots that outlive the process, a clean stop
// on SIGTERM, and running out of descriptors. Run once per backend, like
// tests/kv_server_test.cpp.
//
// Explained in: docs/10-spindle-kv.md (testing the server).
// Read next: tests/kv_server_harness.cpp.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <memory>

#include "kv_server_harness.hpp"
#include "kv_session.hpp"

namespace spindle_kv::testing {
namespace {

using namespace std::chrono_literals;

// Asks INFO persistence until no BGSAVE is in progress.
std::string info_once_background_save_ended(Client& client) {
  return ask_until(
      [&] {
        return client.call({"INFO", "persistence"});
      },
      [](const std::string& info) { return info_field(info, "rdb_bgsave_in_progress") == "0"; });
}

bool exited_with(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

TEST_SUITE("spindle-kv server") {

// BGSAVE forks a child that writes the snapshot; the housekeeper reaps it. Does a new
// server on the same directory find the keys, with their expiry times?
TEST_CASE("bgsave_then_a_restart_with_the_same_dir_finds_the_data") {
  TempDir dir;
  {
    RunningServer server(dir.path());
    Client client(server.port());
    std::string pipeline;
    for (int i = 0; i < 1000; ++i) pipeline += request({"SET", "k" + std::to_string(i), "v"});
    REQUIRE(client.send(pipeline));
    client.replies(1000);
    CHECK(client.call({"SET", "expiring", "soon", "EX", "1000"}) == "+OK\r\n");
    CHECK(client.call({"BGSAVE"}) == "+Background saving started\r\n");
    std::string info = info_once_background_save_ended(client);
    CHECK(info_field(info, "rdb_last_bgsave_status") == "ok");
    CHECK(info_field(info, "rdb_saves") == "1");
    CHECK(exited_with(server.stop(SIGTERM), 0));
  }
  RunningServer restarted(dir.path());
  Client client(restarted.port());
  CHECK(client.call({"DBSIZE"}) == ":1001\r\n");
  CHECK(client.call({"GET", "k999"}) == bulk("v"));
  std::string ttl = client.call({"TTL", "expiring"});
  CHECK(ttl.starts_with(":"));
  CHECK(std::atoi(ttl.c_str() + 1) > 900);
}

// SAVE writes the snapshot before it replies: does it survive a SIGKILL right after,
// and is a key set after the SAVE (never saved) gone?
TEST_CASE("save_writes_a_snapshot_that_survives_a_kill") {
  TempDir dir;
  {
    RunningServer server(dir.path());
    Client client(server.port());
    CHECK(client.call({"SET", "saved", "yes"}) == "+OK\r\n");
    CHECK(client.call({"SAVE"}) == "+OK\r\n");
    CHECK(client.call({"SET", "unsaved", "yes"}) == "+OK\r\n");
    int status = server.stop(SIGKILL);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
  }
  RunningServer restarted(dir.path());
  Client client(restarted.port());
  CHECK(client.call({"GET", "saved"}) == bulk("yes"));
  CHECK(client.call({"EXISTS", "unsaved"}) == ":0\r\n");
}

// SIGTERM with clients connected, one of them in the middle of a request: does the
// server close them all and exit with status 0?
TEST_CASE("sigterm_stops_the_server_cleanly_with_clients_still_connected") {
  TempDir dir;
  RunningServer server(dir.path());
  Client idle(server.port()), halfway(server.port());
  CHECK(idle.call({"PING"}) == "+PONG\r\n");
  REQUIRE(halfway.send("*2\r\n$3\r\nGET\r\n"));
  CHECK(exited_with(server.stop(SIGTERM), 0));
  CHECK(idle.until_closed().empty());
  CHECK(halfway.until_closed().empty());
}

// A server with few descriptors, and more clients than it can hold: does it keep
// serving the clients it has, and take the waiting one once a descriptor is free?
TEST_CASE("a_server_out_of_descriptors_keeps_serving_and_accepts_again_later") {
  TempDir dir;
  RunningServer server(dir.path(), {.arguments = {}, .max_open_files = 32});
  std::vector<std::unique_ptr<Client>> served;
  std::unique_ptr<Client> waiting;
  for (int i = 0; i < 64 && !waiting; ++i) {
    auto client = std::make_unique<Client>(server.port());
    REQUIRE(client->send(request({"PING"})));
    // The kernel completes connections the server has not accepted; their requests
    // wait, unanswered, for as long as the server has no descriptor to accept them.
    if (client->answered_within(5s)) {
      CHECK(client->replies(1) == "+PONG\r\n");
      served.push_back(std::move(client));
    } else {
      waiting = std::move(client);
    }
  }
  REQUIRE_MESSAGE(waiting, "64 clients were all served: the descriptor limit did not bite");
  REQUIRE_MESSAGE(!served.empty(), "not even the first client was served");
  CHECK(served.front()->call({"SET", "still", "serving"}) == "+OK\r\n");
  served.back()->close();
  CHECK(waiting->replies(1) == "+PONG\r\n");
  CHECK(waiting->call({"GET", "still"}) == bulk("serving"));
}

}  // TEST_SUITE("spindle-kv server")
}  // namespace
}  // namespace spindle_kv::testing
