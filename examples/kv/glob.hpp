// Glob patterns, the language of KEYS: * matches any run of bytes, ? any one byte,
// [abc] one of a set, [^abc] one byte not in it, [a-z] a range, and a backslash makes
// the next byte literal.
//
// Explained in: docs/10-spindle-kv.md (the keyspace).
// Read next: examples/kv/glob.cpp.
#pragma once

#include <bitset>
#include <string_view>
#include <vector>

namespace spindle_kv {

// A pattern compiled once, to be matched against many keys. It matches a whole text
// with the rules of Redis's stringmatchlen, quirks included: a class that is never
// closed runs to the end of the pattern ("[ab" is the class {a, b}); "[]" matches
// nothing and "[^]" any byte; a range may be written backwards ("[z-a]"); a lone
// trailing backslash is a literal backslash; and an empty text matches only the empty
// pattern (KEYS * still lists the empty key: see Store::keys_matching). Bytes compare
// as unsigned values, where Redis compares C chars, so on x86 only a range with an end
// above 0x7f can differ.
class GlobPattern {
 public:
  explicit GlobPattern(std::string_view pattern);

  // True when the pattern matches all of text. Takes time proportional to the
  // pattern's size times the text's; it never recurses.
  bool matches(std::string_view text) const;

 private:
  // A star, or the set of bytes that one position of the text may hold.
  struct Token {
    bool star = false;
    std::bitset<256> accepts;
  };
  static std::size_t compile_class(std::string_view pattern, std::size_t i, Token& token);

  std::vector<Token> tokens_;
  bool empty_;  // the pattern was "", the only one that matches an empty text
};

// Matches one text against a pattern compiled for the occasion.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace spindle_kv
