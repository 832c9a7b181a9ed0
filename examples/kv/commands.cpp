// The commands: the contract is in commands.hpp. The table below maps names to the
// command functions (string_commands.cpp, keyspace_commands.cpp,
// connection_commands.cpp) with Redis's arities; execute() checks a request against
// it, queues it if its client is in a transaction, and runs it. The transaction
// commands themselves (MULTI, EXEC, DISCARD, WATCH, UNWATCH) are here, since EXEC runs
// the queued requests through the same table.
//
// Explained in: docs/10-spindle-kv.md (commands, transactions).
// Read next: examples/kv/command_support.hpp.
#include "commands.hpp"

#include <algorithm>
#include <array>
#include <cassert>

#include "command_support.hpp"

namespace spindle_kv {
namespace {

// Key positions (COMMAND INFO): one key at argv[1]; every argument a key; key pairs.
constexpr int k1 = 1;

constexpr std::array command_table = {
    // strings
    Command{"get", 2, get, k1, k1, 1},
    Command{"set", -3, set, k1, k1, 1},
    Command{"setnx", 3, setnx, k1, k1, 1},
    Command{"setex", 4, setex, k1, k1, 1},
    Command{"psetex", 4, psetex, k1, k1, 1},
    Command{"getset", 3, getset, k1, k1, 1},
    Command{"getdel", 2, getdel, k1, k1, 1},
    Command{"getex", -2, getex, k1, k1, 1},
    Command{"append", 3, append_value, k1, k1, 1},
    Command{"strlen", 2, string_length, k1, k1, 1},
    Command{"getrange", 4, getrange, k1, k1, 1},
    Command{"setrange", 4, setrange, k1, k1, 1},
    Command{"incr", 2, incr, k1, k1, 1},
    Command{"decr", 2, decr, k1, k1, 1},
    Command{"incrby", 3, incrby, k1, k1, 1},
    Command{"decrby", 3, decrby, k1, k1, 1},
    Command{"incrbyfloat", 3, incrbyfloat, k1, k1, 1},
    Command{"mget", -2, mget, k1, -1, 1},
    Command{"mset", -3, mset, k1, -1, 2},
    Command{"msetnx", -3, msetnx, k1, -1, 2},
    Command{"lcs", -3, lcs, k1, 2, 1},
    // keyspace
    Command{"del", -2, del, k1, -1, 1},
    Command{"unlink", -2, del, k1, -1, 1},
    Command{"exists", -2, exists, k1, -1, 1},
    Command{"touch", -2, touch, k1, -1, 1},
    Command{"expire", -3, expire, k1, k1, 1},
    Command{"pexpire", -3, pexpire, k1, k1, 1},
    Command{"expireat", -3, expireat, k1, k1, 1},
    Command{"pexpireat", -3, pexpireat, k1, k1, 1},
    Command{"persist", 2, persist, k1, k1, 1},
    Command{"ttl", 2, ttl, k1, k1, 1},
    Command{"pttl", 2, pttl, k1, k1, 1},
    Command{"expiretime", 2, expiretime, k1, k1, 1},
    Command{"pexpiretime", 2, pexpiretime, k1, k1, 1},
    Command{"rename", 3, rename_key, k1, 2, 1},
    Command{"renamenx", 3, renamenx, k1, 2, 1},
    Command{"copy", -3, copy_key, k1, 2, 1},
    Command{"type", 2, type, k1, k1, 1},
    Command{"randomkey", 1, randomkey},
    Command{"scan", -2, scan},
    Command{"keys", 2, keys},
    Command{"object", -2, object, 2, 2, 1},
    Command{"dbsize", 1, dbsize},
    Command{"flushall", -1, flushall},
    // connection and server
    Command{"ping", -1, ping},
    Command{"echo", 2, echo},
    Command{"hello", -1, hello},
    Command{"client", -2, client},
    Command{"select", 2, select_db},
    Command{"command", -1, command},
    Command{"config", -2, config},
    Command{"time", 1, server_time},
    Command{"info", -1, info},
    Command{"save", 1, save, 0, 0, 0, true},
    Command{"bgsave", -1, bgsave},
    Command{"quit", -1, quit},
    // transactions
    Command{"multi", 1, multi},
    Command{"exec", 1, exec},
    Command{"discard", 1, discard},
    Command{"watch", -2, watch, k1, -1, 1},
    Command{"unwatch", 1, unwatch},
};

const Command* find(std::string_view name) {
  for (const Command& command : command_table)
    if (equals_ignoring_case(name, command.name)) return &command;
  return nullptr;
}

bool arity_fits(const Command& command, std::size_t size) {
  int argc = static_cast<int>(std::min<std::size_t>(size, 1 << 30));
  return command.arity > 0 ? argc == command.arity : argc >= -command.arity;
}

Action unknown_command(Call& call) {
  std::string args;
  for (std::size_t i = 1; i < call.argv.size() && args.size() < 128; ++i) {
    std::size_t room = 128 - args.size();
    args.append("'").append(c_string(call.argv[i]).substr(0, room)).append("' ");
  }
  return error(call, "ERR unknown command '" + std::string(c_string(call.argv[0]).substr(0, 128)) +
                         "', with args beginning with: " + args);
}

// What a client in a transaction may still run at once instead of queueing.
bool runs_inside_transaction(const Command& command) {
  for (std::string_view name : {"exec", "discard", "multi", "watch", "quit"})
    if (command.name == name) return true;
  return false;
}

// Has any watched key changed since WATCH (or expired: a stale key is deleted by the
// lookup, which moves its version on)?
bool watched_keys_changed(Call& call) {
  for (const auto& [key, version] : call.client.watched) {
    call.store.find(key);
    if (call.store.version(key) != version) return true;
  }
  return false;
}

}  // namespace

std::span<const Command> commands() { return command_table; }

Action multi(Call& call) {
  if (call.client.in_transaction) return error(call, "ERR MULTI calls can not be nested");
  call.client.in_transaction = true;
  return ok(call);
}

// EXEC runs the queued requests one after the other with nothing in between: the
// caller holds what makes a request atomic (the server's mutex) for the whole EXEC.
// A BGSAVE among them forks from here; the others only reply.
Action exec(Call& call) {
  Client& client = call.client;
  if (!client.in_transaction) return error(call, "ERR EXEC without MULTI");
  bool changed = watched_keys_changed(call);
  std::vector<Argv> queued = std::move(client.queued);
  bool refused = client.transaction_refused;
  client.end_transaction();
  client.unwatch_all(call.store);
  if (refused) return error(call, "EXECABORT Transaction discarded because of previous errors.");
  if (changed) {
    call.reply += "*-1\r\n";
    return Action::reply;
  }
  append_array_header(call.reply, queued.size());
  for (const Argv& argv : queued) {
    Call inner{argv, call.store, call.persistence, call.facts, client, call.reply};
    const Command* command = find(argv[0]);
    client.last_command = command->name;
    if (command->run(inner) == Action::background_save)
      call.persistence.start_background_save(call.store, call.reply);
  }
  return Action::reply;
}

Action discard(Call& call) {
  if (!call.client.in_transaction) return error(call, "ERR DISCARD without MULTI");
  call.client.end_transaction();
  call.client.unwatch_all(call.store);
  return ok(call);
}

Action watch(Call& call) {
  Client& client = call.client;
  if (client.in_transaction) return error(call, "ERR WATCH inside MULTI is not allowed");
  for (std::size_t i = 1; i < call.argv.size(); ++i) {
    const std::string& key = call.argv[i];
    auto same = [&](const auto& watched) { return watched.first == key; };
    if (std::any_of(client.watched.begin(), client.watched.end(), same)) continue;
    client.watched.emplace_back(key, call.store.watch(key));
  }
  return ok(call);
}

Action unwatch(Call& call) {
  call.client.unwatch_all(call.store);
  return ok(call);
}

Action execute(const Argv& argv, Store& store, Persistence& persistence, const ServerFacts& facts,
               Client& client, std::string& reply) {
  assert(!argv.empty());
  Call call{argv, store, persistence, facts, client, reply};
  // An HTTP request sent to the port by a web page ("POST /", "Host: ...") is closed
  // on without a word, as Redis does against cross-protocol attacks.
  std::string_view name = c_string(argv[0]);
  if (equals_ignoring_case(name, "post") || equals_ignoring_case(name, "host:"))
    return Action::close_now;
  const Command* command = find(argv[0]);
  if (command == nullptr) {
    if (client.in_transaction) client.transaction_refused = true;
    return unknown_command(call);
  }
  if (!arity_fits(*command, argv.size())) {
    if (command->run == exec) {  // Redis aborts the transaction, and says why
      client.end_transaction();
      client.unwatch_all(store);
      return error(call,
                   "EXECABORT Transaction discarded because of: wrong number of arguments "
                   "for 'exec' command");
    }
    if (client.in_transaction) client.transaction_refused = true;
    return arity_error(call, command->name);
  }
  if (client.in_transaction && !runs_inside_transaction(*command)) {
    if (command->no_multi) {
      client.transaction_refused = true;
      return error(call, "ERR Command not allowed inside a transaction");
    }
    client.queued.push_back(argv);
    append_simple_string(reply, "QUEUED");
    return Action::reply;
  }
  client.last_command = command->name;
  return command->run(call);
}

}  // namespace spindle_kv
