// The text format of spindle-kv's golden files: raw protocol bytes written as one line.
//
// golden_cases.txt lists requests, one connection's bytes per line; golden_replies.txt
// pairs each with what a real redis-server replied ("send ..." then "recv ...").
// Bytes are written as text with these escapes:
//   \\  a backslash     \r \n \t  CR, LF, tab     \xHH  any byte, in hex
//   \(N)  the byte before, N times in all (so "a\(5)" is "aaaaa")
// A space that ends a line is written \x20, so editors cannot drop it.
//
// Explained in: docs/10-spindle-kv.md (testing against redis).
// Read next: tests/kv_golden_format.cpp.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace spindle_kv::testing {

// The escaped form of bytes; runs of 16 or more equal bytes use \(N).
std::string escape_bytes(std::string_view bytes);

// The bytes that text stands for. Throws std::invalid_argument on a malformed escape.
std::string unescape_bytes(std::string_view text);

struct GoldenCase {
  int line = 0;      // line of the "send" in the file, for messages
  std::string send;  // the bytes one connection sent
  std::string recv;  // every byte Redis sent back
};

// The lines of a cases file that are neither blank nor comments (#), unescaped.
std::vector<std::string> read_golden_cases(const std::filesystem::path& file);

// The cases of a replies file. Throws std::runtime_error if it cannot be read or a
// "send" line lacks its "recv".
std::vector<GoldenCase> read_golden_replies(const std::filesystem::path& file);

}  // namespace spindle_kv::testing
