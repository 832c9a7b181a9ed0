// The keyspace commands: deleting, testing and listing keys, their expiry times,
// renaming and copying, SCAN, OBJECT ENCODING. The order of the checks inside each
// function is Redis's.
//
// Explained in: docs/10-spindle-kv.md (commands, the keyspace).
// Read next: examples/kv/connection_commands.cpp.
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "command_support.hpp"
#include "glob.hpp"

namespace spindle_kv {
namespace {

enum class Unit { seconds, milliseconds };
enum class Base { now, unix_epoch };

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
  if (conditions.gt && conditions.lt)
    return "ERR GT and LT options at the same time are not compatible";
  return "";
}

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (Redis's expireGenericCommand). Negative times
// are allowed; only overflow is an error. A time not in the future deletes the key.
Action expire_with(Call& call, Unit unit, Base base, std::string_view command) {
  ExpireConditions conditions;
  if (std::string problem = parse_expire_conditions(call.argv, conditions); !problem.empty())
    return error(call, problem);
  auto when = parse_integer(call.argv[2]);
  if (!when) return error(call, not_an_integer);
  std::string invalid = "ERR invalid expire time in '" + std::string(command) + "' command";
  std::int64_t deadline = *when;
  if (unit == Unit::seconds) {
    if (deadline > int64_max / 1000 || deadline < int64_min / 1000) return error(call, invalid);
    deadline *= 1000;
  }
  std::int64_t now = call.store.now();
  std::int64_t base_time = base == Base::now ? now : 0;
  if (deadline > int64_max - base_time) return error(call, invalid);
  deadline += base_time;

  const std::string& key = call.argv[1];
  const Entry* entry = call.store.find(key);
  if (entry == nullptr || !conditions.allow(entry->expires_at, deadline)) return integer(call, 0);
  if (deadline <= now)
    call.store.erase(key);  // a time already past deletes the key, as in Redis
  else
    call.store.set_expiry(key, deadline);
  return integer(call, 1);
}

// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for no key, -1 for no expiry time.
Action time_to_live(Call& call, Unit unit, Base base) {
  const Entry* entry = call.store.find(call.argv[1]);
  if (entry == nullptr) return integer(call, -2);
  if (entry->expires_at == no_expiry) return integer(call, -1);
  std::int64_t ms = entry->expires_at;
  if (base == Base::now) ms = std::max<std::int64_t>(ms - call.store.now(), 0);
  return integer(call, unit == Unit::milliseconds ? ms : (ms + 500) / 1000);  // nearest second
}

// RENAME and RENAMENX (Redis's renameGenericCommand): the value keeps its expiry time.
Action rename_with(Call& call, bool only_if_new) {
  const std::string& from = call.argv[1];
  const std::string& to = call.argv[2];
  if (call.store.find(from) == nullptr) return error(call, "ERR no such key");
  if (from == to) return only_if_new ? integer(call, 0) : ok(call);
  if (only_if_new && call.store.find(to) != nullptr) return integer(call, 0);
  call.store.rename(from, to);
  return only_if_new ? integer(call, 1) : ok(call);
}

// SCAN's cursor as Redis 7.0 reads it (parseScanCursorOrReply): whatever strtoul takes
// whole, up to a NUL byte, without a leading space. So "", "+1" and "-0" are cursors,
// and "-1" is the largest one, after every key.
std::optional<ScanCursor> parse_cursor(std::string_view text) {
  std::string bytes(c_string(text));
  errno = 0;
  char* end = nullptr;
  unsigned long value = std::strtoul(bytes.c_str(), &end, 10);
  if (std::isspace(static_cast<unsigned char>(bytes[0])) || *end != '\0' || errno == ERANGE)
    return std::nullopt;
  return value;
}

// What OBJECT ENCODING says of a string value (Redis's tryObjectEncoding).
std::string_view encoding_name(const Entry& entry) {
  constexpr std::size_t embstr_limit = 44;  // OBJ_ENCODING_EMBSTR_SIZE_LIMIT
  if (entry.encoding == StringEncoding::raw) return "raw";
  if (entry.encoding == StringEncoding::by_value && entry.value.size() <= 20 &&
      parse_integer(entry.value))
    return "int";
  return entry.value.size() <= embstr_limit ? "embstr" : "raw";
}

}  // namespace

Action del(Call& call) {
  std::int64_t deleted = 0;
  for (std::size_t i = 1; i < call.argv.size(); ++i) deleted += call.store.erase(call.argv[i]);
  return integer(call, deleted);
}

// EXISTS and TOUCH both count the live keys named (TOUCH's access time is not kept).
Action exists(Call& call) {
  std::int64_t found = 0;
  for (std::size_t i = 1; i < call.argv.size(); ++i)
    found += call.store.find(call.argv[i]) != nullptr;
  return integer(call, found);
}

Action touch(Call& call) { return exists(call); }

Action expire(Call& call) { return expire_with(call, Unit::seconds, Base::now, "expire"); }
Action pexpire(Call& call) { return expire_with(call, Unit::milliseconds, Base::now, "pexpire"); }
Action expireat(Call& call) {
  return expire_with(call, Unit::seconds, Base::unix_epoch, "expireat");
}
Action pexpireat(Call& call) {
  return expire_with(call, Unit::milliseconds, Base::unix_epoch, "pexpireat");
}

Action persist(Call& call) {
  if (call.store.find(call.argv[1]) == nullptr) return integer(call, 0);
  return integer(call, call.store.persist(call.argv[1]) ? 1 : 0);
}

Action ttl(Call& call) { return time_to_live(call, Unit::seconds, Base::now); }
Action pttl(Call& call) { return time_to_live(call, Unit::milliseconds, Base::now); }
Action expiretime(Call& call) { return time_to_live(call, Unit::seconds, Base::unix_epoch); }
Action pexpiretime(Call& call) { return time_to_live(call, Unit::milliseconds, Base::unix_epoch); }

Action rename_key(Call& call) { return rename_with(call, false); }
Action renamenx(Call& call) { return rename_with(call, true); }

// COPY source destination [DB db] [REPLACE]: spindle-kv has one database, so DB accepts
// only 0, with Redis's error for the others (as a Redis with "databases 1" answers).
Action copy_key(Call& call) {
  const Argv& argv = call.argv;
  bool replace = false;
  for (std::size_t i = 3; i < argv.size(); ++i) {
    if (equals_ignoring_case(argv[i], "replace")) {
      replace = true;
    } else if (equals_ignoring_case(argv[i], "db") && i + 1 < argv.size()) {
      std::optional<int> db = parse_int_argument(call, argv[++i]);
      if (!db) return Action::reply;
      if (*db != 0) return error(call, "ERR DB index is out of range");
    } else {
      return error(call, syntax_error);
    }
  }
  const std::string& from = argv[1];
  const std::string& to = argv[2];
  if (from == to) return error(call, "ERR source and destination objects are the same");
  const Entry* source = call.store.find(from);
  if (source == nullptr) return integer(call, 0);
  Entry copied = *source;
  if (call.store.find(to) != nullptr) {
    if (!replace) return integer(call, 0);
    call.store.erase(to);
  }
  call.store.set(to, std::move(copied.value), KeepExpiry::no, copied.encoding);
  if (copied.expires_at != no_expiry) call.store.set_expiry(to, copied.expires_at);
  return integer(call, 1);
}

Action type(Call& call) {
  append_simple_string(call.reply, call.store.find(call.argv[1]) ? "string" : "none");
  return Action::reply;
}

Action randomkey(Call& call) {
  std::optional<std::string> key = call.store.random_key();
  return bulk_or_null(call, key ? &*key : nullptr);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: the cursor is read first, then
// the options left to right; TYPE names filter by Redis's type names ("string" is the
// only one a key here can have, any other name filters every key out).
Action scan(Call& call) {
  const Argv& argv = call.argv;
  std::optional<ScanCursor> cursor = parse_cursor(argv[1]);
  if (!cursor) return error(call, "ERR invalid cursor");
  std::int64_t count = 10;
  const std::string* pattern = nullptr;
  const std::string* type_name = nullptr;
  for (std::size_t i = 2; i < argv.size(); i += 2) {
    bool has_value = i + 1 < argv.size();
    if (equals_ignoring_case(argv[i], "count") && has_value) {
      auto parsed = parse_integer(argv[i + 1]);
      if (!parsed) return error(call, not_an_integer);
      if (*parsed < 1) return error(call, syntax_error);
      count = *parsed;
    } else if (equals_ignoring_case(argv[i], "match") && has_value) {
      pattern = argv[i + 1] == "*" ? nullptr : &argv[i + 1];
    } else if (equals_ignoring_case(argv[i], "type") && has_value) {
      type_name = &argv[i + 1];
    } else {
      return error(call, syntax_error);
    }
  }
  std::optional<GlobPattern> glob;
  if (pattern) glob.emplace(*pattern);
  bool any_type = type_name == nullptr || equals_ignoring_case(c_string(*type_name), "string");
  std::vector<std::string> found;
  ScanCursor next = call.store.scan(*cursor, static_cast<std::size_t>(count),
                                    [&](std::string_view key, const Entry&) {
                                      if (any_type && (!glob || glob->matches(key)))
                                        found.emplace_back(key);
                                    });
  append_array_header(call.reply, 2);
  append_bulk(call.reply, std::to_string(next));
  append_array_header(call.reply, found.size());
  for (const std::string& key : found) append_bulk(call.reply, key);
  return Action::reply;
}

Action keys(Call& call) {
  std::vector<std::string> found = call.store.keys_matching(call.argv[1]);
  append_array_header(call.reply, found.size());
  for (const std::string& key : found) append_bulk(call.reply, key);
  return Action::reply;
}

// OBJECT ENCODING key; the other OBJECT subcommands are not kept (Redis's
// unknown-subcommand error).
Action object(Call& call) {
  if (!equals_ignoring_case(call.argv[1], "encoding")) return unknown_subcommand(call, "OBJECT");
  if (call.argv.size() != 3) return arity_error(call, "object|encoding");
  const Entry* entry = call.store.find(call.argv[2]);
  if (entry == nullptr) return bulk_or_null(call, nullptr);
  append_bulk(call.reply, encoding_name(*entry));
  return Action::reply;
}

// Like Redis, counts the keys held, stale ones not yet purged included.
Action dbsize(Call& call) { return integer(call, static_cast<std::int64_t>(call.store.size())); }

Action flushall(Call& call) {
  if (call.argv.size() > 2 ||
      (call.argv.size() == 2 && !equals_ignoring_case(call.argv[1], "sync") &&
       !equals_ignoring_case(call.argv[1], "async")))
    return error(call, syntax_error);
  call.store.clear();
  return ok(call);
}

}  // namespace spindle_kv
