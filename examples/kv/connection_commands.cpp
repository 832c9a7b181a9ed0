// The connection and server commands: PING, ECHO, HELLO, CLIENT, SELECT, COMMAND,
// CONFIG GET, TIME, INFO, SAVE, BGSAVE, QUIT. These are what client libraries send when
// they connect, and what they read to learn about the server.
//
// Explained in: docs/10-spindle-kv.md (commands for clients).
// Read next: examples/kv/info.hpp.
#include <sys/time.h>

#include <array>
#include <utility>

#include "command_support.hpp"
#include "glob.hpp"

namespace spindle_kv {
namespace {

// The Redis version whose replies spindle-kv reproduces; HELLO reports it.
constexpr std::string_view redis_version = "7.0.15";

// Redis's rule for client names and library fields: printable ASCII, no spaces.
bool is_valid_client_text(std::string_view text) {
  for (char c : text)
    if (c < '!' || c > '~') return false;
  return true;
}

// CLIENT SETNAME's check and effect (HELLO SETNAME too); false after an error reply.
bool set_client_name(Call& call, const std::string& name) {
  if (!is_valid_client_text(name)) {
    error(call, "ERR Client names cannot contain spaces, newlines or special characters.");
    return false;
  }
  call.client.name = name;
  return true;
}

// One line of CLIENT LIST and CLIENT INFO, with Redis's fields; the memory and buffer
// figures spindle-kv does not keep are 0.
std::string client_line(const Client& client, std::int64_t now_ms) {
  std::string line;
  auto field = [&](std::string_view name, std::string_view value) {
    line.append(name).append("=").append(value).append(" ");
  };
  field("id", std::to_string(client.id));
  field("addr", client.address);
  field("laddr", client.local_address);
  field("fd", std::to_string(client.fd));
  field("name", client.name);
  field("age", std::to_string(std::max<std::int64_t>(now_ms - client.connected_at_ms, 0) / 1000));
  field("idle", "0");
  field("flags", client.in_transaction ? "x" : "N");
  for (std::string_view zero : {"db", "sub", "psub", "ssub"}) field(zero, "0");
  field("multi", client.in_transaction ? std::to_string(client.queued.size()) : "-1");
  for (std::string_view zero : {"qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl",
                                "oll", "omem", "tot-mem"})
    field(zero, "0");
  field("events", "r");
  field("cmd", client.last_command);
  field("user", "default");
  field("redir", "-1");
  field("resp", "2");
  field("lib-name", client.library_name);
  line.append("lib-ver=").append(client.library_version).append("\n");
  return line;
}

// The configuration parameters CONFIG GET reports: the ones clients and tools read,
// with the values spindle-kv behaves by.
constexpr std::array<std::pair<std::string_view, std::string_view>, 9> config_parameters = {{
    {"appendonly", "no"},
    {"client-query-buffer-limit", "1073741824"},
    {"databases", "1"},
    {"maxclients", "10000"},
    {"maxmemory", "0"},
    {"maxmemory-policy", "noeviction"},
    {"proto-max-bulk-len", "536870912"},
    {"save", ""},
    {"timeout", "0"},
}};

// COMMAND INFO's entry for one command: name, arity, flags, first key, last key, key
// step, and empty ACL categories, tips, key specifications and subcommands.
void append_command_info(std::string& out, const Command& command) {
  append_array_header(out, 10);
  append_bulk(out, command.name);
  append_integer(out, command.arity);
  append_array_header(out, 0);
  append_integer(out, command.first_key);
  append_integer(out, command.last_key);
  append_integer(out, command.key_step);
  for (int empty = 0; empty < 4; ++empty) append_array_header(out, 0);
}

const Command* find_command(std::string_view name) {
  for (const Command& command : commands())
    if (equals_ignoring_case(name, command.name)) return &command;
  return nullptr;
}

}  // namespace

std::optional<int> parse_int_argument(Call& call, const std::string& text) {
  auto value = parse_integer(text);
  if (!value) {
    error(call, not_an_integer);
    return std::nullopt;
  }
  if (*value < INT32_MIN || *value > INT32_MAX) {
    error(call, "ERR value is out of range, value must between -2147483648 and 2147483647");
    return std::nullopt;
  }
  return static_cast<int>(*value);
}

Action unknown_subcommand(Call& call, std::string_view container) {
  return error(call, "ERR unknown subcommand '" +
                         std::string(c_string(call.argv[1]).substr(0, 128)) + "'. Try " +
                         std::string(container) + " HELP.");
}

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

// HELLO [protover [AUTH user password] [SETNAME name]]: RESP2 only; HELLO 3 gets
// Redis's NOPROTO error, which clients take as "speak RESP2". The only user is
// "default", which needs no password (any is accepted, as Redis's nopass user does).
Action hello(Call& call) {
  const Argv& argv = call.argv;
  if (argv.size() >= 2) {
    auto version = parse_integer(argv[1]);
    if (!version) return error(call, "ERR Protocol version is not an integer or out of range");
    if (*version != 2) return error(call, "NOPROTO unsupported protocol version");
  }
  const std::string* user = nullptr;
  const std::string* name = nullptr;
  for (std::size_t i = 2; i < argv.size(); ++i) {
    std::size_t more = argv.size() - 1 - i;
    if (equals_ignoring_case(argv[i], "auth") && more >= 2) {
      user = &argv[i + 1];
      i += 2;
    } else if (equals_ignoring_case(argv[i], "setname") && more >= 1) {
      name = &argv[++i];
    } else {
      return error(call,
                   "ERR Syntax error in HELLO option '" + std::string(c_string(argv[i])) + "'");
    }
  }
  if (user && *user != "default")
    return error(call, "WRONGPASS invalid username-password pair or user is disabled.");
  if (name && !set_client_name(call, *name)) return Action::reply;
  append_array_header(call.reply, 14);
  append_bulk(call.reply, "server");
  append_bulk(call.reply, "redis");
  append_bulk(call.reply, "version");
  append_bulk(call.reply, redis_version);
  append_bulk(call.reply, "proto");
  append_integer(call.reply, 2);
  append_bulk(call.reply, "id");
  append_integer(call.reply, call.client.id);
  append_bulk(call.reply, "mode");
  append_bulk(call.reply, "standalone");
  append_bulk(call.reply, "role");
  append_bulk(call.reply, "master");
  append_bulk(call.reply, "modules");
  append_array_header(call.reply, 0);
  return Action::reply;
}

// CLIENT ID | SETNAME | GETNAME | SETINFO | LIST | INFO. SETINFO is Redis 7.2's
// (7.0 does not have it), kept because newer client libraries send it on connecting.
Action client(Call& call) {
  const Argv& argv = call.argv;
  const std::string& sub = argv[1];
  auto arity = [&](std::size_t wanted, std::string_view name) {
    return argv.size() == wanted || (name == "list" && argv.size() >= wanted);
  };
  if (equals_ignoring_case(sub, "id")) {
    if (!arity(2, "id")) return arity_error(call, "client|id");
    return integer(call, call.client.id);
  }
  if (equals_ignoring_case(sub, "setname")) {
    if (!arity(3, "setname")) return arity_error(call, "client|setname");
    return set_client_name(call, argv[2]) ? ok(call) : Action::reply;
  }
  if (equals_ignoring_case(sub, "getname")) {
    if (!arity(2, "getname")) return arity_error(call, "client|getname");
    return bulk_or_null(call, call.client.name.empty() ? nullptr : &call.client.name);
  }
  if (equals_ignoring_case(sub, "setinfo")) {
    if (!arity(4, "setinfo")) return arity_error(call, "client|setinfo");
    bool is_name = equals_ignoring_case(argv[2], "lib-name");
    if (!is_name && !equals_ignoring_case(argv[2], "lib-ver"))
      return error(call, "ERR Unrecognized option '" + std::string(c_string(argv[2])) + "'");
    if (!is_valid_client_text(argv[3]))
      return error(call, "ERR " + std::string(is_name ? "lib-name" : "lib-ver") +
                             " cannot contain spaces, newlines or special characters.");
    (is_name ? call.client.library_name : call.client.library_version) = argv[3];
    return ok(call);
  }
  std::int64_t now = call.store.now();
  if (equals_ignoring_case(sub, "info")) {
    if (!arity(2, "info")) return arity_error(call, "client|info");
    append_bulk(call.reply, client_line(call.client, now));
    return Action::reply;
  }
  if (equals_ignoring_case(sub, "list")) {
    std::string lines;
    if (call.client.registry == nullptr) {
      lines = client_line(call.client, now);
    } else {
      for (const auto& [id, other] : *call.client.registry) lines += client_line(*other, now);
    }
    append_bulk(call.reply, lines);
    return Action::reply;
  }
  return unknown_subcommand(call, "CLIENT");
}

// SELECT: spindle-kv has one database (CONFIG GET databases says 1), so only 0 is
// accepted; the others get the error a Redis configured with "databases 1" gives.
Action select_db(Call& call) {
  std::optional<int> index = parse_int_argument(call, call.argv[1]);
  if (!index) return Action::reply;
  if (*index != 0) return error(call, "ERR DB index is out of range");
  return ok(call);
}

// COMMAND [COUNT | INFO name... | DOCS name... | LIST]: what client libraries read of
// the command table. DOCS gives each known command an empty map.
Action command(Call& call) {
  const Argv& argv = call.argv;
  std::span<const Command> table = commands();
  if (argv.size() == 1) {
    append_array_header(call.reply, table.size());
    for (const Command& c : table) append_command_info(call.reply, c);
    return Action::reply;
  }
  const std::string& sub = argv[1];
  if (equals_ignoring_case(sub, "count")) {
    if (argv.size() != 2) return arity_error(call, "command|count");
    return integer(call, static_cast<std::int64_t>(table.size()));
  }
  if (equals_ignoring_case(sub, "list")) {
    append_array_header(call.reply, table.size());
    for (const Command& c : table) append_bulk(call.reply, c.name);
    return Action::reply;
  }
  if (equals_ignoring_case(sub, "info")) {
    if (argv.size() == 2) {
      append_array_header(call.reply, table.size());
      for (const Command& c : table) append_command_info(call.reply, c);
      return Action::reply;
    }
    append_array_header(call.reply, argv.size() - 2);
    for (std::size_t i = 2; i < argv.size(); ++i) {
      const Command* found = find_command(argv[i]);
      found ? append_command_info(call.reply, *found) : append_null_bulk(call.reply);
    }
    return Action::reply;
  }
  if (equals_ignoring_case(sub, "docs")) {
    std::vector<const Command*> found;
    for (const Command& c : table) {
      bool wanted = argv.size() == 2;
      for (std::size_t i = 2; i < argv.size() && !wanted; ++i)
        wanted = equals_ignoring_case(argv[i], c.name);
      if (wanted) found.push_back(&c);
    }
    append_array_header(call.reply, 2 * found.size());
    for (const Command* c : found) {
      append_bulk(call.reply, c->name);
      append_array_header(call.reply, 0);
    }
    return Action::reply;
  }
  return unknown_subcommand(call, "COMMAND");
}

// CONFIG GET pattern...: the parameters matching any pattern, as name-value pairs.
Action config(Call& call) {
  const Argv& argv = call.argv;
  if (!equals_ignoring_case(argv[1], "get")) return unknown_subcommand(call, "CONFIG");
  if (argv.size() < 3) return arity_error(call, "config|get");
  std::vector<std::pair<std::string_view, std::string_view>> matched;
  for (const auto& parameter : config_parameters) {
    for (std::size_t i = 2; i < argv.size(); ++i) {
      if (GlobPattern(argv[i]).matches(parameter.first)) {
        matched.push_back(parameter);
        break;
      }
    }
  }
  append_array_header(call.reply, 2 * matched.size());
  for (const auto& [name, value] : matched) {
    append_bulk(call.reply, name);
    append_bulk(call.reply, value);
  }
  return Action::reply;
}

Action server_time(Call& call) {
  timeval now{};
  ::gettimeofday(&now, nullptr);
  append_array_header(call.reply, 2);
  append_bulk(call.reply, std::to_string(now.tv_sec));
  append_bulk(call.reply, std::to_string(now.tv_usec));
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
  if (call.argv.size() > 2 ||
      (call.argv.size() == 2 && !equals_ignoring_case(call.argv[1], "schedule")))
    return error(call, syntax_error);
  return Action::background_save;
}

Action quit(Call& call) {
  append_simple_string(call.reply, "OK");
  return Action::close_after_reply;
}

}  // namespace spindle_kv
