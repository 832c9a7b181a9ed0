// A client: what the server remembers about one connection between its requests.
//
// Most commands touch only the keyspace, but a few keep state per connection: the
// name a client gives itself (CLIENT SETNAME, HELLO SETNAME), its library's name and
// version (CLIENT SETINFO), the transaction it is queueing (MULTI ... EXEC) and the keys
// it watches (WATCH). The server makes one Client per connection and passes it to
// every execute() on that connection.
//
// Not thread-safe: like the store, a Client is read and changed only under the
// server's mutex (CLIENT LIST reads every client's).
//
// Explained in: docs/10-spindle-kv.md (transactions).
// Read next: examples/kv/commands.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "resp.hpp"
#include "store.hpp"

namespace spindle_kv {

struct Client;

// The open connections' clients, by id, for CLIENT LIST. The server owns it.
using ClientRegistry = std::map<std::int64_t, const Client*>;

struct Client {
  std::int64_t id = 0;        // CLIENT ID, HELLO's "id": unique for the server's life
  std::string address;        // "ip:port" of the peer, "" if unknown (tests)
  std::string local_address;  // "ip:port" of the server's end
  int fd = -1;
  std::int64_t connected_at_ms = 0;
  std::string name;                          // CLIENT SETNAME; "" if none
  std::string library_name;                  // CLIENT SETINFO LIB-NAME
  std::string library_version;               // CLIENT SETINFO LIB-VER
  const ClientRegistry* registry = nullptr;  // every client, for CLIENT LIST; may be null
  std::string_view last_command = "NULL";    // the command table's name of the last one run

  // MULTI: the requests queued since, and whether one was refused (then EXEC aborts).
  bool in_transaction = false;
  bool transaction_refused = false;
  std::vector<Argv> queued;

  // WATCH: each watched key with the version it had when watched (Store::watch).
  std::vector<std::pair<std::string, std::uint64_t>> watched;

  // Forgets the queued transaction (EXEC, DISCARD).
  void end_transaction() {
    in_transaction = false;
    transaction_refused = false;
    queued.clear();
  }

  // Stops watching every key (EXEC, DISCARD, UNWATCH, and when the connection ends).
  void unwatch_all(Store& store) {
    for (const auto& [key, version] : watched) store.unwatch(key);
    watched.clear();
  }
};

}  // namespace spindle_kv
