// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest common
// subsequence of two string values (Redis 7.0), by the textbook dynamic programme.
//
// A table holds at (i, j) the length of the LCS of the first i bytes of a and the first j
// of b; it is filled row by row, then walked back from its far corner to spell the LCS
// out, last byte first. The walk also finds the matching ranges IDX reports: a run of
// bytes that are consecutive in both strings, as [start, end] positions in each, from
// the end of the strings towards their start, as Redis lists them. The table takes
// (len(a) + 1) * (len(b) + 1) 32-bit cells: Redis refuses one larger than its
// proto-max-bulk-len (512 MiB), and so does this.
//
// Explained in: docs/10-spindle-kv.md (commands).
// Read next: examples/kv/keyspace_commands.cpp.
#include <algorithm>
#include <cstdint>
#include <new>
#include <optional>
#include <vector>

#include "command_support.hpp"

namespace spindle_kv {
namespace {

struct LcsOptions {
  bool length_only = false;           // LEN: the length, as an integer
  bool ranges = false;                // IDX: the matching ranges and the length
  bool with_match_length = false;     // WITHMATCHLEN: each range with its length
  std::int64_t min_match_length = 0;  // MINMATCHLEN: shorter ranges are left out
};

// One run of bytes that match in both strings: positions in a, in b, inclusive.
struct MatchRange {
  std::uint32_t a_start, a_end, b_start, b_end;
  std::uint32_t length() const { return a_end - a_start + 1; }
};

// The options after the two keys, left to right as Redis reads them; false after the
// error reply.
bool parse_lcs_options(Call& call, LcsOptions& options) {
  const Argv& argv = call.argv;
  for (std::size_t i = 3; i < argv.size(); ++i) {
    if (equals_ignoring_case(argv[i], "idx")) {
      options.ranges = true;
    } else if (equals_ignoring_case(argv[i], "len")) {
      options.length_only = true;
    } else if (equals_ignoring_case(argv[i], "withmatchlen")) {
      options.with_match_length = true;
    } else if (equals_ignoring_case(argv[i], "minmatchlen") && i + 1 < argv.size()) {
      auto parsed = parse_integer(argv[++i]);
      if (!parsed) return error(call, not_an_integer), false;
      options.min_match_length = *parsed < 0 ? 0 : *parsed;
    } else {
      return error(call, syntax_error), false;
    }
  }
  if (options.ranges && options.length_only)
    return error(call, "ERR If you want both the length and indexes, please just use IDX."), false;
  return true;
}

// The table of LCS lengths of every pair of prefixes of a and b.
class LcsTable {
 public:
  LcsTable(std::string_view a, std::string_view b)
      : columns_(b.size() + 1), cells_((a.size() + 1) * columns_, 0) {
    for (std::size_t i = 1; i <= a.size(); ++i)
      for (std::size_t j = 1; j <= b.size(); ++j)
        cell(i, j) = a[i - 1] == b[j - 1] ? cell(i - 1, j - 1) + 1
                                          : std::max(cell(i - 1, j), cell(i, j - 1));
  }
  std::uint32_t at(std::size_t i, std::size_t j) const { return cells_[i * columns_ + j]; }

 private:
  std::uint32_t& cell(std::size_t i, std::size_t j) { return cells_[i * columns_ + j]; }
  std::size_t columns_;
  std::vector<std::uint32_t> cells_;
};

// Walks table back from (len(a), len(b)): returns the LCS, and appends to ranges each
// matching range of at least min_length bytes, the last one first. A range ends (is
// closed) at a mismatch or when it reaches the first byte of either string.
std::string walk_back(const LcsTable& table, std::string_view a, std::string_view b,
                      std::int64_t min_length, std::vector<MatchRange>& ranges) {
  std::string lcs(table.at(a.size(), b.size()), '\0');
  std::size_t filled = lcs.size();
  std::size_t i = a.size(), j = b.size();
  bool open = false;
  MatchRange range{};
  while (i > 0 && j > 0) {
    bool close = false;
    if (a[i - 1] == b[j - 1]) {
      lcs[--filled] = a[i - 1];
      --i;
      --j;
      // A match right after a match extends the range backwards: a mismatch closes it.
      if (!open)
        range = MatchRange{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i),
                           static_cast<std::uint32_t>(j), static_cast<std::uint32_t>(j)};
      range.a_start = static_cast<std::uint32_t>(i);
      range.b_start = static_cast<std::uint32_t>(j);
      open = true;
      close = i == 0 || j == 0;
    } else {
      if (table.at(i - 1, j) > table.at(i, j - 1))
        --i;
      else
        --j;
      close = open;
    }
    if (close) {
      if (range.length() >= min_length) ranges.push_back(range);
      open = false;
    }
  }
  return lcs;
}

void append_range_reply(Call& call, const MatchRange& range, bool with_length) {
  append_array_header(call.reply, with_length ? 3 : 2);
  append_array_header(call.reply, 2);
  append_integer(call.reply, range.a_start);
  append_integer(call.reply, range.a_end);
  append_array_header(call.reply, 2);
  append_integer(call.reply, range.b_start);
  append_integer(call.reply, range.b_end);
  if (with_length) append_integer(call.reply, range.length());
}

}  // namespace

Action lcs(Call& call) {
  const Entry* first = call.store.find(call.argv[1]);
  std::string a = first ? first->value : std::string();
  const Entry* second = call.store.find(call.argv[2]);
  std::string_view b = second ? std::string_view(second->value) : std::string_view();
  LcsOptions options;
  if (!parse_lcs_options(call, options)) return Action::reply;
  // Values are at most 512 MiB, so the lengths fit the table's 32-bit cells.
  std::uint64_t table_bytes = (a.size() + 1ull) * (b.size() + 1ull) * sizeof(std::uint32_t);
  if (table_bytes > static_cast<std::uint64_t>(max_bulk_length))
    return error(call,
                 "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  std::optional<LcsTable> table;
  try {
    table.emplace(a, b);
  } catch (const std::bad_alloc&) {
    return error(call, "ERR Insufficient memory, failed allocating transient memory for LCS");
  }
  if (options.length_only) return integer(call, table->at(a.size(), b.size()));
  std::vector<MatchRange> ranges;
  std::string common = walk_back(*table, a, b, options.min_match_length, ranges);
  if (!options.ranges) {
    append_bulk(call.reply, common);
    return Action::reply;
  }
  // RESP2 has no map: IDX's map of two fields is an array of four items.
  append_array_header(call.reply, 4);
  append_bulk(call.reply, "matches");
  append_array_header(call.reply, ranges.size());
  for (const MatchRange& range : ranges) append_range_reply(call, range, options.with_match_length);
  append_bulk(call.reply, "len");
  append_integer(call.reply, common.size());
  return Action::reply;
}

}  // namespace spindle_kv
