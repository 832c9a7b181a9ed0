// Glob matching for KEYS: the contract is in glob.hpp.
//
// The pattern is first compiled into tokens: a star, or a set of the bytes that one
// position of the text may hold (a literal is a set of one, ? the set of all). Every
// non-star token consumes exactly one byte, which lets the matcher remember just the
// last star it passed and, on a mismatch, let that star swallow one more byte.
//
// Explained in: docs/10-spindle-kv.md (the keyspace).
// Read next: examples/kv/store.cpp.
#include "glob.hpp"

#include <utility>

namespace spindle_kv {
namespace {

unsigned byte(char c) { return static_cast<unsigned char>(c); }

}  // namespace

// Compiles the class whose '[' is just before pattern[i]; returns the index after it.
std::size_t GlobPattern::compile_class(std::string_view pattern, std::size_t i, Token& token) {
  bool negated = i < pattern.size() && pattern[i] == '^';
  if (negated) ++i;
  while (i < pattern.size()) {
    if (pattern[i] == '\\' && pattern.size() - i >= 2) {
      token.accepts.set(byte(pattern[i + 1]));
      i += 2;
    } else if (pattern[i] == ']') {
      ++i;
      break;
    } else if (pattern.size() - i >= 3 && pattern[i + 1] == '-') {
      unsigned low = byte(pattern[i]), high = byte(pattern[i + 2]);
      if (low > high) std::swap(low, high);
      for (unsigned c = low; c <= high; ++c) token.accepts.set(c);
      i += 3;
    } else {
      token.accepts.set(byte(pattern[i++]));
    }
  }
  if (negated) token.accepts.flip();
  return i;
}

GlobPattern::GlobPattern(std::string_view pattern) : empty_(pattern.empty()) {
  std::size_t i = 0;
  while (i < pattern.size()) {
    Token token;
    char c = pattern[i++];
    if (c == '*') {
      token.star = true;
    } else if (c == '?') {
      token.accepts.set();
    } else if (c == '[') {
      i = compile_class(pattern, i, token);
    } else {
      if (c == '\\' && i < pattern.size()) c = pattern[i++];
      token.accepts.set(byte(c));
    }
    tokens_.push_back(token);
  }
}

bool GlobPattern::matches(std::string_view text) const {
  if (text.empty()) return empty_;
  constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::size_t t = 0, s = 0;
  std::size_t star = none, star_s = 0;  // the last star passed, and where its match began
  while (s < text.size()) {
    if (t < tokens_.size() && tokens_[t].star) {
      star = t++;
      star_s = s;
    } else if (t < tokens_.size() && tokens_[t].accepts.test(byte(text[s]))) {
      ++t;
      ++s;
    } else if (star != none) {
      t = star + 1;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (t < tokens_.size() && tokens_[t].star) ++t;
  return t == tokens_.size();
}

bool glob_match(std::string_view pattern, std::string_view text) {
  return GlobPattern(pattern).matches(text);
}

}  // namespace spindle_kv
