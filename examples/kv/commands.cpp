// The commands: the contract is in commands.hpp. Each command is one function taking a
// Call; the table at the end maps names to them, with Redis's arities. The order of
// the checks inside each function is Redis's, because it decides which error a
// request with several mistakes gets.
//
// Explained in: docs/10-spindle-kv.md (commands).
// Read next: examples/kv/info.hpp.
#include "commands.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <limits>
#include <optional>

namespace spindle_kv {
namespace {

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

constexpr std::string_view not_an_integer = "ERR value is not an integer or out of range";
constexpr std::string_view syntax_error = "ERR syntax error";

// One command being executed: its arguments, what it may use, where its reply goes.
struct Call {
  const Argv& argv;
  Store& store;
  const Persistence& persistence;
  const ServerFacts& facts;
  std::string& reply;
};

Action error(Call& call, std::string_view text) {
  append_error(call.reply, text);
  return Action::reply;
}

Action arity_error(Call& call, std::string_view name) {
  return error(call, "ERR wrong number of arguments for '" + std::string(name) + "' command");
}

// Redis formats client bytes into messages with %s, which stops at a NUL byte.
std::string_view c_string(std::string_view bytes) { return bytes.substr(0, bytes.find('\0')); }

Action ping(Call& call) {
  if (call.argv.size() > 2) return arity_error(call, "ping");
  if (call.argv.size() == 1)
    append_simple_string(call.reply, "PONG");
  else
    append_bulk(call.reply, call.argv[1]);
  return Action::reply;
}

Action echo(Call& call) {
  append_bulk(call.reply, call.argv[1]);
  return Action::reply;
}

// SET's options, as Redis 7.0 accepts them: later options may repeat earlier ones,
// but NX excludes XX, and KEEPTTL and the four expiry options exclude one another.
struct SetOptions {
  bool nx = false, xx = false, get = false, keep_ttl = false;
  std::string_view expiry_kind;         // "ex", "px", "exat" or "pxat"; empty if none
  const std::string* expiry = nullptr;  // the argument after it
};

std::string_view expiry_option(std::string_view option) {
  for (std::string_view kind : {"ex", "px", "exat", "pxat"})
    if (equals_ignoring_case(option, kind)) return kind;
  return {};
}

bool parse_set_options(const Argv& argv, SetOptions& options) {
  for (std::size_t i = 3; i < argv.size(); ++i) {
    const std::string& option = argv[i];
    std::string_view kind = expiry_option(option);
    bool kind_allowed = options.expiry_kind.empty() || options.expiry_kind == kind;
    if (equals_ignoring_case(option, "nx") && !options.xx) {
      options.nx = true;
    } else if (equals_ignoring_case(option, "xx") && !options.nx) {
      options.xx = true;
    } else if (equals_ignoring_case(option, "get")) {
      options.get = true;
    } else if (equals_ignoring_case(option, "keepttl") && options.expiry_kind.empty()) {
      options.keep_ttl = true;
    } else if (!kind.empty() && kind_allowed && !options.keep_ttl && i + 1 < argv.size()) {
      options.expiry_kind = kind;
      options.expiry = &argv[++i];
    } else {
      return false;
    }
  }
  return true;
}

// SET's expiry as unix ms, or nullopt after appending the error reply.
std::optional<std::int64_t> set_deadline(Call& call, const SetOptions& options) {
  auto amount = parse_integer(*options.expiry);
  if (!amount) {
    error(call, not_an_integer);
    return std::nullopt;
  }
  bool in_seconds = options.expiry_kind == "ex" || options.expiry_kind == "exat";
  bool from_now = options.expiry_kind == "ex" || options.expiry_kind == "px";
  std::int64_t ms = *amount;
  std::int64_t now = call.store.now();
  if (ms <= 0 || (in_seconds && ms > int64_max / 1000) ||
      (from_now && (in_seconds ? ms * 1000 : ms) > int64_max - now)) {
    error(call, "ERR invalid expire time in 'set' command");
    return std::nullopt;
  }
  if (in_seconds) ms *= 1000;
  return from_now ? ms + now : ms;
}

Action set(Call& call) {
  SetOptions options;
  if (!parse_set_options(call.argv, options)) return error(call, syntax_error);
  std::optional<std::int64_t> deadline;
  if (options.expiry != nullptr) {
    deadline = set_deadline(call, options);
    if (!deadline) return Action::reply;
  }
  const std::string& key = call.argv[1];
  const Entry* old = call.store.find(key);
  if (options.get) old ? append_bulk(call.reply, old->value) : append_null_bulk(call.reply);
  if ((options.nx && old != nullptr) || (options.xx && old == nullptr)) {
    if (!options.get) append_null_bulk(call.reply);
    return Action::reply;
  }
  call.store.set(key, call.argv[2], options.keep_ttl ? KeepExpiry::yes : KeepExpiry::no);
  if (deadline) call.store.set_expiry(key, *deadline);
  if (!options.get) append_simple_string(call.reply, "OK");
  return Action::reply;
}

Action get(Call& call) {
  const Entry* entry = call.store.find(call.argv[1]);
  entry ? append_bulk(call.reply, entry->value) : append_null_bulk(call.reply);
  return Action::reply;
}

Action del(Call& call) {
  std::int64_t deleted = 0;
  for (std::size_t i = 1; i < call.argv.size(); ++i) deleted += call.store.erase(call.argv[i]);
  append_integer(call.reply, deleted);
  return Action::reply;
}

Action exists(Call& call) {
  std::int64_t found = 0;
  for (std::size_t i = 1; i < call.argv.size(); ++i) found += call.store.find(call.argv[i]) != nullptr;
  append_integer(call.reply, found);
  return Action::reply;
}

// INCR and its kin: the value must read as a 64-bit integer, and the sum must fit.
// The key keeps its expiry time.
Action add_to_integer(Call& call, std::int64_t delta) {
  const std::string& key = call.argv[1];
  std::int64_t value = 0;
  if (const Entry* entry = call.store.find(key)) {
    auto parsed = parse_integer(entry->value);
    if (!parsed) return error(call, not_an_integer);
    value = *parsed;
  }
  if ((delta < 0 && value < 0 && delta < int64_min - value) ||
      (delta > 0 && value > 0 && delta > int64_max - value))
    return error(call, "ERR increment or decrement would overflow");
  value += delta;
  call.store.set(key, std::to_string(value), KeepExpiry::yes);
  append_integer(call.reply, value);
  return Action::reply;
}

Action incr(Call& call) { return add_to_integer(call, 1); }
Action decr(Call& call) { return add_to_integer(call, -1); }

Action incrby(Call& call) {
  auto delta = parse_integer(call.argv[2]);
  if (!delta) return error(call, not_an_integer);
  return add_to_integer(call, *delta);
}

Action decrby(Call& call) {
  auto delta = parse_integer(call.argv[2]);
  if (!delta) return error(call, not_an_integer);
  if (*delta == int64_min) return error(call, "ERR decrement would overflow");
  return add_to_integer(call, -*delta);
}

Action mget(Call& call) {
  append_array_header(call.reply, call.argv.size() - 1);
  for (std::size_t i = 1; i < call.argv.size(); ++i) {
    const Entry* entry = call.store.find(call.argv[i]);
    entry ? append_bulk(call.reply, entry->value) : append_null_bulk(call.reply);
  }
  return Action::reply;
}

Action mset(Call& call) {
  if (call.argv.size() % 2 == 0) return arity_error(call, "mset");
  for (std::size_t i = 1; i < call.argv.size(); i += 2) call.store.set(call.argv[i], call.argv[i + 1]);
  append_simple_string(call.reply, "OK");
  return Action::reply;
}

// EXPIRE's conditions: NX (no expiry yet), XX (has one), GT and LT (compared with the
// current one, where "no expiry" counts as infinitely far).
struct ExpireConditions {
  bool nx = false, xx = false, gt = false, lt = false;

  bool allow(std::int64_t current, std::int64_t proposed) const {
    if (nx && current != no_expiry) return false;
    if (xx && current == no_expiry) return false;
    if (gt && (current == no_expiry || proposed <= current)) return false;
    if (lt && current != no_expiry && proposed >= current) return false;
    return true;
  }
};

// Parses EXPIRE's conditions; returns the error reply's text, or "" if they are valid.
std::string parse_expire_conditions(const Argv& argv, ExpireConditions& conditions) {
  for (std::size_t i = 3; i < argv.size(); ++i) {
    const std::string& option = argv[i];
    if (equals_ignoring_case(option, "nx"))
      conditions.nx = true;
    else if (equals_ignoring_case(option, "xx"))
      conditions.xx = true;
    else if (equals_ignoring_case(option, "gt"))
      conditions.gt = true;
    else if (equals_ignoring_case(option, "lt"))
      conditions.lt = true;
    else
      return "ERR Unsupported option " + std::string(c_string(option));
  }
  if (conditions.nx && (conditions.xx || conditions.gt || conditions.lt))
    return "ERR NX and XX, GT or LT options at the same time are not compatible";
  if (conditions.gt && conditions.lt) return "ERR GT and LT options at the same time are not compatible";
  return "";
}

Action expire(Call& call) {
  ExpireConditions conditions;
  if (std::string problem = parse_expire_conditions(call.argv, conditions); !problem.empty())
    return error(call, problem);
  auto seconds = parse_integer(call.argv[2]);
  if (!seconds) return error(call, not_an_integer);
  std::int64_t now = call.store.now();
  if (*seconds > int64_max / 1000 || *seconds < int64_min / 1000 || *seconds * 1000 > int64_max - now)
    return error(call, "ERR invalid expire time in 'expire' command");
  std::int64_t deadline = *seconds * 1000 + now;

  const std::string& key = call.argv[1];
  const Entry* entry = call.store.find(key);
  if (entry == nullptr || !conditions.allow(entry->expires_at, deadline)) {
    append_integer(call.reply, 0);
    return Action::reply;
  }
  if (deadline <= now)
    call.store.erase(key);  // a time already past deletes the key, as in Redis
  else
    call.store.set_expiry(key, deadline);
  append_integer(call.reply, 1);
  return Action::reply;
}

Action ttl(Call& call) {
  const Entry* entry = call.store.find(call.argv[1]);
  if (entry == nullptr) {
    append_integer(call.reply, -2);
  } else if (entry->expires_at == no_expiry) {
    append_integer(call.reply, -1);
  } else {
    std::int64_t ms = std::max<std::int64_t>(entry->expires_at - call.store.now(), 0);
    append_integer(call.reply, (ms + 500) / 1000);  // rounded to the nearest second
  }
  return Action::reply;
}

Action keys(Call& call) {
  std::vector<std::string> found = call.store.keys_matching(call.argv[1]);
  append_array_header(call.reply, found.size());
  for (const std::string& key : found) append_bulk(call.reply, key);
  return Action::reply;
}

// Like Redis, counts the keys held, stale ones not yet purged included.
Action dbsize(Call& call) {
  append_integer(call.reply, static_cast<std::int64_t>(call.store.size()));
  return Action::reply;
}

Action flushall(Call& call) {
  if (call.argv.size() > 2 || (call.argv.size() == 2 && !equals_ignoring_case(call.argv[1], "sync") &&
                               !equals_ignoring_case(call.argv[1], "async")))
    return error(call, syntax_error);
  call.store.clear();
  append_simple_string(call.reply, "OK");
  return Action::reply;
}

Action info(Call& call) {
  Argv sections(call.argv.begin() + 1, call.argv.end());
  append_bulk(call.reply, render_info(sections, call.store, call.persistence, call.facts));
  return Action::reply;
}

Action save(Call&) { return Action::save; }

Action bgsave(Call& call) {
  // BGSAVE SCHEDULE asks Redis to wait for another kind of child (an AOF rewrite);
  // spindle-kv has no other kind, so it starts at once.
  if (call.argv.size() > 2 || (call.argv.size() == 2 && !equals_ignoring_case(call.argv[1], "schedule")))
    return error(call, syntax_error);
  return Action::background_save;
}

Action quit(Call& call) {
  append_simple_string(call.reply, "OK");
  return Action::close_after_reply;
}

struct Command {
  std::string_view name;  // lower case
  int arity;              // argv.size() must equal it, or be at least -arity if negative
  Action (*run)(Call&);
};

constexpr std::array<Command, 21> command_table = {{
    {"ping", -1, ping},     {"echo", 2, echo},      {"set", -3, set},          {"get", 2, get},
    {"del", -2, del},       {"exists", -2, exists}, {"incr", 2, incr},         {"decr", 2, decr},
    {"incrby", 3, incrby},  {"decrby", 3, decrby},  {"mget", -2, mget},        {"mset", -3, mset},
    {"expire", -3, expire}, {"ttl", 2, ttl},        {"keys", 2, keys},         {"dbsize", 1, dbsize},
    {"flushall", -1, flushall}, {"info", -1, info}, {"save", 1, save},         {"bgsave", -1, bgsave},
    {"quit", -1, quit},
}};

Action unknown_command(Call& call) {
  std::string args;
  for (std::size_t i = 1; i < call.argv.size() && args.size() < 128; ++i) {
    std::size_t room = 128 - args.size();
    args.append("'").append(c_string(call.argv[i]).substr(0, room)).append("' ");
  }
  return error(call, "ERR unknown command '" + std::string(c_string(call.argv[0]).substr(0, 128)) +
                         "', with args beginning with: " + args);
}

}  // namespace

Action execute(const Argv& argv, Store& store, const Persistence& persistence,
               const ServerFacts& facts, std::string& reply) {
  assert(!argv.empty());
  Call call{argv, store, persistence, facts, reply};
  // An HTTP request sent to the port by a web page ("POST /", "Host: ...") is closed
  // on without a word, as Redis does against cross-protocol attacks.
  std::string_view name = c_string(argv[0]);
  if (equals_ignoring_case(name, "post") || equals_ignoring_case(name, "host:"))
    return Action::close_now;
  for (const Command& command : command_table) {
    if (!equals_ignoring_case(argv[0], command.name)) continue;
    int argc = static_cast<int>(std::min<std::size_t>(argv.size(), 1 << 30));
    if ((command.arity > 0 && argc != command.arity) || argc < -command.arity)
      return arity_error(call, command.name);
    return command.run(call);
  }
  return unknown_command(call);
}

}  // namespace spindle_kv
