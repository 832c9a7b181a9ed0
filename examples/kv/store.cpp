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
// SCAN's order adds a tree node of its own (colour, parent, left, right, serial, key).
constexpr std::size_t entry_overhead =
    sizeof(std::pair<const std::string, Entry>) + 2 * sizeof(void*) + 6 * sizeof(void*);
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

void Store::touch(std::string_view key) {
  if (watched_.empty()) return;
  if (auto it = watched_.find(key); it != watched_.end()) it->second.version = next_version_++;
}

void Store::remove(Map::iterator it) {
  touch(it->first);
  drop_expiry(it);
  memory_ -= entry_overhead + it->first.size() + it->second.value.size();
  order_.erase(it->second.serial);
  entries_.erase(it);
}

Store::Map::iterator Store::insert(std::string_view key) {
  auto it = entries_.emplace(std::string(key), Entry{}).first;
  it->second.serial = next_serial_++;
  order_.emplace(it->second.serial, &it->first);
  add_memory(entry_overhead + key.size());
  return it;
}

Entry& Store::entry_of(std::string_view key) {
  auto it = find_live(key);
  if (it == entries_.end()) it = insert(key);
  return it->second;
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

void Store::set(std::string_view key, std::string value, KeepExpiry keep, StringEncoding encoding) {
  auto it = find_live(key);
  if (it == entries_.end()) {
    it = insert(key);
  } else if (keep == KeepExpiry::no) {
    drop_expiry(it);
  }
  std::string& stored = it->second.value;
  memory_ -= stored.size();
  add_memory(value.size());
  stored = std::move(value);
  it->second.encoding = encoding;
  touch(key);
  ++changes_;
}

void Store::rename(std::string_view from, std::string_view to) {
  auto source = find_live(from);
  assert(source != entries_.end());
  if (from == to) return;
  if (auto target = find_live(to); target != entries_.end()) {
    remove(target);
    ++changes_;
  }
  touch(from);
  // The node moves to its new name without being copied: its address, which the
  // expiry index and SCAN's order point to, stays the same.
  auto node = entries_.extract(source);
  memory_ -= node.key().size();
  node.key() = std::string(to);
  add_memory(node.key().size());
  entries_.insert(std::move(node));
  touch(to);
  changes_ += 2;
}

bool Store::persist(std::string_view key) {
  auto it = entries_.find(key);
  assert(it != entries_.end());
  if (it->second.expires_at == no_expiry) return false;
  drop_expiry(it);
  touch(key);
  ++changes_;
  return true;
}

std::optional<std::string> Store::random_key() {
  while (!entries_.empty()) {
    // A random bucket, then a random key in it if it has any: every bucket is as likely,
    // so keys sharing a bucket are a little less likely each, as in Redis.
    std::size_t bucket = static_cast<std::size_t>(random_()) % entries_.bucket_count();
    std::size_t in_bucket = entries_.bucket_size(bucket);
    if (in_bucket == 0) continue;
    auto it = entries_.begin(bucket);
    std::advance(it, static_cast<std::size_t>(random_()) % in_bucket);
    std::string key = it->first;
    if (find_live(key) != entries_.end()) return key;
  }
  return std::nullopt;
}

std::uint64_t Store::watch(std::string_view key) {
  auto it = watched_.find(key);
  if (it == watched_.end()) it = watched_.emplace(std::string(key), Watch{0, next_version_++}).first;
  ++it->second.watchers;
  return it->second.version;
}

void Store::unwatch(std::string_view key) {
  auto it = watched_.find(key);
  assert(it != watched_.end());
  if (--it->second.watchers == 0) watched_.erase(it);
}

std::uint64_t Store::version(std::string_view key) const {
  auto it = watched_.find(key);
  assert(it != watched_.end());
  return it->second.version;
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
  touch(key);
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
  for (auto& [key, watch] : watched_) watch.version = next_version_++;
  deadlines_.clear();
  order_.clear();
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
