// The string commands: SET and its variants, the GETs, APPEND, ranges, counters, MSET.
// The order of the checks inside each function is Redis's, because it decides which
// error a request with several mistakes gets.
//
// Explained in: docs/10-spindle-kv.md (commands).
// Read next: examples/kv/keyspace_commands.cpp.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "command_support.hpp"

namespace spindle_kv {
namespace {

constexpr std::string_view too_long =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

std::string_view expiry_option(std::string_view option) {
  for (std::string_view kind : {"ex", "px", "exat", "pxat"})
    if (equals_ignoring_case(option, kind)) return kind;
  return {};
}

// Redis's checkStringLength: may a string of size bytes grow by more bytes?
bool fits_string_limit(std::int64_t size, std::int64_t more) {
  return more <= max_bulk_length && size <= max_bulk_length - more;
}

// SET's expiry (when given) as unix ms in deadline; false after an error reply.
bool set_expiry_of(Call& call, const StringOptions& options, std::string_view command,
                   std::optional<std::int64_t>& deadline) {
  if (options.expiry == nullptr) return true;
  deadline = options_deadline(call, options, command);
  return deadline.has_value();
}

// SET, SETNX, SETEX, PSETEX, GETSET: store value under key as the options say.
Action set_with(Call& call, const StringOptions& options, std::string_view command,
                const std::string& value) {
  std::optional<std::int64_t> deadline;
  if (!set_expiry_of(call, options, command, deadline)) return Action::reply;
  const std::string& key = call.argv[1];
  const Entry* old = call.store.find(key);
  if (options.get) bulk_or_null(call, old ? &old->value : nullptr);
  if ((options.nx && old != nullptr) || (options.xx && old == nullptr)) {
    if (!options.get) append_null_bulk(call.reply);
    return Action::reply;
  }
  call.store.set(key, value, options.keep_ttl ? KeepExpiry::yes : KeepExpiry::no);
  if (deadline) call.store.set_expiry(key, *deadline);
  if (!options.get) append_simple_string(call.reply, "OK");
  return Action::reply;
}

// Redis's string2ld: the whole text must read as a long double (strtold; a NUL byte
// inside is not read past, so it fails), with no leading space, no NaN, and no
// overflow or underflow.
std::optional<long double> parse_long_double(const std::string& text) {
  if (text.empty() || text.size() >= 5 * 1024) return std::nullopt;
  const char* start = text.c_str();
  char* end = nullptr;
  errno = 0;
  long double value = std::strtold(start, &end);
  if (std::isspace(static_cast<unsigned char>(start[0])) || end != start + text.size() ||
      (errno == ERANGE && (value == HUGE_VALL || value == -HUGE_VALL || value == 0)) ||
      std::isnan(value))
    return std::nullopt;
  return value;
}

// Redis's ld2string in its human form: 17 decimals, trailing zeros (and a bare point)
// dropped, "-0" written "0".
std::string long_double_text(long double value) {
  char text[5 * 1024 + 32];
  int length = std::snprintf(text, sizeof text, "%.17Lf", value);
  std::string out(text, static_cast<std::size_t>(length));
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
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
  return integer(call, value);
}

}  // namespace

bool parse_string_options(const Argv& argv, std::size_t first, OptionsOf command,
                          StringOptions& options) {
  bool is_set = command == OptionsOf::set;
  for (std::size_t i = first; i < argv.size(); ++i) {
    const std::string& option = argv[i];
    std::string_view kind = expiry_option(option);
    bool kind_allowed = options.expiry_kind.empty() || options.expiry_kind == kind;
    if (is_set && equals_ignoring_case(option, "nx") && !options.xx) {
      options.nx = true;
    } else if (is_set && equals_ignoring_case(option, "xx") && !options.nx) {
      options.xx = true;
    } else if (is_set && equals_ignoring_case(option, "get")) {
      options.get = true;
    } else if (is_set && equals_ignoring_case(option, "keepttl") && options.expiry_kind.empty()) {
      options.keep_ttl = true;
    } else if (!is_set && equals_ignoring_case(option, "persist") && options.expiry_kind.empty()) {
      options.persist = true;
    } else if (!kind.empty() && kind_allowed && !options.keep_ttl && !options.persist &&
               i + 1 < argv.size()) {
      options.expiry_kind = kind;
      options.expiry = &argv[++i];
    } else {
      return false;
    }
  }
  return true;
}

std::optional<std::int64_t> options_deadline(Call& call, const StringOptions& options,
                                             std::string_view command) {
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
    error(call, "ERR invalid expire time in '" + std::string(command) + "' command");
    return std::nullopt;
  }
  if (in_seconds) ms *= 1000;
  return from_now ? ms + now : ms;
}

Action set(Call& call) {
  StringOptions options;
  if (!parse_string_options(call.argv, 3, OptionsOf::set, options))
    return error(call, syntax_error);
  return set_with(call, options, "set", call.argv[2]);
}

Action setnx(Call& call) {
  if (call.store.find(call.argv[1]) != nullptr) return integer(call, 0);
  call.store.set(call.argv[1], call.argv[2]);
  return integer(call, 1);
}

Action setex(Call& call) {
  StringOptions options{.expiry_kind = "ex", .expiry = &call.argv[2]};
  return set_with(call, options, "setex", call.argv[3]);
}

Action psetex(Call& call) {
  StringOptions options{.expiry_kind = "px", .expiry = &call.argv[2]};
  return set_with(call, options, "psetex", call.argv[3]);
}

Action get(Call& call) {
  const Entry* entry = call.store.find(call.argv[1]);
  return bulk_or_null(call, entry ? &entry->value : nullptr);
}

Action getset(Call& call) {
  StringOptions options;
  options.get = true;
  return set_with(call, options, "getset", call.argv[2]);
}

Action getdel(Call& call) {
  const Entry* entry = call.store.find(call.argv[1]);
  if (entry == nullptr) return bulk_or_null(call, nullptr);
  append_bulk(call.reply, entry->value);
  call.store.erase(call.argv[1]);
  return Action::reply;
}

// GETEX: a missing key answers nil before the expiry time is even read, as in Redis.
Action getex(Call& call) {
  StringOptions options;
  if (!parse_string_options(call.argv, 2, OptionsOf::getex, options))
    return error(call, syntax_error);
  const std::string& key = call.argv[1];
  const Entry* entry = call.store.find(key);
  if (entry == nullptr) return bulk_or_null(call, nullptr);
  std::optional<std::int64_t> deadline;
  if (!set_expiry_of(call, options, "getex", deadline)) return Action::reply;
  append_bulk(call.reply, entry->value);
  if (deadline && *deadline <= call.store.now())
    call.store.erase(key);  // EXAT or PXAT already past
  else if (deadline)
    call.store.set_expiry(key, *deadline);
  else if (options.persist)
    call.store.persist(key);
  return Action::reply;
}

// APPEND: a new key takes the value as SET would; an existing one grows in place.
Action append_value(Call& call) {
  const std::string& key = call.argv[1];
  const std::string& more = call.argv[2];
  const Entry* entry = call.store.find(key);
  if (entry == nullptr) {
    call.store.set(key, more);
    return integer(call, static_cast<std::int64_t>(more.size()));
  }
  if (!fits_string_limit(static_cast<std::int64_t>(entry->value.size()),
                         static_cast<std::int64_t>(more.size())))
    return error(call, too_long);
  std::size_t length = 0;
  call.store.update(key, [&](std::string& value) {
    value += more;
    length = value.size();
  });
  return integer(call, static_cast<std::int64_t>(length));
}

Action string_length(Call& call) {
  const Entry* entry = call.store.find(call.argv[1]);
  return integer(call, entry ? static_cast<std::int64_t>(entry->value.size()) : 0);
}

// GETRANGE: negative indexes count from the end; the range is clipped to the value.
Action getrange(Call& call) {
  auto start = parse_integer(call.argv[2]);
  if (!start) return error(call, not_an_integer);
  auto end = parse_integer(call.argv[3]);
  if (!end) return error(call, not_an_integer);
  const Entry* entry = call.store.find(call.argv[1]);
  std::string_view value = entry ? std::string_view(entry->value) : std::string_view();
  auto length = static_cast<std::int64_t>(value.size());
  std::int64_t from = *start, to = *end;
  if (from < 0 && to < 0 && from > to) {
    append_bulk(call.reply, "");
    return Action::reply;
  }
  if (from < 0) from = std::max<std::int64_t>(length + from, 0);
  if (to < 0) to = std::max<std::int64_t>(length + to, 0);
  if (to >= length) to = length - 1;
  if (from > to || length == 0) {
    append_bulk(call.reply, "");
  } else {
    append_bulk(call.reply, value.substr(static_cast<std::size_t>(from),
                                         static_cast<std::size_t>(to - from + 1)));
  }
  return Action::reply;
}

// SETRANGE: writes the bytes at offset, padding with zero bytes; an empty value only
// reports the length (and makes no key).
Action setrange(Call& call) {
  auto offset = parse_integer(call.argv[2]);
  if (!offset) return error(call, not_an_integer);
  if (*offset < 0) return error(call, "ERR offset is out of range");
  const std::string& key = call.argv[1];
  const std::string& bytes = call.argv[3];
  const Entry* entry = call.store.find(key);
  std::int64_t length = entry ? static_cast<std::int64_t>(entry->value.size()) : 0;
  if (bytes.empty()) return integer(call, length);
  if (!fits_string_limit(*offset, static_cast<std::int64_t>(bytes.size())))
    return error(call, too_long);
  auto at = static_cast<std::size_t>(*offset);
  call.store.update(key, [&](std::string& value) {
    if (value.size() < at + bytes.size()) value.resize(at + bytes.size(), '\0');
    value.replace(at, bytes.size(), bytes);
    length = static_cast<std::int64_t>(value.size());
  });
  return integer(call, length);
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

// INCRBYFLOAT: long double arithmetic, as Redis's, written back in its human form.
Action incrbyfloat(Call& call) {
  const std::string& key = call.argv[1];
  const Entry* entry = call.store.find(key);
  std::optional<long double> value = entry ? parse_long_double(entry->value) : 0.0L;
  std::optional<long double> increment = parse_long_double(call.argv[2]);
  if (!value || !increment) return error(call, "ERR value is not a valid float");
  long double sum = *value + *increment;
  if (std::isnan(sum) || std::isinf(sum))
    return error(call, "ERR increment would produce NaN or Infinity");
  std::string text = long_double_text(sum);
  append_bulk(call.reply, text);
  call.store.set(key, std::move(text), KeepExpiry::yes, StringEncoding::not_int);
  return Action::reply;
}

Action mget(Call& call) {
  append_array_header(call.reply, call.argv.size() - 1);
  for (std::size_t i = 1; i < call.argv.size(); ++i) {
    const Entry* entry = call.store.find(call.argv[i]);
    bulk_or_null(call, entry ? &entry->value : nullptr);
  }
  return Action::reply;
}

Action mset(Call& call) {
  if (call.argv.size() % 2 == 0) return arity_error(call, "mset");
  for (std::size_t i = 1; i < call.argv.size(); i += 2)
    call.store.set(call.argv[i], call.argv[i + 1]);
  return ok(call);
}

Action msetnx(Call& call) {
  if (call.argv.size() % 2 == 0) return arity_error(call, "msetnx");
  for (std::size_t i = 1; i < call.argv.size(); i += 2)
    if (call.store.find(call.argv[i]) != nullptr) return integer(call, 0);
  for (std::size_t i = 1; i < call.argv.size(); i += 2)
    call.store.set(call.argv[i], call.argv[i + 1]);
  return integer(call, 1);
}

}  // namespace spindle_kv
