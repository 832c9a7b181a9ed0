// spindle-kv's server: one spindle thread per connection, on either backend.
//
// Concept: the simplest design a server can have. Each client gets a thread that loops
// "receive, run every complete request, send the replies" and blocks wherever it must:
// in recv while the client thinks, in send while the client reads slowly, on the
// keyspace's mutex while another client's request runs. The code is written once, as a
// template over spindle::backend, and compiled for each backend (the M:N one runs the
// same green threads on several worker kernel threads). On the clone backend each thread
// is a kernel thread and the kernel parks it; on the green backend all of them share
// one kernel thread, and spindle's reactor parks a green thread whose socket has
// nothing to read, so the code that reads like blocking code serves thousands of
// clients with one kernel thread, as an event loop would.
//
// Besides the connection threads, three more: the accept loop (the thread that calls
// serve), the housekeeper (collects BGSAVE's child, deletes stale keys, joins the
// threads of closed connections) and the stop watcher (SIGTERM or SIGINT).
//
// Explained in: docs/10-spindle-kv.md (the server).
// Read next: examples/kv/server.cpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "spindle/backend.hpp"

namespace spindle_kv {

struct ServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 6379;                         // 0: a free port, announced on stdout
  std::filesystem::path dir = ".";         // where dump.spkv is loaded from and saved to
  std::size_t max_query_buffer = 1 << 30;  // Redis's client-query-buffer-limit, 1 GiB
};

// Loads dir/dump.spkv, listens, prints "spindle-kv: listening on ADDRESS:PORT ..." on
// stdout, and serves until SIGTERM or SIGINT. Then it stops accepting, closes every
// connection, waits for their threads and for a running BGSAVE, and returns 0.
// Called once, from the thread that will run the accept loop (main()). Throws
// std::system_error if it cannot listen and SnapshotError if the snapshot is damaged.
// Instantiated for spindle::green::backend, spindle::clone::backend and spindle::mn::backend.
template <spindle::backend B>
int serve(const ServerOptions& options);

}  // namespace spindle_kv
