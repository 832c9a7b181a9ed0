// Splitting inline requests: the contract is in inline.hpp.
//
// Explained in: docs/10-spindle-kv.md (the protocol).
// Read next: examples/kv/store.hpp.
#include "inline.hpp"

#include <string>

namespace spindle_kv {
namespace {

constexpr std::size_t failed = std::string_view::npos;

// isspace() in the C locale: what may separate arguments and follow a closing quote.
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;
  }
}

// Both quoted forms end the argument at the closing quote at line[i]: only a blank
// or the end of the line may follow it.
std::size_t close_quote(std::string_view line, std::size_t i) {
  if (i + 1 < line.size() && !is_blank(line[i + 1])) return failed;
  return i + 1;
}

// Reads from just after an opening '"'; returns the index after the closing '"'.
std::size_t read_double_quoted(std::string_view line, std::size_t i, std::string& arg) {
  while (i < line.size()) {
    char c = line[i];
    if (c == '\\' && i + 3 < line.size() && line[i + 1] == 'x' && hex_value(line[i + 2]) >= 0 &&
        hex_value(line[i + 3]) >= 0) {
      arg += static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3]));
      i += 4;
    } else if (c == '\\' && i + 1 < line.size()) {
      arg += unescape(line[i + 1]);
      i += 2;
    } else if (c == '"') {
      return close_quote(line, i);
    } else {
      arg += c;
      ++i;
    }
  }
  return failed;
}

// Reads from just after an opening '\''; returns the index after the closing '\''.
std::size_t read_single_quoted(std::string_view line, std::size_t i, std::string& arg) {
  while (i < line.size()) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '\'') {
      arg += '\'';
      i += 2;
    } else if (line[i] == '\'') {
      return close_quote(line, i);
    } else {
      arg += line[i++];
    }
  }
  return failed;
}

// Reads one argument starting at a non-blank byte; returns the index after it.
// Unlike the blanks between arguments, only space, tab, CR and LF end an argument.
std::size_t read_argument(std::string_view line, std::size_t i, std::string& arg) {
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return i + 1;
    if (c == '"') return read_double_quoted(line, i + 1, arg);
    if (c == '\'') return read_single_quoted(line, i + 1, arg);
    arg += c;
    ++i;
  }
  return i;
}

}  // namespace

bool split_inline_request(std::string_view line, Argv& argv) {
  line = line.substr(0, line.find('\0'));  // Redis reads the line as a C string
  argv.clear();
  std::size_t i = 0;
  for (;;) {
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i == line.size()) return true;
    std::string arg;
    i = read_argument(line, i, arg);
    if (i == failed) return false;
    argv.push_back(std::move(arg));
  }
}

}  // namespace spindle_kv
