// Commands: one request in, the reply bytes out, byte for byte what Redis 7 replies.
//
// execute() looks the command up by name, checks its number of arguments, runs it
// against the store and appends its reply. Three commands need the server itself:
// SAVE and BGSAVE (which block clients or fork) and QUIT (which closes the connection),
// so execute() hands them back as an Action for the server to carry out.
//
// Supported: PING ECHO SET GET DEL EXISTS INCR DECR INCRBY DECRBY MGET MSET EXPIRE TTL
// KEYS DBSIZE FLUSHALL INFO SAVE BGSAVE QUIT. Anything else gets Redis's
// "unknown command" error.
//
// Not thread-safe: the server holds the one mutex that guards the store and the
// Persistence while it calls execute() and carries out the action.
//
// Explained in: docs/10-spindle-kv.md (commands).
// Read next: examples/kv/commands.cpp.
#pragma once

#include <string>

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
Action execute(const Argv& argv, Store& store, const Persistence& persistence,
               const ServerFacts& facts, std::string& reply);

}  // namespace spindle_kv
