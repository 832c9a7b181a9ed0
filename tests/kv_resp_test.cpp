// Tests of the RESP2 request parser, inline splitting and reply encoders (resp.hpp,
// inline.hpp): requests cut anywhere, pipelined, oversized and malformed.
//
// Explained in: docs/10-spindle-kv.md (the protocol).
// Read next: tests/kv_store_test.cpp.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "inline.hpp"
#include "resp.hpp"

namespace spindle_kv {
namespace {

using Status = RequestParser::Status;
using namespace std::string_literals;  // "a\0b"s keeps its NUL

// Feeds chunks one after the other, collecting every request; stops at an error.
struct Parsed {
  std::vector<Argv> requests;
  bool failed = false;
  std::string error_reply;
};

Parsed parse_chunks(const std::vector<std::string>& chunks) {
  RequestParser parser;
  Parsed parsed;
  Argv argv;
  for (const std::string& chunk : chunks) {
    parser.feed(chunk);
    Status status;
    while ((status = parser.next(argv)) == Status::command) parsed.requests.push_back(argv);
    if (status == Status::error) {
      parsed.failed = true;
      parsed.error_reply = parser.error_reply();
      break;
    }
  }
  return parsed;
}

Parsed parse(const std::string& bytes) { return parse_chunks({bytes}); }

std::vector<std::string> one_byte_chunks(const std::string& bytes) {
  std::vector<std::string> chunks;
  for (char c : bytes) chunks.emplace_back(1, c);
  return chunks;
}

const std::string pipeline =
    "*3\r\n$3\r\nSET\r\n$5\r\nk\r\ney\r\n$4\r\nv\0lu\r\n"  // CR, LF and NUL inside bulks
    "PING\r\n"
    "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
    "\r\n"                 // a blank inline line: skipped
    "*0\r\n"               // an empty multibulk: skipped
    "set  \"a b\"  'c'\n"  // inline, quoted, ended by LF alone
    "*1\r\n$4\r\nQUIT\r\n"s;

const std::vector<Argv> pipeline_requests = {
    {"SET", "k\r\ney", "v\0lu"s}, {"PING"}, {"ECHO", ""}, {"set", "a b", "c"}, {"QUIT"},
};

TEST_CASE("pipelined requests in one read come out one by one, in order") {
  Parsed parsed = parse(pipeline);
  CHECK_FALSE(parsed.failed);
  CHECK(parsed.requests == pipeline_requests);
}

// What if the network hands over a single byte at a time?
TEST_CASE("requests fed one byte at a time come out as if fed whole") {
  Parsed parsed = parse_chunks(one_byte_chunks(pipeline));
  CHECK_FALSE(parsed.failed);
  CHECK(parsed.requests == pipeline_requests);
}

TEST_CASE("requests cut at any point, or into random pieces, come out the same") {
  for (std::size_t cut = 0; cut <= pipeline.size(); ++cut) {
    Parsed parsed = parse_chunks({pipeline.substr(0, cut), pipeline.substr(cut)});
    CHECK(parsed.requests == pipeline_requests);
  }
  std::mt19937 random(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> chunks;
    for (std::size_t pos = 0; pos < pipeline.size();) {
      std::size_t size = std::uniform_int_distribution<std::size_t>(1, 9)(random);
      chunks.push_back(pipeline.substr(pos, size));
      pos += size;
    }
    CHECK(parse_chunks(chunks).requests == pipeline_requests);
  }
}

// What if the bytes are garbage? Whatever they are, parsing them must not depend on how
// the network cuts them, and must neither crash nor hang.
TEST_CASE("random bytes parse the same whether fed whole, byte by byte or in pieces") {
  const std::string pieces[] = {"*",
                                "$",
                                "2",
                                "-1",
                                "0",
                                "\r\n",
                                "\r",
                                "\n",
                                "PING",
                                " ",
                                "\"",
                                "'",
                                "\\",
                                "x",
                                "\0"s,
                                "*1\r\n$4\r\nECHO\r\n",
                                "$3\r\nabc\r\n",
                                "\t"};
  std::mt19937 random(1);
  for (int round = 0; round < 3000; ++round) {
    std::string bytes;
    for (int n = static_cast<int>(random() % 12); n >= 0; --n)
      bytes += pieces[random() % std::size(pieces)];
    Parsed whole = parse(bytes);
    Parsed by_byte = parse_chunks(one_byte_chunks(bytes));
    std::size_t cut = random() % (bytes.size() + 1);
    Parsed in_two = parse_chunks({bytes.substr(0, cut), bytes.substr(cut)});
    INFO("bytes: " << bytes);
    CHECK(by_byte.requests == whole.requests);
    CHECK(by_byte.error_reply == whole.error_reply);
    CHECK(in_two.requests == whole.requests);
    CHECK(in_two.error_reply == whole.error_reply);
  }
}

TEST_CASE("a request is not handed out until its last byte has arrived") {
  const std::string request = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  RequestParser parser;
  Argv argv;
  for (std::size_t i = 0; i + 1 < request.size(); ++i) {
    parser.feed(request.substr(i, 1));
    REQUIRE(parser.next(argv) == Status::need_more);
  }
  parser.feed(request.substr(request.size() - 1));
  REQUIRE(parser.next(argv) == Status::command);
  CHECK(argv == Argv{"GET", "k"});
  CHECK(parser.next(argv) == Status::need_more);
  CHECK(parser.buffered() == 0);
}

TEST_CASE("requests before a protocol error are handed out, then the error") {
  Parsed parsed = parse("PING\r\nECHO hi\r\n*1\r\nX\r\nPING\r\n");
  CHECK(parsed.requests == std::vector<Argv>{{"PING"}, {"ECHO", "hi"}});
  CHECK(parsed.failed);
  CHECK(parsed.error_reply == "-ERR Protocol error: expected '$', got 'X'\r\n");
}

TEST_CASE("after an error the parser stays failed and ignores what follows") {
  RequestParser parser;
  Argv argv;
  parser.feed("*x\r\n");
  CHECK(parser.next(argv) == Status::error);
  parser.feed("PING\r\n");
  CHECK(parser.next(argv) == Status::error);
  CHECK(parser.error_reply() == "-ERR Protocol error: invalid multibulk length\r\n");
}

TEST_CASE("malformed requests get Redis's protocol error replies") {
  CHECK(parse("*abc\r\n").error_reply == "-ERR Protocol error: invalid multibulk length\r\n");
  CHECK(parse("*01\r\n").error_reply == "-ERR Protocol error: invalid multibulk length\r\n");
  CHECK(parse("*1\r\n$-1\r\n").error_reply == "-ERR Protocol error: invalid bulk length\r\n");
  CHECK(parse("*1\r\n$1x\r\n").error_reply == "-ERR Protocol error: invalid bulk length\r\n");
  CHECK(parse("*1\r\n\r\n").error_reply == "-ERR Protocol error: expected '$', got ' '\r\n");
  CHECK(parse("ECHO \"open\r\n").error_reply ==
        "-ERR Protocol error: unbalanced quotes in request\r\n");
  CHECK(parse("ECHO 'a'b\r\n").error_reply ==
        "-ERR Protocol error: unbalanced quotes in request\r\n");
}

TEST_CASE("a bulk of up to 512 MB is awaited, a longer one refused") {
  Parsed at_limit = parse("*1\r\n$536870912\r\nabc");
  CHECK_FALSE(at_limit.failed);
  CHECK(at_limit.requests.empty());
  CHECK(parse("*1\r\n$536870913\r\n").error_reply ==
        "-ERR Protocol error: invalid bulk length\r\n");
}

TEST_CASE("a multibulk count of up to INT_MAX is awaited, a larger one refused") {
  CHECK_FALSE(parse("*2147483647\r\n").failed);
  CHECK(parse("*2147483648\r\n").error_reply ==
        "-ERR Protocol error: invalid multibulk length\r\n");
}

TEST_CASE("an inline line over 64 KiB is refused, even once its newline has arrived") {
  std::string at_limit = "ECHO " + std::string(max_inline_length - 6, 'a');  // 64 KiB with its CR
  Parsed accepted = parse(at_limit + "\r\n");
  REQUIRE(accepted.requests.size() == 1);
  CHECK(accepted.requests[0][1].size() == max_inline_length - 6);

  CHECK(parse(at_limit + "b\r\n").error_reply == "-ERR Protocol error: too big inline request\r\n");
  CHECK_FALSE(parse(at_limit + "b").failed);  // its LF may still come
  CHECK(parse_chunks(one_byte_chunks(at_limit + "bc")).failed);
}

TEST_CASE("a count line still without CR after 64 KiB is refused") {
  std::string digits(max_inline_length, '1');
  CHECK_FALSE(parse("*" + digits.substr(1)).failed);
  CHECK(parse("*" + digits).error_reply == "-ERR Protocol error: too big mbulk count string\r\n");
  CHECK(parse("*1\r\n$" + digits).error_reply ==
        "-ERR Protocol error: too big bulk count string\r\n");
}

// Redis finds line ends with strchr(), which stops at a NUL byte.
TEST_CASE("a NUL byte hides an inline newline, as it does in Redis") {
  Parsed parsed = parse("PING\0x\r\n"s);
  CHECK_FALSE(parsed.failed);
  CHECK(parsed.requests.empty());
}

TEST_CASE("like Redis, the two bytes after a count or a bulk are skipped unread") {
  Parsed parsed = parse("*1\rX$4\r\nPINGxyPING\r\n");
  CHECK(parsed.requests == std::vector<Argv>{{"PING"}, {"PING"}});
}

TEST_CASE("inline arguments follow redis-cli's quoting rules") {
  Argv argv;
  REQUIRE(split_inline_request(R"(SET "a b" 'c d' e"f g"h)", argv) == false);
  REQUIRE(split_inline_request(R"(  SET "a b"  'c d'   e"f g" )", argv));
  CHECK(argv == Argv{"SET", "a b", "c d", "ef g"});
  REQUIRE(split_inline_request(R"("\x41\x4a\x4G\n\r\t\b\a\"\\\z" 'it\'s\n')", argv));
  CHECK(argv == Argv{"AJx4G\n\r\t\b\a\"\\z", "it's\\n"});
  REQUIRE(split_inline_request("a\\nb\vc \t\f", argv));
  CHECK(argv == Argv{"a\\nb\vc"});
  REQUIRE(split_inline_request(" \t ", argv));
  CHECK(argv.empty());
  CHECK_FALSE(split_inline_request("\"closed\"too soon", argv));
  CHECK_FALSE(split_inline_request("'never closed", argv));
  CHECK_FALSE(split_inline_request("\"ends in a backslash\\", argv));
}

TEST_CASE("integers are read the way Redis reads them, strictly") {
  CHECK(parse_integer("0") == 0);
  CHECK(parse_integer("-15") == -15);
  CHECK(parse_integer("9223372036854775807") == INT64_MAX);
  CHECK(parse_integer("-9223372036854775808") == INT64_MIN);
  for (const char* bad : {"", "-", "+1", "01", "-0", " 1", "1 ", "1.0", "0x10",
                          "9223372036854775808", "-9223372036854775809", "99999999999999999999"})
    CHECK_MESSAGE(!parse_integer(bad).has_value(), bad);
}

TEST_CASE("replies are encoded as RESP2") {
  std::string out;
  append_simple_string(out, "OK");
  append_integer(out, -42);
  append_bulk(out, "a\0\r\n"s);
  append_null_bulk(out);
  append_array_header(out, 2);
  CHECK(out == "+OK\r\n:-42\r\n$4\r\na\0\r\n\r\n$-1\r\n*2\r\n"s);
}

TEST_CASE("an error reply cannot break the protocol with CR or LF") {
  std::string out;
  append_error(out, "ERR bad\r\nthing\n");
  CHECK(out == "-ERR bad  thing\r\n");
}

}  // namespace
}  // namespace spindle_kv
