// RESP2 request parsing and reply encoding: the contracts are in resp.hpp.
//
// Explained in: docs/10-spindle-kv.md (the protocol).
// Read next: examples/kv/inline.hpp.
#include "resp.hpp"

#include <algorithm>
#include <charconv>

#include "inline.hpp"

namespace spindle_kv {

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  if (digits.empty() || digits.front() < '0' || digits.front() > '9') return std::nullopt;
  if (digits.front() == '0' && text.size() != 1) return std::nullopt;  // "01", "-0"
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool equals_ignoring_case(std::string_view text, std::string_view lower_case_word) {
  if (text.size() != lower_case_word.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_case_word[i]) return false;
  }
  return true;
}

void RequestParser::feed(std::string_view bytes) {
  if (error_reply_.empty()) buffer_.append(bytes);
}

RequestParser::Status RequestParser::next(Argv& argv) {
  while (error_reply_.empty()) {
    Step step;
    if (bulks_missing_ > 0)
      step = read_bulks(argv);
    else if (pos_ == buffer_.size())
      step = Step::need_more;
    else if (buffer_[pos_] == '*')
      step = read_multibulk_count();
    else
      step = read_inline(argv);

    if (step == Step::command) return Status::command;
    if (step == Step::need_more) {
      buffer_.erase(0, pos_);
      scanned_ -= std::min(scanned_, pos_);
      pos_ = 0;
      // A huge request (a 256 MiB SET) must not keep its buffer once it has run.
      constexpr std::size_t capacity_kept = 64 * 1024;
      if (buffer_.capacity() > capacity_kept && buffer_.size() <= capacity_kept)
        buffer_.shrink_to_fit();
      return Status::need_more;
    }
  }
  return Status::error;
}

RequestParser::Step RequestParser::fail(std::string_view message) {
  append_error(error_reply_, message);
  buffer_.clear();
  pos_ = scanned_ = 0;
  return Step::failed;
}

// The index of the first byte of ends at or after pos_, or npos.
std::size_t RequestParser::find_line_end(std::string_view ends) {
  std::size_t end = buffer_.find_first_of(ends, std::max(pos_, scanned_));
  if (end == std::string::npos) scanned_ = buffer_.size();
  return end;
}

RequestParser::Step RequestParser::read_inline(Argv& argv) {
  // Redis looks for the newline with strchr, so a NUL byte hides it: the line stays
  // unfinished until it passes the limit. We keep that so clients see the same thing.
  std::size_t end = find_line_end(std::string_view("\n\0", 2));
  bool complete = end != std::string::npos && buffer_[end] == '\n';
  std::size_t length = (complete ? end : buffer_.size()) - pos_;
  // Redis checks the limit only while the newline is missing, so whether it accepts a
  // line a little over 64 KiB depends on how reads split it; we reject every such line.
  if (length > max_inline_length) return fail("ERR Protocol error: too big inline request");
  if (!complete) return Step::need_more;

  std::string_view line(buffer_.data() + pos_, length);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ = end + 1;
  if (!split_inline_request(line, argv))
    return fail("ERR Protocol error: unbalanced quotes in request");
  return argv.empty() ? Step::progress : Step::command;
}

// Finds the '\r' that ends a "*n" or "$n" line starting at pos_, or nullopt while it
// has not arrived; a line still without it past the limit also fails the parser, with
// too_big_message. Like Redis, the byte after '\r' is skipped unread (it should be
// '\n'), and a NUL hides the '\r'.
std::optional<std::size_t> RequestParser::find_header_end(std::string_view too_big_message) {
  std::size_t cr = find_line_end(std::string_view("\r\0", 2));
  if (cr == std::string::npos || buffer_[cr] == '\0') {
    if (buffer_.size() - pos_ > max_inline_length) fail(too_big_message);
    return std::nullopt;
  }
  if (cr + 1 == buffer_.size()) return std::nullopt;
  return cr;
}

RequestParser::Step RequestParser::read_multibulk_count() {
  auto cr = find_header_end("ERR Protocol error: too big mbulk count string");
  if (!cr) return error_reply_.empty() ? Step::need_more : Step::failed;
  auto count = parse_integer(std::string_view(buffer_).substr(pos_ + 1, *cr - pos_ - 1));
  if (!count || *count > max_multibulk_count)
    return fail("ERR Protocol error: invalid multibulk length");
  pos_ = *cr + 2;
  if (*count <= 0) return Step::progress;
  bulks_missing_ = *count;
  bulk_length_ = -1;
  args_.clear();
  return Step::progress;
}

RequestParser::Step RequestParser::read_bulk_count() {
  auto cr = find_header_end("ERR Protocol error: too big bulk count string");
  if (!cr) return error_reply_.empty() ? Step::need_more : Step::failed;
  if (buffer_[pos_] != '$') {
    std::string message = "ERR Protocol error: expected '$', got ' '";
    message[message.size() - 2] = buffer_[pos_];
    return fail(message);
  }
  auto length = parse_integer(std::string_view(buffer_).substr(pos_ + 1, *cr - pos_ - 1));
  if (!length || *length < 0 || *length > max_bulk_length)
    return fail("ERR Protocol error: invalid bulk length");
  pos_ = *cr + 2;
  bulk_length_ = *length;
  return Step::progress;
}

RequestParser::Step RequestParser::read_bulks(Argv& argv) {
  while (bulks_missing_ > 0) {
    if (bulk_length_ < 0) {
      Step step = read_bulk_count();
      if (step != Step::progress) return step;
    }
    auto length = static_cast<std::size_t>(bulk_length_);
    if (buffer_.size() - pos_ < length + 2) return Step::need_more;
    args_.emplace_back(buffer_, pos_, length);
    pos_ += length + 2;  // Redis does not check that the two bytes are "\r\n"
    bulk_length_ = -1;
    --bulks_missing_;
  }
  argv.swap(args_);
  args_.clear();
  return Step::command;
}

void append_simple_string(std::string& out, std::string_view text) {
  out += '+';
  out += text;
  out += "\r\n";
}

void append_error(std::string& out, std::string_view text) {
  while (!text.empty() && (text.front() == '\r' || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
  out += '-';
  for (char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\r\n";
}

namespace {

void append_number_line(std::string& out, char type, std::int64_t value) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out += type;
  out.append(digits, end);
  out += "\r\n";
}

}  // namespace

void append_integer(std::string& out, std::int64_t value) { append_number_line(out, ':', value); }

void append_bulk(std::string& out, std::string_view bytes) {
  append_number_line(out, '$', static_cast<std::int64_t>(bytes.size()));
  out += bytes;
  out += "\r\n";
}

void append_null_bulk(std::string& out) { out += "$-1\r\n"; }

void append_array_header(std::string& out, std::size_t count) {
  append_number_line(out, '*', static_cast<std::int64_t>(count));
}

}  // namespace spindle_kv
