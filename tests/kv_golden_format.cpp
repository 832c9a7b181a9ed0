// The golden file format: the contract is in kv_golden_format.hpp.
//
// Explained in: docs/10-spindle-kv.md (testing against redis).
// Read next: tests/kv_golden_recorder.cpp.
#include "kv_golden_format.hpp"

#include <cstdio>
#include <fstream>
#include <optional>
#include <stdexcept>

namespace spindle_kv::testing {
namespace {

void escape_one(std::string& out, unsigned char c, bool last) {
  if (c == '\\') {
    out += "\\\\";
  } else if (c == '\r') {
    out += "\\r";
  } else if (c == '\n') {
    out += "\\n";
  } else if (c == '\t') {
    out += "\\t";
  } else if (c < 0x20 || c > 0x7e || (c == ' ' && last)) {
    char hex[5];
    std::snprintf(hex, sizeof hex, "\\x%02x", c);
    out += hex;
  } else {
    out += static_cast<char>(c);
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  throw std::invalid_argument("bad hex digit in \\x escape");
}

// Decodes the escape whose backslash is at text[i]; returns the index after it.
std::size_t unescape_one(std::string_view text, std::size_t i, std::string& out) {
  if (i + 1 >= text.size()) throw std::invalid_argument("backslash at the end of a line");
  char kind = text[i + 1];
  if (kind == '\\' || kind == 'r' || kind == 'n' || kind == 't') {
    out += kind == 'r' ? '\r' : kind == 'n' ? '\n' : kind == 't' ? '\t' : '\\';
    return i + 2;
  }
  if (kind == 'x' && i + 3 < text.size()) {
    out += static_cast<char>(hex_digit(text[i + 2]) * 16 + hex_digit(text[i + 3]));
    return i + 4;
  }
  std::size_t close = text.find(')', i);
  if (kind != '(' || close == std::string_view::npos || out.empty())
    throw std::invalid_argument("unknown escape");
  std::size_t count = std::stoul(std::string(text.substr(i + 2, close - i - 2)));
  if (count == 0) throw std::invalid_argument("\\(0) repeats nothing");
  out.append(count - 1, out.back());
  return close + 1;
}

// The text after "keyword " on a line, or nullopt if the line is not that keyword's.
// A bare "keyword" stands for empty bytes (an editor may have dropped its space).
std::optional<std::string_view> after_keyword(std::string_view line, std::string_view keyword) {
  if (line == keyword) return std::string_view();
  if (line.size() > keyword.size() && line.substr(0, keyword.size()) == keyword &&
      line[keyword.size()] == ' ')
    return line.substr(keyword.size() + 1);
  return std::nullopt;
}

std::vector<std::string> read_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size();) {
    std::size_t run = 1;
    while (i + run < bytes.size() && bytes[i + run] == bytes[i]) ++run;
    if (run < 16) run = 1;
    escape_one(out, static_cast<unsigned char>(bytes[i]), i + run == bytes.size());
    if (run > 1) out += "\\(" + std::to_string(run) + ")";
    i += run;
  }
  return out;
}

std::string unescape_bytes(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\\')
      i = unescape_one(text, i, out);
    else
      out += text[i++];
  }
  return out;
}

std::vector<std::string> read_golden_cases(const std::filesystem::path& file) {
  std::vector<std::string> cases;
  for (const std::string& line : read_lines(file))
    if (!line.empty() && line[0] != '#') cases.push_back(unescape_bytes(line));
  return cases;
}

std::vector<GoldenCase> read_golden_replies(const std::filesystem::path& file) {
  std::vector<std::string> lines = read_lines(file);
  std::vector<GoldenCase> cases;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto send = after_keyword(lines[i], "send");
    if (!send) continue;
    auto recv = i + 1 < lines.size() ? after_keyword(lines[i + 1], "recv") : std::nullopt;
    if (!recv)
      throw std::runtime_error(file.string() + ":" + std::to_string(i + 1) + ": send without recv");
    cases.push_back({static_cast<int>(i + 1), unescape_bytes(*send), unescape_bytes(*recv)});
  }
  return cases;
}

}  // namespace spindle_kv::testing
