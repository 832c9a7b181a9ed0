// What every command's code shares: the Call it runs in, the error replies, and the
// parsers of arguments several commands take. Internal to the command files
// (commands.cpp, string_commands.cpp, keyspace_commands.cpp, connection_commands.cpp).
//
// Explained in: docs/10-spindle-kv.md (commands).
// Read next: examples/kv/string_commands.cpp.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "client.hpp"
#include "commands.hpp"

namespace spindle_kv {

inline constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

inline constexpr std::string_view not_an_integer = "ERR value is not an integer or out of range";
inline constexpr std::string_view syntax_error = "ERR syntax error";

// One command being executed: its arguments, what it may use, where its reply goes.
struct Call {
  const Argv& argv;
  Store& store;
  Persistence& persistence;
  const ServerFacts& facts;
  Client& client;
  std::string& reply;
};

inline Action error(Call& call, std::string_view text) {
  append_error(call.reply, text);
  return Action::reply;
}

inline Action arity_error(Call& call, std::string_view name) {
  return error(call, "ERR wrong number of arguments for '" + std::string(name) + "' command");
}

inline Action ok(Call& call) {
  append_simple_string(call.reply, "OK");
  return Action::reply;
}

inline Action integer(Call& call, std::int64_t value) {
  append_integer(call.reply, value);
  return Action::reply;
}

// A bulk reply of the value, or the null bulk if there is none.
inline Action bulk_or_null(Call& call, const std::string* value) {
  value ? append_bulk(call.reply, *value) : append_null_bulk(call.reply);
  return Action::reply;
}

// Redis formats client bytes into messages with %s, which stops at a NUL byte.
inline std::string_view c_string(std::string_view bytes) {
  return bytes.substr(0, bytes.find('\0'));
}

// Redis's getIntFromObjectOrReply: a 32-bit integer, or nullopt after the error reply.
std::optional<int> parse_int_argument(Call& call, const std::string& text);

// Redis's "unknown subcommand" error for a container command (CLIENT, OBJECT, ...).
Action unknown_subcommand(Call& call, std::string_view container);

// The expiry options SET and GETEX share (Redis's parseExtendedStringArgumentsOrReply):
// EX, PX, EXAT and PXAT take a time; with SET also NX, XX, GET and KEEPTTL, with GETEX
// PERSIST. Later options may repeat earlier ones, but NX excludes XX, and KEEPTTL,
// PERSIST and the four expiry options exclude one another.
struct StringOptions {
  bool nx = false, xx = false, get = false, keep_ttl = false, persist = false;
  std::string_view expiry_kind;         // "ex", "px", "exat" or "pxat"; empty if none
  const std::string* expiry = nullptr;  // the argument after it
};
enum class OptionsOf { set, getex };
bool parse_string_options(const Argv& argv, std::size_t first, OptionsOf command,
                          StringOptions& options);

// The expiry time (unix ms) options ask for, or nullopt after appending Redis's error
// (command names the command in "invalid expire time in '...' command").
std::optional<std::int64_t> options_deadline(Call& call, const StringOptions& options,
                                             std::string_view command);

// The command functions, by file. Each is called with argv's arity already checked.
// string_commands.cpp
Action set(Call&);
Action setnx(Call&);
Action setex(Call&);
Action psetex(Call&);
Action get(Call&);
Action getset(Call&);
Action getdel(Call&);
Action getex(Call&);
Action append_value(Call&);
Action string_length(Call&);
Action getrange(Call&);
Action setrange(Call&);
Action incr(Call&);
Action decr(Call&);
Action incrby(Call&);
Action decrby(Call&);
Action incrbyfloat(Call&);
Action mget(Call&);
Action mset(Call&);
Action msetnx(Call&);
// lcs.cpp
Action lcs(Call&);
// keyspace_commands.cpp
Action del(Call&);
Action exists(Call&);
Action touch(Call&);
Action expire(Call&);
Action pexpire(Call&);
Action expireat(Call&);
Action pexpireat(Call&);
Action persist(Call&);
Action ttl(Call&);
Action pttl(Call&);
Action expiretime(Call&);
Action pexpiretime(Call&);
Action rename_key(Call&);
Action renamenx(Call&);
Action copy_key(Call&);
Action type(Call&);
Action randomkey(Call&);
Action scan(Call&);
Action keys(Call&);
Action object(Call&);
Action dbsize(Call&);
Action flushall(Call&);
// connection_commands.cpp
Action ping(Call&);
Action echo(Call&);
Action hello(Call&);
Action client(Call&);
Action select_db(Call&);
Action command(Call&);
Action config(Call&);
Action server_time(Call&);
Action info(Call&);
Action save(Call&);
Action bgsave(Call&);
Action quit(Call&);
// commands.cpp (transactions)
Action multi(Call&);
Action exec(Call&);
Action discard(Call&);
Action watch(Call&);
Action unwatch(Call&);

// The command table, for COMMAND COUNT, INFO and DOCS.
struct Command {
  std::string_view name;  // lower case
  int arity;              // argv.size() must equal it, or be at least -arity if negative
  Action (*run)(Call&);
  // Where the keys are, for COMMAND INFO: argv[first_key] to argv[last_key] (negative:
  // counted from the end) every key_step-th; all 0 for a command without keys.
  int first_key = 0, last_key = 0, key_step = 0;
  bool no_multi = false;  // refused inside MULTI (Redis's CMD_NO_MULTI)
};
std::span<const Command> commands();

}  // namespace spindle_kv
