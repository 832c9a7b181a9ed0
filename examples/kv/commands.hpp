// Commands: one request in, the reply bytes out, byte for byte what Redis 7 replies.
//
// execute() looks the command up by name, checks its number of arguments, runs it
// against the store and appends its reply. Three commands need the server itself:
// SAVE and BGSAVE (which block clients or fork) and QUIT (which closes the connection),
// so execute() hands them back as an Action for the server to carry out. Inside
// MULTI a request is queued instead, and EXEC runs the queue (a BGSAVE in it forks
// from inside execute()).
//
// Supported: the string commands (GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX APPEND
// STRLEN GETRANGE SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT MGET MSET MSETNX), the
// keyspace commands (DEL UNLINK EXISTS TOUCH EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST
// TTL PTTL EXPIRETIME PEXPIRETIME RENAME RENAMENX COPY TYPE RANDOMKEY SCAN KEYS OBJECT
// DBSIZE FLUSHALL), the connection and server commands (PING ECHO HELLO CLIENT SELECT
// COMMAND CONFIG TIME INFO SAVE BGSAVE QUIT) and transactions (MULTI EXEC DISCARD WATCH
// UNWATCH). Anything else gets Redis's "unknown command" error.
//
// Not thread-safe: the server holds the one mutex that guards the store, the
// Persistence and every Client while it calls execute() and carries out the action.
//
// Explained in: docs/10-spindle-kv.md (commands).
// Read next: examples/kv/commands.cpp.
#pragma once

#include <string>

#include "client.hpp"
#include "info.hpp"
#include "persistence.hpp"
#include "resp.hpp"
#include "store.hpp"

namespace spindle_kv {

// What the server does after execute() returns.
enum class Action {
  reply,              // send the reply
  save,               // call Persistence::save(), send what it appends
  background_save,    // call Persistence::start_background_save(), send what it appends
  close_after_reply,  // send the reply, then close the connection (QUIT)
  close_now,          // close the connection without sending the replies not yet sent,
                      // those of earlier pipelined requests included (Redis frees the
                      // client at once when it sees an HTTP request)
};

// Runs one request (argv non-empty, as RequestParser produces) and appends its reply
// to reply. For Action::save and Action::background_save nothing is appended: the
// reply comes from the Persistence call. Never throws on bad input: every mistake a
// client can make becomes an error reply.
// client is the connection's state (its name, its transaction, its watched keys).
Action execute(const Argv& argv, Store& store, Persistence& persistence, const ServerFacts& facts,
               Client& client, std::string& reply);

}  // namespace spindle_kv
