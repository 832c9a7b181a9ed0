// runtime/green/stack_pool.cpp — carving pooled stacks out of slabs, and reusing them.
// Explained in: docs/04-stacks.md (pooled stacks). Read next: runtime/green/overflow.cpp.
#include "stack_pool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cerrno>

#include "stack.hpp"

namespace spindle::green::detail {

namespace {

// Makes room for `n` elements, growing by doubling, so that push_backs up to n cannot
// throw.
template <class T>
void make_room(std::vector<T>& v, std::size_t n) {
  if (v.capacity() < n) v.reserve(std::max(n, 2 * v.capacity()));
}

}  // namespace

stack_pool::~stack_pool() {
  if (in_use_ != 0) return;
  for (const size_class& c : classes_) {
    for (const stack_span& s : c.kept) deregister_from_valgrind(s);
  }
  for (const slab& s : slabs_) munmap(s.base, s.bytes);
}

stack_span stack_pool::allocate(std::size_t usable) {
  size_class& c = class_for(usable);
  stack_span stack;
  if (!c.kept.empty()) {
    stack = c.kept.back();
    c.kept.pop_back();
    c.given_back = std::min(c.given_back, c.kept.size());
  } else {
    if (c.uncarved == 0) map_slab(c);
    stack = carve(c);
  }
  ++in_use_;
  return stack;
}

void stack_pool::free(const stack_span& stack) noexcept {
  auto c = std::find_if(classes_.begin(), classes_.end(),
                        [&](const size_class& k) { return k.usable == stack.size; });
  assert(c != classes_.end() && stack.guard == 0 && "not a pooled stack of this thread");
  assert(c->kept.size() < c->kept.capacity() && "map_slab reserves room for every stack");
  c->kept.push_back(stack);
  --in_use_;
}

// Kept stacks are a stack (LIFO): the most recently freed, at the top, are reused first
// and stay hot; those at the bottom beyond hot_capacity are the ones given back. They
// are sorted by address first, so that neighbours in a slab go back in one madvise.
void stack_pool::trim() noexcept {
  for (size_class& c : classes_) {
    if (c.kept.size() <= hot_capacity || c.given_back >= c.kept.size() - hot_capacity) continue;
    auto first = c.kept.begin() + static_cast<std::ptrdiff_t>(c.given_back);
    auto last = c.kept.end() - static_cast<std::ptrdiff_t>(hot_capacity);
    std::sort(first, last, [](const stack_span& a, const stack_span& b) { return a.low < b.low; });
    for (auto run = first; run != last;) {
      auto end = run + 1;
      while (end != last && end->low == (end - 1)->high()) ++end;
      std::byte* low = static_cast<std::byte*>(run->low);
      madvise(low, static_cast<std::size_t>((end - 1)->high() - low), MADV_DONTNEED);
      run = end;
    }
    c.given_back = c.kept.size() - hot_capacity;
  }
}

std::size_t stack_pool::release_unused() noexcept {
  std::size_t released = 0;
  for (size_class& c : classes_) {
    if (c.carved == 0 || c.kept.size() != c.carved) continue;
    for (const stack_span& s : c.kept) deregister_from_valgrind(s);
    auto unused = [&](const slab& s) { return s.usable == c.usable; };
    for (const slab& s : slabs_) {
      if (!unused(s)) continue;
      munmap(s.base, s.bytes);
      released += s.bytes;
    }
    std::erase_if(slabs_, unused);
    c.kept.clear();  // keeps its capacity: free() may not allocate
    c.given_back = 0;
    c.next_uncarved = nullptr;
    c.uncarved = 0;
    c.carved = 0;
  }
  mapped_bytes_ -= released;
  return released;
}

stack_pool::size_class& stack_pool::class_for(std::size_t usable) {
  for (size_class& c : classes_) {
    if (c.usable == usable) return c;
  }
  classes_.emplace_back();
  classes_.back().usable = usable;
  return classes_.back();
}

// Maps a slab for class c and makes it the one to carve from. Reserves, first, room in
// c.kept for every stack the class will then have, so that free() never allocates.
void stack_pool::map_slab(size_class& c) {
  std::size_t count = std::max<std::size_t>(1, slab_bytes / c.usable);
  std::size_t bytes = count * c.usable;
  make_room(c.kept, c.carved + count);
  make_room(slabs_, slabs_.size() + 1);
  auto map = [bytes] {
    return mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  };
  void* base = map();
  int error = errno;
  // Refused: what the caches keep may be the address space this slab needs. c itself
  // has every stack in use here (none is kept), so release_unused leaves it alone.
  if (base == MAP_FAILED && error == ENOMEM && give_back_kept_stacks()) {
    base = map();
    error = errno;
  }
  if (base == MAP_FAILED) throw_exhausted(error, bytes, c.usable, stack_kind::pooled);
  slabs_.push_back({static_cast<std::byte*>(base), bytes, c.usable});
  mapped_bytes_ += bytes;
  c.next_uncarved = static_cast<std::byte*>(base);
  c.uncarved = count;
}

stack_span stack_pool::carve(size_class& c) noexcept {
  assert(c.uncarved > 0);
  stack_span stack{c.next_uncarved, c.usable};
  register_with_valgrind(stack);
  c.next_uncarved += c.usable;
  --c.uncarved;
  ++c.carved;
  return stack;
}

}  // namespace spindle::green::detail
