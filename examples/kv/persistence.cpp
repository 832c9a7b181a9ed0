// SAVE and BGSAVE: the contracts are in persistence.hpp.
//
// Explained in: docs/10-spindle-kv.md (snapshots).
// Read next: tests/kv_session.hpp.
#include "persistence.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

#include "resp.hpp"

namespace spindle_kv {
namespace {

// What the BGSAVE child runs: write the snapshot, then _exit, which skips the atexit
// handlers and the stdio flushes that belong to the parent.
[[noreturn]] void run_background_save_child(const Store& store, const std::filesystem::path& dir) {
  int status = 0;
  try {
    write_snapshot(store, dir);
  } catch (const std::exception& error) {
    std::string line = std::string("spindle-kv: background save failed: ") + error.what() + "\n";
    [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
    status = 1;
  } catch (...) {
    status = 1;
  }
  ::_exit(status);
}

std::int64_t microseconds_since(std::chrono::steady_clock::time_point start) {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now() - start).count();
}

}  // namespace

Persistence::Persistence(std::filesystem::path dir) : dir_(std::move(dir)) {
  stats_.rdb_last_save_time = unix_time_ms() / 1000;  // at start-up the data counts as saved
}

Persistence::~Persistence() {
  if (child_ <= 0) return;
  ::kill(child_, SIGKILL);
  while (::waitpid(child_, nullptr, 0) < 0 && errno == EINTR) {
  }
  ::unlink(temporary_snapshot_path(dir_, child_).c_str());
}

LoadReport Persistence::load(Store& store) {
  LoadReport report = load_snapshot(dir_, store);
  stats_.rdb_last_load_keys_loaded = static_cast<std::int64_t>(report.keys_loaded);
  stats_.rdb_last_load_keys_expired = static_cast<std::int64_t>(report.keys_expired);
  return report;
}

void Persistence::save(Store& store, std::string& reply) {
  if (background_save_in_progress()) {
    append_error(reply, "ERR Background save already in progress");
    return;
  }
  try {
    write_snapshot(store, dir_);
  } catch (const SnapshotError& error) {
    last_error_ = error.what();
    append_error(reply, "ERR");
    return;
  }
  store.forget_changes(store.changes_since_save());
  stats_.rdb_last_save_time = unix_time_ms() / 1000;
  stats_.rdb_last_bgsave_status_ok = true;
  ++stats_.rdb_saves;
  append_simple_string(reply, "OK");
}

void Persistence::start_background_save(Store& store, std::string& reply) {
  if (background_save_in_progress()) {
    append_error(reply, "ERR Background save already in progress");
    return;
  }
  auto fork_start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) run_background_save_child(store, dir_);
  if (pid < 0) {
    last_error_ = std::string("cannot fork: ") + std::strerror(errno);
    stats_.rdb_last_bgsave_status_ok = false;
    append_error(reply, "ERR");
    return;
  }
  stats_.latest_fork_usec = microseconds_since(fork_start);
  ++stats_.total_forks;
  child_ = pid;
  child_started_ms_ = unix_time_ms();
  changes_before_child_ = store.changes_since_save();
  append_simple_string(reply, "Background saving started");
}

bool Persistence::reap_background_save(Store& store) { return reap(store, WNOHANG); }

void Persistence::wait_background_save(Store& store) { reap(store, 0); }

bool Persistence::reap(Store& store, int waitpid_options) {
  if (!background_save_in_progress()) return false;
  int status = 0;
  pid_t reaped;
  do {
    reaped = ::waitpid(child_, &status, waitpid_options);
  } while (reaped < 0 && errno == EINTR);
  if (reaped == 0) return false;  // still running
  if (reaped < 0) {
    last_error_ = std::string("cannot wait for the background save: ") + std::strerror(errno);
    record_child_exit(store, false);
  } else {
    bool succeeded = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!succeeded) last_error_ = "the background save child failed (see its message on stderr)";
    record_child_exit(store, succeeded);
  }
  return true;
}

void Persistence::record_child_exit(Store& store, bool succeeded) {
  stats_.rdb_last_bgsave_time_sec = (unix_time_ms() - child_started_ms_) / 1000;
  stats_.rdb_last_bgsave_status_ok = succeeded;
  if (succeeded) {
    store.forget_changes(changes_before_child_);
    stats_.rdb_last_save_time = child_started_ms_ / 1000;
    ++stats_.rdb_saves;
  } else {
    // A child killed by a signal leaves its temporary file behind.
    ::unlink(temporary_snapshot_path(dir_, child_).c_str());
  }
  child_ = -1;
}

PersistenceStats Persistence::stats() const {
  PersistenceStats now = stats_;
  now.rdb_bgsave_in_progress = background_save_in_progress();
  if (now.rdb_bgsave_in_progress)
    now.rdb_current_bgsave_time_sec = (unix_time_ms() - child_started_ms_) / 1000;
  return now;
}

}  // namespace spindle_kv
