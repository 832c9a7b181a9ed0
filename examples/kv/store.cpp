// The keyspace: the contracts are in store.hpp.
//
// Every change goes through remove(), drop_expiry() or the few lines of set() and
// set_expiry(), which keep the map, the expiry index and the memory count in step.
//
// Explained in: docs/10-spindle-kv.md (the keyspace).
// Read next: examples/kv/commands.hpp.
#include "store.hpp"

#include <cassert>
#include <chrono>

#include "glob.hpp"

namespace spindle_kv {
namespace {

// Estimated bytes beyond the key and value: the map node (with its next pointer and
// cached hash), and the expiry index's tree node (colour, parent, left, right).
constexpr std::size_t entry_overhead = sizeof(std::pair<const std::string, Entry>) + 2 * sizeof(void*);
constexpr std::size_t expiry_overhead = sizeof(std::pair<std::int64_t, void*>) + 4 * sizeof(void*);

}  // namespace

std::int64_t unix_time_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Store::Store(Clock clock) : clock_(std::move(clock)) {}

void Store::add_memory(std::size_t bytes) {
  memory_ += bytes;
  peak_memory_ = std::max(peak_memory_, memory_);
}

void Store::drop_expiry(Map::iterator it) {
  Entry& entry = it->second;
  if (entry.expires_at == no_expiry) return;
  deadlines_.erase(Deadline(entry.expires_at, &it->first));
  entry.expires_at = no_expiry;
  memory_ -= expiry_overhead;
}

void Store::remove(Map::iterator it) {
  drop_expiry(it);
  memory_ -= entry_overhead + it->first.size() + it->second.value.size();
  entries_.erase(it);
}

Store::Map::iterator Store::find_live(std::string_view key) {
  auto it = entries_.find(key);
  if (it != entries_.end() && is_stale(it->second, now())) {
    remove(it);
    ++expired_keys_;
    return entries_.end();
  }
  return it;
}

const Entry* Store::find(std::string_view key) {
  auto it = find_live(key);
  return it == entries_.end() ? nullptr : &it->second;
}

void Store::set(std::string_view key, std::string value, KeepExpiry keep) {
  auto it = find_live(key);
  if (it == entries_.end()) {
    it = entries_.emplace(std::string(key), Entry{}).first;
    add_memory(entry_overhead + key.size());
  } else if (keep == KeepExpiry::no) {
    drop_expiry(it);
  }
  std::string& stored = it->second.value;
  memory_ -= stored.size();
  add_memory(value.size());
  stored = std::move(value);
  ++changes_;
}

bool Store::erase(std::string_view key) {
  auto it = find_live(key);
  if (it == entries_.end()) return false;
  remove(it);
  ++changes_;
  return true;
}

void Store::set_expiry(std::string_view key, std::int64_t expires_at) {
  assert(expires_at != no_expiry);
  auto it = entries_.find(key);
  assert(it != entries_.end());
  drop_expiry(it);
  it->second.expires_at = expires_at;
  deadlines_.emplace(expires_at, &it->first);
  add_memory(expiry_overhead);
  ++changes_;
}

std::vector<std::string> Store::keys_matching(std::string_view pattern) const {
  std::vector<std::string> keys;
  bool every_key = pattern == "*";  // Redis's shortcut, which also lists the empty key
  GlobPattern glob(pattern);
  for_each_live([&](std::string_view key, const Entry&) {
    if (every_key || glob.matches(key)) keys.emplace_back(key);
  });
  return keys;
}

std::size_t Store::purge_expired(std::size_t limit) {
  std::int64_t time = now();
  std::size_t purged = 0;
  while (purged < limit && !deadlines_.empty() && time > deadlines_.begin()->first) {
    remove(entries_.find(*deadlines_.begin()->second));
    ++expired_keys_;
    ++purged;
  }
  return purged;
}

void Store::clear() {
  changes_ += entries_.size();
  deadlines_.clear();
  entries_.clear();
  memory_ = 0;
}

std::int64_t Store::average_ttl() const {
  std::int64_t time = now();
  long double sum = 0;
  std::size_t live = 0;
  for (auto it = deadlines_.lower_bound(time); it != deadlines_.end(); ++it) {
    sum += static_cast<long double>(it->first - time);
    ++live;
  }
  return live == 0 ? 0 : static_cast<std::int64_t>(sum / live);
}

}  // namespace spindle_kv
