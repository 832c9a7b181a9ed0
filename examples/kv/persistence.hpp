// SAVE and BGSAVE: when the server writes snapshots, and what INFO reports about them.
//
// SAVE writes the snapshot there and then, while every client waits. BGSAVE does what
// Redis does: fork() makes a child process whose memory is a copy-on-write image of the
// server's at that instant, the child writes the snapshot from that image and exits, and
// the server goes on serving. The snapshot holds the state at the fork, whatever the
// clients change afterwards. The server later collects the child's exit status
// (reap_background_save(), called from time to time) to learn whether the save worked.
//
// Like the store, Persistence is not thread-safe: the server calls it under the mutex
// that guards the store. Forking under that mutex is also what makes the child's image
// of the store consistent: no other thread is halfway through changing it.
//
// Explained in: docs/10-spindle-kv.md (snapshots).
// Read next: examples/kv/persistence.cpp.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "snapshot.hpp"
#include "store.hpp"

namespace spindle_kv {

// The numbers INFO shows in its Persistence and Stats sections, named as Redis names them.
struct PersistenceStats {
  std::int64_t rdb_last_save_time = 0;            // unix s of the last good save (or of start-up)
  bool rdb_last_bgsave_status_ok = true;          // did the last BGSAVE (or SAVE) succeed?
  std::int64_t rdb_last_bgsave_time_sec = -1;     // how long the last BGSAVE took
  std::int64_t rdb_current_bgsave_time_sec = -1;  // how long the running one has taken
  bool rdb_bgsave_in_progress = false;
  std::int64_t rdb_saves = 0;  // snapshots written since start-up
  std::int64_t rdb_last_load_keys_loaded = 0;
  std::int64_t rdb_last_load_keys_expired = 0;
  std::int64_t latest_fork_usec = 0;  // how long the last fork() blocked the server
  std::int64_t total_forks = 0;
};

class Persistence {
 public:
  // Snapshots go to dir/dump.spkv. dir must exist.
  explicit Persistence(std::filesystem::path dir);
  // Kills a BGSAVE child still running, reaps it and deletes its temporary file.
  ~Persistence();
  Persistence(const Persistence&) = delete;
  Persistence& operator=(const Persistence&) = delete;

  // Loads the snapshot into store at start-up; see load_snapshot() for the errors.
  LoadReport load(Store& store);

  // SAVE: writes the snapshot now and appends the reply: +OK, "-ERR" on failure (the
  // reason is in last_error()), or Redis's error if a BGSAVE is running.
  void save(Store& store, std::string& reply);

  // BGSAVE: forks a child that writes the snapshot and exits with status 0 on success
  // (1 on failure, with the reason on stderr); it never returns into the caller's code.
  // Appends "+Background saving started", "-ERR" if fork() fails, or Redis's error if
  // a BGSAVE is already running. Call it from the thread that holds the store's mutex.
  // Only that thread exists in the child, which must therefore touch no lock another
  // thread might have held: write_snapshot() touches none. The child also inherits the
  // server's descriptors, sockets included, and holds them open until it exits.
  void start_background_save(Store& store, std::string& reply);

  // Collects the BGSAVE child if it has exited, without waiting (waitpid with WNOHANG),
  // and records its outcome: true if it did. The server calls it periodically. A
  // successful save forgets the store's changes made before the fork.
  // SIGCHLD must not be ignored (SIG_IGN), or the kernel reaps the child unseen.
  bool reap_background_save(Store& store);

  // Like reap_background_save(), but waits for the child to exit (at shutdown, in tests).
  void wait_background_save(Store& store);

  bool background_save_in_progress() const { return child_ > 0; }
  PersistenceStats stats() const;
  const std::string& last_error() const { return last_error_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  bool reap(Store& store, int waitpid_options);
  void record_child_exit(Store& store, bool succeeded);

  std::filesystem::path dir_;
  PersistenceStats stats_;
  std::string last_error_;  // why the last failed save failed

  // The running BGSAVE, if any.
  pid_t child_ = -1;
  std::int64_t child_started_ms_ = 0;       // unix ms at the fork
  std::uint64_t changes_before_child_ = 0;  // store changes the child's snapshot covers
};

}  // namespace spindle_kv
