// The keyspace: the contracts are in store.hpp.
//
// Every change goes through remove(), drop_expiry() or the few lines of set() and
// set_expiry(), which keep the hash table, the expiry index and the memory count in step.
//
// Explained in: docs/10-spindle-kv.md (the keyspace).
// Read next: examples/kv/commands.hpp.
#include "store.hpp"

#include <cassert>
#include <chrono>

#include "glob.hpp"

namespace spindle_kv {
namespace {

// Estimated bytes beyond the key and value: the table's node (with its next pointer)
// and a bucket's head pointer (the table keeps at least a bucket a key, and after growing
// at most two; the estimate counts one), and the expiry index's tree node (colour,
// parent, left, right).
constexpr std::size_t entry_overhead = sizeof(HashTable<Entry>::Node) + sizeof(void*);
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

void Store::drop_expiry(Node* node) {
  Entry& entry = node->value;
  if (entry.expires_at == no_expiry) return;
  deadlines_.erase(Deadline(entry.expires_at, &node->key));
  entry.expires_at = no_expiry;
  memory_ -= expiry_overhead;
}

void Store::touch(std::string_view key) {
  if (watched_.empty()) return;
  if (auto it = watched_.find(key); it != watched_.end()) it->second.version = next_version_++;
}

void Store::remove(Node* node) {
  touch(node->key);
  drop_expiry(node);
  memory_ -= entry_overhead + node->key.size() + node->value.value.size();
  entries_.erase(node);
}

Store::Node* Store::insert(std::string_view key) {
  Node* node = entries_.insert(key);
  add_memory(entry_overhead + key.size());
  return node;
}

Entry& Store::entry_of(std::string_view key) {
  Node* node = find_live(key);
  if (node == nullptr) node = insert(key);
  return node->value;
}

Store::Node* Store::find_live(std::string_view key) {
  Node* node = entries_.find(key);
  if (node != nullptr && is_stale(node->value, now())) {
    remove(node);
    ++expired_keys_;
    return nullptr;
  }
  return node;
}

const Entry* Store::find(std::string_view key) {
  Node* node = find_live(key);
  return node == nullptr ? nullptr : &node->value;
}

void Store::set(std::string_view key, std::string value, KeepExpiry keep, StringEncoding encoding) {
  Node* node = find_live(key);
  if (node == nullptr) {
    node = insert(key);
  } else if (keep == KeepExpiry::no) {
    drop_expiry(node);
  }
  std::string& stored = node->value.value;
  memory_ -= stored.size();
  add_memory(value.size());
  stored = std::move(value);
  node->value.encoding = encoding;
  touch(key);
  ++changes_;
}

void Store::rename(std::string_view from, std::string_view to) {
  Node* source = find_live(from);
  assert(source != nullptr);
  if (from == to) return;
  if (Node* target = find_live(to); target != nullptr) {
    remove(target);
    ++changes_;
  }
  touch(from);
  // The node takes its new name without being copied: its address, which the expiry
  // index points to, stays the same. The index orders by that address, not by name.
  memory_ -= source->key.size();
  entries_.rename(source, to);
  add_memory(source->key.size());
  touch(to);
  changes_ += 2;
}

bool Store::persist(std::string_view key) {
  Node* node = entries_.find(key);
  assert(node != nullptr);
  if (node->value.expires_at == no_expiry) return false;
  drop_expiry(node);
  touch(key);
  ++changes_;
  return true;
}

std::optional<std::string> Store::random_key() {
  while (entries_.size() != 0) {
    // A random bucket, then a random key in it if it has any: every bucket is as likely,
    // so keys sharing a bucket are a little less likely each, as in Redis.
    std::size_t bucket = static_cast<std::size_t>(random_()) % entries_.bucket_count();
    std::size_t in_bucket = 0;
    for (const Node* node = entries_.bucket(bucket); node != nullptr; node = node->next)
      ++in_bucket;
    if (in_bucket == 0) continue;
    const Node* picked = entries_.bucket(bucket);
    for (std::size_t skip = static_cast<std::size_t>(random_()) % in_bucket; skip > 0; --skip)
      picked = picked->next;
    std::string key = picked->key;
    if (find_live(key) != nullptr) return key;
  }
  return std::nullopt;
}

std::uint64_t Store::watch(std::string_view key) {
  auto it = watched_.find(key);
  if (it == watched_.end())
    it = watched_.emplace(std::string(key), Watch{0, next_version_++}).first;
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
  Node* node = find_live(key);
  if (node == nullptr) return false;
  remove(node);
  ++changes_;
  return true;
}

void Store::set_expiry(std::string_view key, std::int64_t expires_at) {
  assert(expires_at != no_expiry);
  Node* node = entries_.find(key);
  assert(node != nullptr);
  drop_expiry(node);
  node->value.expires_at = expires_at;
  deadlines_.emplace(expires_at, &node->key);
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
