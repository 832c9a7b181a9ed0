// The keyspace's hash table: chained buckets, always a power of two of them, and the
// reverse-binary cursor with which SCAN walks the buckets across resizes.
//
// Each node holds a key and its value and never moves while its key exists (a rename
// relinks it), so other structures may point into it. A bucket is the head of a chain of
// nodes; a key's bucket is the low bits of its hash. The table grows to twice its buckets
// when it holds more keys than buckets, and shrinks to the smallest power of two that
// holds its keys when fewer than a tenth of the buckets would be used (Redis's two
// rules); both resizes happen at once, inside the insert or erase that triggers them
// ("stop the world"), as std::unordered_map's do. docs/10 says why not incrementally.
//
// scan() visits one bucket and returns the next cursor. The cursor counts buckets with
// its bits reversed (Redis's dictScan): the buckets still to visit after a resize are
// exactly those that hold what the old table's unvisited buckets held, so a key present
// for a whole scan is returned at least once however often the table resizes in between.
//
// Explained in: docs/10-spindle-kv.md (SCAN's cursor).
// Read next: examples/kv/store.hpp.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spindle_kv {

// The bits of word in reverse order: bit 0 becomes bit 63.
constexpr std::uint64_t reverse_bits(std::uint64_t word) {
  word = ((word >> 1) & 0x5555555555555555u) | ((word & 0x5555555555555555u) << 1);
  word = ((word >> 2) & 0x3333333333333333u) | ((word & 0x3333333333333333u) << 2);
  word = ((word >> 4) & 0x0f0f0f0f0f0f0f0fu) | ((word & 0x0f0f0f0f0f0f0f0fu) << 4);
  word = ((word >> 8) & 0x00ff00ff00ff00ffu) | ((word & 0x00ff00ff00ff00ffu) << 8);
  word = ((word >> 16) & 0x0000ffff0000ffffu) | ((word & 0x0000ffff0000ffffu) << 16);
  return (word >> 32) | (word << 32);
}

template <class Value>
class HashTable {
 public:
  // No cached hash: a resize hashes every key again, and the node is 8 bytes smaller
  // for it, which puts spindle-kv's entries in 96-byte malloc chunks instead of 112.
  struct Node {
    Node* next;  // the next node of the same bucket, or nullptr
    std::string key;
    Value value;
  };

  static constexpr std::size_t min_buckets = 4;

  HashTable() : buckets_(min_buckets, nullptr) {}
  HashTable(const HashTable&) = delete;
  HashTable& operator=(const HashTable&) = delete;
  // Moving hands the nodes over where they are; the moved-from table is empty.
  HashTable(HashTable&& other) : HashTable() { swap(other); }
  HashTable& operator=(HashTable&& other) {
    HashTable taken(std::move(other));
    swap(taken);
    return *this;
  }
  ~HashTable() { clear(); }

  std::size_t size() const { return size_; }
  std::size_t bucket_count() const { return buckets_.size(); }

  // The first node of bucket index's chain, or nullptr. Precondition: index < bucket_count().
  const Node* bucket(std::size_t index) const { return buckets_[index]; }

  // key's node, or nullptr.
  Node* find(std::string_view key) const {
    for (Node* node = buckets_[bucket_of(key)]; node != nullptr; node = node->next)
      if (node->key == key) return node;
    return nullptr;
  }

  // Makes key's node, with a Value{}. Precondition: find(key) == nullptr.
  Node* insert(std::string_view key) {
    assert(find(key) == nullptr);
    if (size_ + 1 > buckets_.size()) resize(buckets_.size() * 2);
    Node* node = new Node{nullptr, std::string(key), Value{}};
    link(node);
    ++size_;
    return node;
  }

  // Deletes node. Precondition: node is this table's.
  void erase(Node* node) {
    unlink(node);
    delete node;
    --size_;
    if (buckets_.size() > min_buckets && size_ * 10 < buckets_.size()) resize(fitting(size_));
  }

  // Gives node the name key; the node stays where it is in memory.
  // Precondition: node is this table's, and find(key) == nullptr.
  void rename(Node* node, std::string_view key) {
    assert(find(key) == nullptr);
    unlink(node);
    node->key = std::string(key);
    link(node);
  }

  // Deletes every node and goes back to min_buckets buckets.
  void clear() {
    for (Node*& head : buckets_) {
      while (head != nullptr) delete std::exchange(head, head->next);
    }
    size_ = 0;
    std::vector<Node*>(min_buckets, nullptr).swap(buckets_);
  }

  // Calls visit(node) for every node, in bucket order. visit must not change the table.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (const Node* head : buckets_)
      for (const Node* node = head; node != nullptr; node = node->next) visit(*node);
  }

  // One step of a scan: calls visit(node) for each node of the bucket cursor names, and
  // returns the cursor of the next bucket to visit, 0 when every bucket has been. A scan
  // starts at 0. The increment is made on the cursor's reversed bits, above the mask set
  // first so that the carry goes into the bucket bits: with 8 buckets the order is 0, 4,
  // 2, 6, 1, 5, 3, 7. visit must not change the table.
  template <class Visit>
  std::uint64_t scan(std::uint64_t cursor, Visit&& visit) const {
    std::uint64_t mask = buckets_.size() - 1;
    for (const Node* node = buckets_[cursor & mask]; node != nullptr; node = node->next)
      visit(*node);
    cursor |= ~mask;
    return reverse_bits(reverse_bits(cursor) + 1);
  }

 private:
  std::size_t bucket_of(std::string_view key) const {
    return std::hash<std::string_view>()(key) & (buckets_.size() - 1);
  }

  // The fewest buckets, a power of two and at least min_buckets, that hold keys keys.
  static std::size_t fitting(std::size_t keys) {
    std::size_t buckets = min_buckets;
    while (buckets < keys) buckets *= 2;
    return buckets;
  }

  void link(Node* node) {
    Node*& head = buckets_[bucket_of(node->key)];
    node->next = head;
    head = node;
  }

  void unlink(Node* node) {
    Node** slot = &buckets_[bucket_of(node->key)];
    while (*slot != node) {
      assert(*slot != nullptr);
      slot = &(*slot)->next;
    }
    *slot = node->next;
  }

  // Relinks every node into a new array of buckets (a power of two).
  void resize(std::size_t buckets) {
    std::vector<Node*> old(buckets, nullptr);
    old.swap(buckets_);
    for (Node* head : old) {
      while (head != nullptr) link(std::exchange(head, head->next));
    }
  }

  void swap(HashTable& other) {
    buckets_.swap(other.buckets_);
    std::swap(size_, other.size_);
  }

  std::vector<Node*> buckets_;  // heads of the chains; size a power of two
  std::size_t size_ = 0;        // nodes in all chains
};

}  // namespace spindle_kv
