// RESP2, the Redis serialization protocol: an incremental request parser and the
// reply encoders.
//
// A client sends each command as an array of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
// or, typed by hand into telnet, as one "inline" line ("GET k\r\n"). Bytes arrive in
// whatever pieces the network cuts them into: one read may hold half a command or ten
// pipelined ones. RequestParser keeps what it has been fed and hands out complete commands,
// so the server's loop is: read, feed, take every complete command, reply.
//
// Explained in: docs/10-spindle-kv.md (the protocol).
// Read next: examples/kv/resp.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spindle_kv {

// One request: the command name followed by its arguments, as raw bytes.
using Argv = std::vector<std::string>;

// Limits Redis 7 applies to requests, at its default configuration.
inline constexpr std::int64_t max_bulk_length = 512 * 1024 * 1024;  // proto-max-bulk-len
inline constexpr std::int64_t max_multibulk_count = 2147483647;     // INT_MAX
inline constexpr std::size_t max_inline_length = 64 * 1024;         // PROTO_INLINE_MAX_SIZE
// (An inline line, counting its CR but not its LF, and a "*n" or "$n" line still
// without its CR, may be max_inline_length bytes long.)

// Parses a decimal integer the way Redis does everywhere (its string2ll): an optional
// '-', then "0" or a digit 1-9 followed by digits, nothing else. "+1", "01", "-0", " 1"
// and anything outside a signed 64-bit integer are rejected with std::nullopt.
std::optional<std::int64_t> parse_integer(std::string_view text);

// True when text equals lower_case_word ignoring ASCII case; command names and
// options are case-insensitive. lower_case_word must be in lower case.
bool equals_ignoring_case(std::string_view text, std::string_view lower_case_word);

// Splits bytes into requests. One parser per connection; not thread-safe.
//
// After an error the parser stays failed: the server sends error_reply() after the
// replies to the commands that came before the bad bytes, then closes the connection,
// as Redis does (its CLIENT_CLOSE_AFTER_REPLY).
class RequestParser {
 public:
  enum class Status {
    command,    // argv holds the next complete request
    need_more,  // every complete request has been handed out: feed more bytes
    error,      // the input is malformed or over a limit: reply and close
  };

  // Appends bytes received from the connection. Call next() until it stops
  // returning Status::command.
  void feed(std::string_view bytes);

  // Takes the next complete request into argv (replacing its contents).
  // Empty requests (a blank inline line, "*0\r\n") are skipped, as in Redis.
  Status next(Argv& argv);

  // The reply to send before closing, e.g. "-ERR Protocol error: invalid bulk length\r\n".
  // Empty until next() has returned Status::error.
  const std::string& error_reply() const { return error_reply_; }

  // Bytes held and not yet handed out as requests (for a server's memory limit).
  std::size_t buffered() const { return buffer_.size() - pos_; }

 private:
  enum class Step { command, progress, need_more, failed };

  Step read_inline(Argv& argv);
  std::size_t find_line_end(std::string_view ends);
  Step read_multibulk_count();
  Step read_bulk_count();
  Step read_bulks(Argv& argv);
  std::optional<std::size_t> find_header_end(std::string_view too_big_message);
  Step fail(std::string_view message);

  // Input: bytes before pos_ are consumed and dropped when the parser next runs dry.
  std::string buffer_;
  std::size_t pos_ = 0;
  // The bytes from pos_ up to scanned_ hold no line end: a search resumes at scanned_,
  // so a line that arrives one byte at a time is scanned once, not once per byte.
  std::size_t scanned_ = 0;

  // A multibulk request in progress (Redis's multibulklen and bulklen).
  std::int64_t bulks_missing_ = 0;  // bulk strings not yet read; 0 between requests
  std::int64_t bulk_length_ = -1;   // length of the next bulk; -1 before its "$n" line
  Argv args_;                       // the bulk strings read so far

  // Set once, on the first error; the parser stays failed.
  std::string error_reply_;
};

// Reply encoders: each appends one RESP2 value to out.
void append_simple_string(std::string& out, std::string_view text);  // +OK
void append_integer(std::string& out, std::int64_t value);           // :42
void append_bulk(std::string& out, std::string_view bytes);          // $3 foo
void append_null_bulk(std::string& out);                             // $-1
void append_array_header(std::string& out, std::size_t count);       // *2, then the items

// Appends an error reply. text starts with the error code: "ERR syntax error",
// "WRONGTYPE ...". Like Redis, CR and LF at either end of text are dropped and any
// inside become spaces, so a message quoting client bytes cannot break the protocol.
void append_error(std::string& out, std::string_view text);

}  // namespace spindle_kv
