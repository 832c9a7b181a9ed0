// INFO: the server's state as "field:value" lines grouped in sections, which people and
// monitoring tools read.
//
// Redis's INFO has fields only a server knows (connected clients, uptime): the server
// passes them in a ServerFacts. The engine adds what the store and Persistence know.
//
// Explained in: docs/10-spindle-kv.md (commands).
// Read next: examples/kv/info.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "persistence.hpp"
#include "resp.hpp"
#include "store.hpp"

namespace spindle_kv {

// Numbers only the server knows, for INFO. The server fills one in per command.
struct ServerFacts {
  std::string_view thread_backend = "none";  // "green" (1:N) or "clone" (1:1)
  std::int64_t uptime_in_seconds = 0;
  std::int64_t connected_clients = 0;
  std::int64_t total_connections_received = 0;
  // The "# Spindle" section's "field:value" lines (the runtime's statistics,
  // spindle/diagnostics.hpp), made only when INFO asks: a walk of the threads.
  std::string (*spindle_section)() = nullptr;
};

// The text of INFO's reply for the requested sections (args are INFO's arguments,
// case-insensitive): server, clients, memory, persistence, stats and keyspace, in that
// order, as Redis orders them, then spindle (the runtime's statistics, if the server
// gives them). No argument, "default", "all" or "everything" means all
// of them; names that are not sections are ignored. Like Redis's, the keyspace counts
// include stale keys not yet purged.
std::string render_info(const Argv& args, const Store& store, const Persistence& persistence,
                        const ServerFacts& facts);

}  // namespace spindle_kv
