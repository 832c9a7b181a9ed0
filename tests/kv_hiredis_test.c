/* hiredis, Redis's own C client library (Debian's libhiredis-dev), against spindle-kv:
 * a small C client as a C program would be written, run by tests/kv_hiredis_test.sh
 * against the real server on each backend.
 *
 *   kv_hiredis_test PORT
 *
 * Three parts, each checking every reply's type and contents:
 *  1. synchronous commands (redisCommand): SET, GET, INCR, EXPIRE, TTL, MSET, MGET, an
 *     error reply, a nil reply, and binary-safe keys and values sent with %b;
 *  2. a pipelined batch: redisAppendCommand for every request first, then redisGetReply
 *     for each, in order;
 *  3. SCAN's guarantee through a real client: keys present for the whole scan are all
 *     returned while other keys are written and deleted between the calls.
 * Every failed check is printed; the exit status is 1 if any failed. No reply is awaited
 * for more than 10 s (redisSetTimeout), so a silent server fails the test, never hangs it.
 *
 * Explained in: docs/10-spindle-kv.md (testing against redis).
 * Read next: tests/kv_hiredis_test.sh.
 */
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static int failures = 0;

static void fail(const char* what, ...) {
  va_list args;
  va_start(args, what);
  fprintf(stderr, "FAILED: ");
  vfprintf(stderr, what, args);
  fprintf(stderr, "\n");
  va_end(args);
  ++failures;
}

static const char* type_name(int type) {
  switch (type) {
    case REDIS_REPLY_STRING:
      return "string";
    case REDIS_REPLY_ARRAY:
      return "array";
    case REDIS_REPLY_INTEGER:
      return "integer";
    case REDIS_REPLY_NIL:
      return "nil";
    case REDIS_REPLY_STATUS:
      return "status";
    case REDIS_REPLY_ERROR:
      return "error";
    default:
      return "unknown";
  }
}

/* Whether reply (of request `what`) exists and has the type wanted; says why if not. */
static int has_type(const char* what, const redisReply* reply, int wanted) {
  if (reply == NULL) {
    fail("%s: no reply (the connection failed or timed out)", what);
    return 0;
  }
  if (reply->type != wanted) {
    fail("%s: a reply of type %s, not %s (%.*s)", what, type_name(reply->type), type_name(wanted),
         reply->str ? (int)reply->len : 0, reply->str ? reply->str : "");
    return 0;
  }
  return 1;
}

/* The checks of one reply: a string-like reply (status, error, bulk string) with these
 * bytes, an integer with this value, or a nil. Each frees the reply. */
static void expect_bytes(const char* what, redisReply* reply, int type, const char* bytes,
                         size_t length) {
  if (has_type(what, reply, type) &&
      (reply->len != length || memcmp(reply->str, bytes, length) != 0))
    fail("%s: replied \"%.*s\" (%zu bytes), not \"%.*s\" (%zu bytes)", what, (int)reply->len,
         reply->str, reply->len, (int)length, bytes, length);
  freeReplyObject(reply);
}

static void expect_text(const char* what, redisReply* reply, int type, const char* text) {
  expect_bytes(what, reply, type, text, strlen(text));
}

static void expect_integer(const char* what, redisReply* reply, long long value) {
  if (has_type(what, reply, REDIS_REPLY_INTEGER) && reply->integer != value)
    fail("%s: replied %lld, not %lld", what, reply->integer, value);
  freeReplyObject(reply);
}

static void expect_nil(const char* what, redisReply* reply) {
  has_type(what, reply, REDIS_REPLY_NIL);
  freeReplyObject(reply);
}

static redisReply* command(redisContext* context, const char* format, ...) {
  va_list args;
  va_start(args, format);
  redisReply* reply = redisvCommand(context, format, args);
  va_end(args);
  return reply;
}

/* Part 1: one request, one reply, each checked. */
static void synchronous_commands(redisContext* c) {
  expect_text("FLUSHALL", command(c, "FLUSHALL"), REDIS_REPLY_STATUS, "OK");
  expect_text("SET greeting hello", command(c, "SET greeting hello"), REDIS_REPLY_STATUS, "OK");
  expect_text("GET greeting", command(c, "GET greeting"), REDIS_REPLY_STRING, "hello");
  expect_nil("GET missing", command(c, "GET missing"));
  expect_integer("INCR counter (a new key)", command(c, "INCR counter"), 1);
  expect_integer("INCR counter", command(c, "INCR counter"), 2);
  expect_text("INCR greeting (not a number)", command(c, "INCR greeting"), REDIS_REPLY_ERROR,
              "ERR value is not an integer or out of range");
  expect_text("an unknown command", command(c, "NOSUCH a"), REDIS_REPLY_ERROR,
              "ERR unknown command 'NOSUCH', with args beginning with: 'a' ");
  expect_integer("TTL greeting (no expiry)", command(c, "TTL greeting"), -1);
  expect_integer("EXPIRE greeting 100", command(c, "EXPIRE greeting 100"), 1);
  redisReply* ttl = command(c, "TTL greeting");
  if (has_type("TTL greeting", ttl, REDIS_REPLY_INTEGER) &&
      (ttl->integer < 99 || ttl->integer > 100))
    fail("TTL greeting: %lld, not 99 or 100 (TTL rounds to the nearest second)", ttl->integer);
  freeReplyObject(ttl);
  expect_integer("EXPIRE missing 100", command(c, "EXPIRE missing 100"), 0);
  expect_integer("TTL missing", command(c, "TTL missing"), -2);

  expect_text("MSET", command(c, "MSET a 1 b 2 c 3"), REDIS_REPLY_STATUS, "OK");
  redisReply* values = command(c, "MGET a missing c");
  if (has_type("MGET a missing c", values, REDIS_REPLY_ARRAY)) {
    if (values->elements != 3) {
      fail("MGET a missing c: %zu elements, not 3", values->elements);
    } else {
      if (has_type("MGET's first", values->element[0], REDIS_REPLY_STRING) &&
          strcmp(values->element[0]->str, "1") != 0)
        fail("MGET's first: \"%s\", not \"1\"", values->element[0]->str);
      has_type("MGET's second (a missing key)", values->element[1], REDIS_REPLY_NIL);
      if (has_type("MGET's third", values->element[2], REDIS_REPLY_STRING) &&
          strcmp(values->element[2]->str, "3") != 0)
        fail("MGET's third: \"%s\", not \"3\"", values->element[2]->str);
    }
  }
  freeReplyObject(values);

  /* %b passes a pointer and a length: bytes a C string could not hold (NUL, CR LF). */
  static const char key[] = {'k', '\0', 'e', 'y'};
  static const char value[] = {'\0', '\r', '\n', '$', '-', '1', '\r', '\n', '\xff', '\0'};
  expect_text("SET of a binary key and value",
              command(c, "SET %b %b", key, sizeof key, value, sizeof value), REDIS_REPLY_STATUS,
              "OK");
  expect_bytes("GET of the binary key", command(c, "GET %b", key, sizeof key), REDIS_REPLY_STRING,
               value, sizeof value);
  expect_integer("STRLEN of the binary key", command(c, "STRLEN %b", key, sizeof key),
                 (long long)sizeof value);
  expect_nil("GET of the key cut at its NUL", command(c, "GET k"));
}

/* Part 2: requests written before any reply is read, then every reply in order. */
static void pipelined_batch(redisContext* c) {
  enum { keys = 1000 };
  for (int i = 0; i < keys; ++i) redisAppendCommand(c, "SET key:%d value:%d", i, i);
  redisAppendCommand(c, "INCRBY counter 40");
  redisAppendCommand(c, "INCR greeting");
  for (int i = 0; i < keys; ++i) redisAppendCommand(c, "GET key:%d", i);
  redisAppendCommand(c, "DBSIZE");

  char what[64], wanted[64];
  for (int i = 0; i < keys; ++i) {
    void* reply = NULL;
    redisGetReply(c, &reply);
    snprintf(what, sizeof what, "pipelined SET key:%d", i);
    expect_text(what, reply, REDIS_REPLY_STATUS, "OK");
  }
  void* reply = NULL;
  redisGetReply(c, &reply);
  expect_integer("pipelined INCRBY counter 40", reply, 42);
  redisGetReply(c, &reply);
  expect_text("pipelined INCR of a string", reply, REDIS_REPLY_ERROR,
              "ERR value is not an integer or out of range");
  for (int i = 0; i < keys; ++i) {
    redisGetReply(c, &reply);
    snprintf(what, sizeof what, "pipelined GET key:%d", i);
    snprintf(wanted, sizeof wanted, "value:%d", i);
    expect_text(what, reply, REDIS_REPLY_STRING, wanted);
  }
  redisGetReply(c, &reply);
  /* greeting, counter, a, b, c, the binary key, and the batch's keys */
  expect_integer("pipelined DBSIZE", reply, keys + 6);
}

/* Part 3: while a scan goes on, each call is followed by a hundred new keys and the
 * deletion of a hundred of the churn keys, so the table grows and then shrinks under the
 * cursor; every one of the batch's keys (present throughout) must be returned. */
static void scan_survives_writes(redisContext* c) {
  enum { keys = 1000 };
  static char seen[keys];
  memset(seen, 0, sizeof seen);
  int made = 0, deleted = 0, calls = 0;
  char cursor[32] = "0";
  do {
    redisReply* reply = command(c, "SCAN %s COUNT 20 MATCH key:*", cursor);
    if (!has_type("SCAN", reply, REDIS_REPLY_ARRAY) || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
      fail("SCAN: not a [cursor, keys] reply");
      freeReplyObject(reply);
      return;
    }
    snprintf(cursor, sizeof cursor, "%s", reply->element[0]->str);
    for (size_t i = 0; i < reply->element[1]->elements; ++i) {
      int n = atoi(reply->element[1]->element[i]->str + strlen("key:"));
      if (n >= 0 && n < keys) seen[n] = 1;
    }
    freeReplyObject(reply);
    int writes = 0;
    if (calls++ < 40) {
      for (; writes < 100; ++writes, ++made) redisAppendCommand(c, "SET churn:%d x", made);
    } else {
      for (; writes < 100 && deleted < made; ++writes, ++deleted)
        redisAppendCommand(c, "DEL churn:%d", deleted);
    }
    for (int i = 0; i < writes; ++i) {
      void* written = NULL;
      if (redisGetReply(c, &written) != REDIS_OK) {
        fail("a write between SCAN calls got no reply");
        return;
      }
      freeReplyObject(written);
    }
  } while (strcmp(cursor, "0") != 0 && calls < 100000);
  int missed = 0;
  for (int i = 0; i < keys; ++i) missed += !seen[i];
  if (missed != 0) fail("SCAN missed %d of the %d keys present for the whole scan", missed, keys);
  printf(
      "SCAN: %d calls, %d keys made and %d deleted meanwhile, every key present throughout "
      "returned\n",
      calls, made, deleted);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  struct timeval timeout = {10, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", atoi(argv[1]), timeout);
  if (c == NULL || c->err) {
    fprintf(stderr, "cannot connect to 127.0.0.1:%s: %s\n", argv[1],
            c ? c->errstr : "out of memory");
    return 1;
  }
  redisSetTimeout(c, timeout);
  synchronous_commands(c);
  pipelined_batch(c);
  scan_survives_writes(c);
  redisFree(c);
  if (failures != 0) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("hiredis: synchronous commands, binary-safe values, a pipelined batch, SCAN: ok\n");
  return 0;
}
