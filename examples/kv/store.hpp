// The keyspace: string keys mapped to string values, each with an optional expiry time.
//
// A key with an expiry time disappears once the clock passes that time, but nothing
// wakes up to delete it: like Redis, the store expires keys lazily, when a lookup finds
// them stale, and purge_expired() sweeps the ones nobody asks for. An index of keys
// ordered by expiry time makes that sweep take only the keys that are due.
//
// The store is not thread-safe. spindle-kv runs one thread per connection, so the
// server serialises every call on the store (and on Persistence) with one spindle mutex.
//
// Explained in: docs/10-spindle-kv.md (the keyspace).
// Read next: examples/kv/glob.hpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hash_table.hpp"

namespace spindle_kv {

// Unix time in milliseconds, the unit of every expiry time. Tests pass their own.
using Clock = std::function<std::int64_t()>;
std::int64_t unix_time_ms();

inline constexpr std::int64_t no_expiry = -1;

// How Redis would hold the value, for OBJECT ENCODING: by_value is what Redis picks for
// a value a client sent (int if it reads as a 64-bit integer of at most 20 bytes, embstr
// up to 44 bytes, raw beyond); not_int is a value Redis made itself as text
// (INCRBYFLOAT): embstr or raw by size; raw is a value edited in place (APPEND, SETRANGE).
enum class StringEncoding : std::uint8_t { by_value, not_int, raw };

struct Entry {
  std::string value;
  StringEncoding encoding = StringEncoding::by_value;
  std::int64_t expires_at = no_expiry;  // unix ms; the key is gone once now > expires_at
};

// Where a SCAN stopped: 0 when it is over.
using ScanCursor = std::uint64_t;

enum class KeepExpiry { no, yes };

class Store {
 public:
  explicit Store(Clock clock = unix_time_ms);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  // Moving keeps the hash table's nodes where they are, so the expiry index's
  // pointers to keys stay valid.
  Store(Store&&) = default;
  Store& operator=(Store&&) = default;

  std::int64_t now() const { return clock_(); }
  const Clock& clock() const { return clock_; }

  // The live entry for key, or nullptr. A stale entry found here is deleted.
  // The pointer is valid until the next call that changes the store.
  const Entry* find(std::string_view key);

  // Stores value under key. Any expiry time is dropped unless keep is KeepExpiry::yes
  // (SET KEEPTTL, INCR).
  void set(std::string_view key, std::string value, KeepExpiry keep = KeepExpiry::no,
           StringEncoding encoding = StringEncoding::by_value);

  // Deletes key; false if it did not exist (or had expired).
  bool erase(std::string_view key);

  // Lets change edit key's value in place (APPEND, SETRANGE), the key made first with an
  // empty value if it is missing; its expiry time stays, its encoding becomes raw.
  template <class Change>
  void update(std::string_view key, Change&& change) {
    Entry& entry = entry_of(key);
    entry.encoding = StringEncoding::raw;
    std::string& value = entry.value;
    memory_ -= value.size();
    change(value);
    add_memory(value.size());
    touch(key);
    ++changes_;
  }

  // Moves from's value and expiry time to the name to, replacing what to held.
  // Precondition: find(from) != nullptr.
  void rename(std::string_view from, std::string_view to);

  // Drops key's expiry time; false if it had none. Precondition: find(key) != nullptr.
  bool persist(std::string_view key);

  // A live key picked at random (stale ones met are deleted); nullopt if none is left.
  std::optional<std::string> random_key();

  // SCAN: calls visit(key, entry) for the live keys of the hash table's buckets from
  // cursor on, bucket after bucket until count keys (stale ones included) have been
  // examined or 10 * count buckets visited, as Redis 7.0's scanGenericCommand does, and
  // returns the cursor to pass next (0: every bucket has been visited). A key present
  // from the first call to the last is offered at least once, however the keyspace
  // grows or shrinks meanwhile (hash_table.hpp: the reverse-binary cursor); one present
  // only part of the time may or may not be, and a shrink may offer a key twice.
  // visit must not change the store.
  template <class Visit>
  ScanCursor scan(ScanCursor cursor, std::size_t count, Visit&& visit) const {
    if (entries_.size() == 0) return 0;
    std::int64_t time = now();
    std::size_t examined = 0;
    std::size_t buckets_left =
        count > std::numeric_limits<std::size_t>::max() / 10 ? count : count * 10;
    do {
      cursor = entries_.scan(cursor, [&](const Node& node) {
        ++examined;
        if (!is_stale(node.value, time)) visit(std::string_view(node.key), node.value);
      });
    } while (cursor != 0 && --buckets_left > 0 && examined < count);
    return cursor;
  }

  // WATCH: a watched key has a version that every change to it (set, deleted, expired,
  // given or stripped of an expiry time, FLUSHALL) moves on. watch() counts one more
  // watcher and returns the key's current version; unwatch() counts one fewer.
  std::uint64_t watch(std::string_view key);
  void unwatch(std::string_view key);
  std::uint64_t version(std::string_view key) const;

  // Gives a key an expiry time (unix ms). Precondition: find(key) != nullptr.
  // A time already past makes the key stale at once.
  void set_expiry(std::string_view key, std::int64_t expires_at);

  // The live keys that match a glob pattern (glob.hpp), in no particular order.
  // "*" lists every key, the empty key too, as Redis's KEYS * does.
  // Stale keys are skipped, not deleted.
  std::vector<std::string> keys_matching(std::string_view pattern) const;

  // Deletes up to limit stale keys, the longest-expired first; returns how many.
  // The server calls it from time to time (as Redis's activeExpireCycle runs) so that
  // keys nobody reads again do not stay in memory; limit bounds the time it takes.
  std::size_t purge_expired(std::size_t limit = std::numeric_limits<std::size_t>::max());

  // Deletes every key.
  void clear();

  // Calls visit(key, entry) for each live key, in no particular order.
  // visit must not change the store.
  template <class Visit>
  void for_each_live(Visit&& visit) const {
    std::int64_t time = now();
    entries_.for_each([&](const Node& node) {
      if (!is_stale(node.value, time)) visit(std::string_view(node.key), node.value);
    });
  }

  // Keys held, stale ones not yet purged included (call purge_expired() first for
  // the live count), and how many of them have an expiry time.
  std::size_t size() const { return entries_.size(); }
  std::size_t expiring() const { return deadlines_.size(); }

  // The hash table's buckets (a power of two): what SCAN's cursor counts.
  std::size_t bucket_count() const { return entries_.bucket_count(); }

  // Mean time to live, in ms, of the live keys that have an expiry time; 0 if none.
  std::int64_t average_ttl() const;

  // Bytes of keys and values plus the fixed size of the nodes that hold them: an
  // estimate of the memory the keyspace takes, ignoring the allocator's rounding.
  std::size_t used_memory() const { return memory_; }
  std::size_t peak_memory() const { return peak_memory_; }

  // Keys deleted because they expired, since the store was made.
  std::uint64_t expired_keys() const { return expired_keys_; }

  // Writes since the last snapshot (Redis's "dirty" counter): each key set, deleted,
  // or given an expiry time counts one. A successful save forgets what it covered.
  std::uint64_t changes_since_save() const { return changes_; }
  void forget_changes(std::uint64_t saved) { changes_ -= std::min(saved, changes_); }

 private:
  using Table = HashTable<Entry>;
  using Node = Table::Node;
  // Lets the watched keys' map take a string_view without building a std::string.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const {
      return std::hash<std::string_view>()(key);
    }
  };
  // The expiry index: (expires_at, key) for each key that has an expiry time. The key
  // pointer points into the table's node, which never moves while the key exists.
  using Deadline = std::pair<std::int64_t, const std::string*>;
  struct EarliestFirst {
    using is_transparent = void;  // lets lower_bound() take just a time
    bool operator()(const Deadline& a, const Deadline& b) const {
      if (a.first != b.first) return a.first < b.first;
      return std::less<const std::string*>()(a.second, b.second);
    }
    bool operator()(const Deadline& a, std::int64_t time) const { return a.first < time; }
    bool operator()(std::int64_t time, const Deadline& b) const { return time < b.first; }
  };

  static bool is_stale(const Entry& entry, std::int64_t time) {
    return entry.expires_at != no_expiry && time > entry.expires_at;
  }
  Node* find_live(std::string_view key);
  Node* insert(std::string_view key);
  Entry& entry_of(std::string_view key);
  void touch(std::string_view key);
  void remove(Node* node);
  void drop_expiry(Node* node);
  void add_memory(std::size_t bytes);

  Clock clock_;
  std::minstd_rand random_;  // RANDOMKEY's picks
  Table entries_;
  std::set<Deadline, EarliestFirst> deadlines_;
  // The watched keys: how many watchers each has, and its version.
  struct Watch {
    std::size_t watchers = 0;
    std::uint64_t version = 0;
  };
  std::unordered_map<std::string, Watch, KeyHash, std::equal_to<>> watched_;
  std::uint64_t next_version_ = 1;

  // Accounting for INFO.
  std::size_t memory_ = 0;
  std::size_t peak_memory_ = 0;
  std::uint64_t expired_keys_ = 0;
  std::uint64_t changes_ = 0;
};

}  // namespace spindle_kv
