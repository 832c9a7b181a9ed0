// spindle-kv's server: the contract is in server.hpp. Start at Server::converse, the
// whole life of one connection; Server::run_requests is where requests meet the engine.
//
// Explained in: docs/10-spindle-kv.md (the server).
// Read next: examples/kv/main.cpp.
#include "server.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "listener.hpp"
#include "persistence.hpp"
#include "resp.hpp"
#include "spindle/clone.hpp"
#include "spindle/diagnostics.hpp"
#include "spindle/green.hpp"
#include "spindle/mn.hpp"
#include "stop_signal.hpp"
#include "store.hpp"

namespace spindle_kv {
namespace {

using namespace std::chrono_literals;

constexpr auto housekeeping_period = 100ms;      // Redis's hz 10: ten rounds a second
constexpr std::size_t purge_batch = 1000;        // stale keys deleted per hold of the mutex
constexpr auto expiry_budget = 25ms;             // purging time per round, at most
constexpr auto accept_back_off = 100ms;          // after accept fails (EMFILE, ENOMEM, ...)
constexpr std::size_t receive_size = 16 * 1024;  // Redis's PROTO_IOBUF_LEN
constexpr std::size_t reply_capacity_kept = 64 * 1024;

template <spindle::backend B>
class Server {
 public:
  Server(const ServerOptions& options, const Listener& listener, int stop_fd)
      : options_(options), listener_(listener), stop_fd_(stop_fd), persistence_(options.dir) {}

  LoadReport load() { return persistence_.load(store_); }
  void run();

 private:
  using thread = typename B::template thread<void>;
  enum class After { keep_open, close };

  void accept_connections();
  void start_connection(int fd);
  void serve_connection(int fd) noexcept;
  void converse(int fd);
  After run_requests(RequestParser& parser, Argv& argv, Client& client, std::string& replies);
  void register_client(Client& client, int fd);
  void forget_client(Client& client);
  ServerFacts facts() const;
  void end_connection(int fd);
  void close_every_connection();
  void keep_house();
  void reap_background_save();
  void wait_for_stop_signal();

  // Set before any thread starts, then only read.
  const ServerOptions options_;
  const Listener& listener_;
  const int stop_fd_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  std::atomic<bool> stopping_{false};  // set once, by the stop watcher

  // Guarded by mutex_: the engine (not thread-safe) and the table of connections.
  typename B::mutex mutex_;
  Store store_;
  Persistence persistence_;
  std::unordered_map<int, thread> connections_;  // each open connection's thread, by socket
  std::vector<thread> finished_;                 // threads of closed connections, to join
  std::int64_t total_connections_ = 0;
  ClientRegistry clients_;  // each open connection's Client, by id, for CLIENT LIST
  typename B::condition_variable all_closed_;  // notified when connections_ becomes empty
};

// The accept loop's thread (serve's caller) runs the whole server: it starts the two
// helper threads, accepts until the stop watcher stops the listener, then takes it all
// down in order. Returns once every thread it started has been joined.
template <spindle::backend B>
void Server<B>::run() {
  thread watcher =
      B::spawn(spindle::spawn_options{.name = "stop watcher"}, [this] { wait_for_stop_signal(); });
  thread housekeeper =
      B::spawn(spindle::spawn_options{.name = "housekeeper"}, [this] { keep_house(); });
  accept_connections();
  close_every_connection();
  watcher.join();
  housekeeper.join();
  for (thread& t : finished_) t.join();  // no other thread is left to race for finished_
  finished_.clear();
  std::lock_guard lock(mutex_);
  persistence_.wait_background_save(store_);
}

// Accepts connections until the listener is stopped, one thread each. A failed accept
// (EMFILE: no descriptor left, ENOMEM, ...) must not end the server, and retrying at
// once would spin, since the connection waits in the queue: report it once, back off,
// try again.
template <spindle::backend B>
void Server<B>::accept_connections() {
  int failures = 0;
  while (!stopping_) {
    int fd = -1;
    try {
      fd = B::io::accept(listener_.fd());
      start_connection(fd);
    } catch (const std::exception& error) {
      if (fd >= 0) B::io::close(fd);  // accepted, but no thread could be started for it
      if (stopping_) break;
      if (failures++ == 0) {
        std::fprintf(stderr, "spindle-kv: cannot accept a connection: %s; retrying every %lld ms\n",
                     error.what(), static_cast<long long>(accept_back_off.count()));
      }
      B::this_thread::sleep_for(accept_back_off);
      continue;
    }
    if (failures > 0) {
      std::fprintf(stderr, "spindle-kv: accepting connections again, after %d failures\n",
                   failures);
      failures = 0;
    }
  }
}

// The thread is spawned under the mutex so that it is in connections_ before it can
// reach end_connection, however soon its client leaves.
template <spindle::backend B>
void Server<B>::start_connection(int fd) {
  configure_client_socket(fd);
  std::lock_guard lock(mutex_);
  std::string name = "connection on socket " + std::to_string(fd);
  thread t = B::spawn(spindle::spawn_options{.name = name}, [this, fd] { serve_connection(fd); });
  connections_.emplace(fd, std::move(t));
  ++total_connections_;
}

// The body of a connection's thread. Whatever happens to the conversation, the
// connection is closed and the server goes on.
template <spindle::backend B>
void Server<B>::serve_connection(int fd) noexcept {
  try {
    converse(fd);
  } catch (const std::system_error&) {
    // The client vanished (ECONNRESET, EPIPE) or the server is stopping: nothing to do.
  } catch (const std::exception& error) {
    std::fprintf(stderr, "spindle-kv: closing the connection on socket %d: %s\n", fd, error.what());
  }
  end_connection(fd);
}

// One client's conversation: receive what has come, run every complete request in it,
// send all their replies in one go (pipelining), until the client leaves, QUITs, sends
// bytes that are not the protocol, or holds more unfinished request than the query
// buffer limit allows.
template <spindle::backend B>
void Server<B>::converse(int fd) {
  RequestParser parser;
  Argv argv;
  std::string replies;
  Client client;
  register_client(client, fd);
  struct Forget {  // however the conversation ends, the client leaves the registry
    Server& server;
    Client& client;
    ~Forget() { server.forget_client(client); }
  } forget{*this, client};
  char received[receive_size];
  for (;;) {
    std::size_t got = B::io::recv(fd, received, sizeof received);
    if (got == 0) return;
    parser.feed(std::string_view(received, got));
    After after = run_requests(parser, argv, client, replies);
    if (after == After::keep_open && parser.buffered() > options_.max_query_buffer) {
      std::string limit = std::to_string(options_.max_query_buffer);
      append_error(replies,
                   "ERR Protocol error: the request is over the client query buffer "
                   "limit of " +
                       limit + " bytes");
      after = After::close;
    }
    if (!replies.empty()) B::io::send(fd, replies.data(), replies.size());
    if (after == After::close) return;
    replies.clear();
    // One huge reply (KEYS * on a big keyspace) or request (a 256 MiB SET, whose value
    // the store has copied) must not stay allocated for ever.
    if (replies.capacity() > reply_capacity_kept) std::string().swap(replies);
    for (const std::string& arg : argv) {
      if (arg.capacity() > reply_capacity_kept) {
        Argv().swap(argv);
        break;
      }
    }
  }
}

// Runs every complete request the parser holds and appends each reply, under the
// mutex, which is held for the whole batch: a pipeline runs without other clients'
// requests in between, and the lock is taken once per receive, not per request.
// Carries out the engine's actions; SAVE and BGSAVE's fork happen under the mutex too.
// A transaction needs nothing more: MULTI only queues, and EXEC runs the whole queue
// inside one execute(), under this same hold of the mutex, so no other client's request
// can come between two of a transaction's requests on either backend.
template <spindle::backend B>
auto Server<B>::run_requests(RequestParser& parser, Argv& argv, Client& client,
                             std::string& replies) -> After {
  std::lock_guard lock(mutex_);
  ServerFacts now = facts();
  for (;;) {
    RequestParser::Status status = parser.next(argv);
    if (status == RequestParser::Status::need_more) return After::keep_open;
    if (status == RequestParser::Status::error) {
      replies += parser.error_reply();
      return After::close;
    }
    switch (execute(argv, store_, persistence_, now, client, replies)) {
      case Action::reply:
        break;
      case Action::save:
        persistence_.save(store_, replies);
        break;
      case Action::background_save:
        persistence_.start_background_save(store_, replies);
        break;
      case Action::close_after_reply:
        return After::close;
      case Action::close_now:
        replies.clear();
        return After::close;
    }
  }
}

// A new connection's Client gets its id, its addresses and its place in the registry.
template <spindle::backend B>
void Server<B>::register_client(Client& client, int fd) {
  client.fd = fd;
  client.address = socket_address(fd, SocketEnd::peer);
  client.local_address = socket_address(fd, SocketEnd::local);
  std::lock_guard lock(mutex_);
  client.id = total_connections_;  // start_connection counted this connection
  client.connected_at_ms = store_.now();
  client.registry = &clients_;
  clients_.emplace(client.id, &client);
}

// A closing connection's Client stops watching its keys and leaves the registry.
template <spindle::backend B>
void Server<B>::forget_client(Client& client) {
  std::lock_guard lock(mutex_);
  client.unwatch_all(store_);
  clients_.erase(client.id);
}

// What INFO says of the server. The caller holds the mutex.
// INFO's "# Spindle" section: the statistics of the runtime serving the connections (on
// the green backend, the scheduler of the kernel thread that runs them all).
template <spindle::backend B>
std::string spindle_section() {
  spindle::runtime_statistics stats;
  if constexpr (B::name == std::string_view("green")) {
    stats = spindle::green::statistics();
  } else if constexpr (B::name == std::string_view("mn")) {
    stats = spindle::mn::statistics();
  } else {
    stats = spindle::clone::statistics();
  }
  std::stringstream lines;
  spindle::write_statistics(lines, stats);
  std::string text;
  for (std::string line; std::getline(lines, line);) text += line + "\r\n";
  return text;
}

template <spindle::backend B>
ServerFacts Server<B>::facts() const {
  ServerFacts facts;
  facts.thread_backend = B::name;
  facts.uptime_in_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)
          .count();
  facts.connected_clients = static_cast<std::int64_t>(connections_.size());
  facts.total_connections_received = total_connections_;
  facts.spindle_section = &spindle_section<B>;
  return facts;
}

// A connection's thread leaves the table, handing its own handle over to be joined,
// and only then closes the socket: a socket number can be handed out again by accept
// only once closed, so the table never holds a number that means another connection.
template <spindle::backend B>
void Server<B>::end_connection(int fd) {
  {
    std::lock_guard lock(mutex_);
    auto entry = connections_.extract(fd);
    assert(!entry.empty());
    finished_.push_back(std::move(entry.mapped()));
    if (connections_.empty()) all_closed_.notify_all();
  }
  B::io::close(fd);
}

// Shuts every open connection down, which ends its thread's recv with "the client
// left" (or its send with EPIPE), and waits until every connection has ended.
template <spindle::backend B>
void Server<B>::close_every_connection() {
  std::unique_lock lock(mutex_);
  for (const auto& [fd, t] : connections_) ::shutdown(fd, SHUT_RDWR);
  while (!connections_.empty()) all_closed_.wait(lock);
}

// The housekeeper's loop, a round every housekeeping_period until the server stops:
// collect BGSAVE's child, delete a batch of stale keys, join the threads of closed
// connections. A full batch means more keys are due: then it only yields, so that
// clients get the mutex between batches, until the round has spent expiry_budget
// (Redis's active expiry takes at most 25 % of each 100 ms tick); then it sleeps.
template <spindle::backend B>
void Server<B>::keep_house() {
  auto round_started = std::chrono::steady_clock::now();
  while (!stopping_) {
    std::vector<thread> done;
    std::size_t purged;
    {
      std::lock_guard lock(mutex_);
      reap_background_save();
      purged = store_.purge_expired(purge_batch);
      done.swap(finished_);
    }
    for (thread& t : done) t.join();
    if (purged == purge_batch && std::chrono::steady_clock::now() - round_started < expiry_budget) {
      B::this_thread::yield();
    } else {
      B::this_thread::sleep_for(housekeeping_period);
      round_started = std::chrono::steady_clock::now();
    }
  }
}

// Collects BGSAVE's child if it has exited, and says so if it failed. The caller holds
// the mutex.
template <spindle::backend B>
void Server<B>::reap_background_save() {
  if (persistence_.reap_background_save(store_) &&
      !persistence_.stats().rdb_last_bgsave_status_ok) {
    std::fprintf(stderr, "spindle-kv: background save failed: %s\n",
                 persistence_.last_error().c_str());
  }
}

// The stop watcher: parks until StopSignal's pipe has a byte, then stops the accept
// loop. Stopping the listener wakes an accept under way, and any later one fails at
// once, so the accept loop cannot miss it.
template <spindle::backend B>
void Server<B>::wait_for_stop_signal() {
  char byte;
  B::io::read(stop_fd_, &byte, 1);
  stopping_ = true;
  listener_.stop_accepting();
}

// What a signal would otherwise do to the server. SIGPIPE: B::io::send never raises it,
// but a print to a closed stdout would kill the server. SIGCHLD: ignoring it (a parent
// may pass SIG_IGN down through exec) would let the kernel reap BGSAVE's child unseen.
void set_up_signals() {
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGCHLD, SIG_DFL);
}

}  // namespace

template <spindle::backend B>
int serve(const ServerOptions& options) {
  set_up_signals();
  StopSignal stop;
  Listener listener(options.bind_address, options.port);
  Server<B> server(options, listener, stop.fd());
  LoadReport loaded = server.load();
  if (loaded.found) {
    std::printf("spindle-kv: loaded %zu keys from %s (%zu had expired)\n", loaded.keys_loaded,
                (options.dir / snapshot_file_name).c_str(), loaded.keys_expired);
  }
  std::printf("spindle-kv: listening on %s:%d, %s backend, one thread per connection\n",
              options.bind_address.c_str(), listener.port(), std::string(B::name).c_str());
  std::fflush(stdout);
  server.run();
  std::printf("spindle-kv: stopped\n");
  return 0;
}

template int serve<spindle::green::backend>(const ServerOptions&);
template int serve<spindle::clone::backend>(const ServerOptions&);
template int serve<spindle::mn::backend>(const ServerOptions&);

}  // namespace spindle_kv
