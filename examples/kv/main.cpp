// spindle-kv's command line: which backend, which port, which directory.
//
// The server is compiled for all three backends (server.cpp instantiates serve for
// each); the --backend flag picks one at run time, so the same binary can be measured
// every way (the mn one in docs/15-many-to-many.md).
//
// Explained in: docs/10-spindle-kv.md (the server).
// Run: build/examples/spindle-kv --help
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "server.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"
#include "spindle/mn.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "spindle-kv: a key-value server that speaks Redis's protocol (try redis-cli), with one "
      "spindle thread per connection. SIGTERM or SIGINT stops it cleanly."};
  spindle_kv::ServerOptions options;
  std::string backend = "green";
  app.add_option("-p,--port", options.port, "TCP port to listen on; 0 picks a free one")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("-b,--backend", backend,
                 "green: all connections on one kernel thread; clone: a kernel thread each; "
                 "mn: green threads on a worker kernel thread per processor")
      ->check(CLI::IsMember({"green", "clone", "mn"}))
      ->capture_default_str();
  app.add_option("-d,--dir", options.dir, "directory of the snapshot, dump.spkv")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  app.add_option("--bind", options.bind_address, "numeric address to listen on")
      ->capture_default_str();
  app.add_option("--max-query-buffer", options.max_query_buffer,
                 "most bytes of unfinished request a connection may hold (e.g. 64MB)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (backend == "clone") return spindle_kv::serve<spindle::clone::backend>(options);
    // On mn the server runs in an M:N thread, as every connection does: main() is a root,
    // whose waits would block its kernel thread rather than park a thread.
    if (backend == "mn") {
      return spindle::mn::spawn([&] { return spindle_kv::serve<spindle::mn::backend>(options); })
          .join();
    }
    return spindle_kv::serve<spindle::green::backend>(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "spindle-kv: %s\n", error.what());
    return 1;
  }
}
