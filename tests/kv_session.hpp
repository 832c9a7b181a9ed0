// Test support for spindle-kv's engine: a scratch directory, and a Session that drives
// the engine the way the server does for one connection (feed bytes, execute each
// complete request, carry out its action), without sockets or threads.
//
// Explained in: docs/10-spindle-kv.md (commands).
// Read next: tests/kv_test_main.cpp.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "commands.hpp"
#include "persistence.hpp"
#include "resp.hpp"
#include "store.hpp"

namespace spindle_kv::testing {

// A fresh directory under /tmp, deleted with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string name = (std::filesystem::temp_directory_path() / "spindle-kv-test-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A keyspace with its persistence, as one server holds them.
class Session {
 public:
  explicit Session(const std::filesystem::path& dir, Clock clock = unix_time_ms)
      : store(std::move(clock)), persistence(dir) {}

  // Sends bytes on a new connection and returns every byte the server would send
  // back before the connection goes idle or is closed; then the connection closes
  // (its watches end).
  std::string send(std::string_view bytes) {
    RequestParser parser;
    spindle_kv::Client client;
    client.id = ++clients;
    parser.feed(bytes);
    std::string replies;
    Argv argv;
    for (;;) {
      RequestParser::Status status = parser.next(argv);
      if (status == RequestParser::Status::need_more) break;
      if (status == RequestParser::Status::error) {
        replies += parser.error_reply();
        break;
      }
      Action action = execute(argv, store, persistence, facts, client, replies);
      if (action == Action::save) persistence.save(store, replies);
      if (action == Action::background_save) persistence.start_background_save(store, replies);
      if (action == Action::close_after_reply) break;
      if (action == Action::close_now) {
        replies.clear();
        break;
      }
    }
    client.unwatch_all(store);
    return replies;
  }

  Store store;
  Persistence persistence;
  ServerFacts facts;
  std::int64_t clients = 0;  // connections made so far, for client ids
};

}  // namespace spindle_kv::testing
