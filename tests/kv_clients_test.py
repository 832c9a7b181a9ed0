#!/usr/bin/env python3
"""spindle-kv against the real thing, on one backend:

1. a differential test: seeded random streams over the string (LCS too), expiry,
   keyspace and transaction commands go to spindle-kv and to a redis-server started
   here (one database, no snapshots), and every reply must be the same bytes;
2. redis-py (Debian's python3-redis), a real client library: connect, pipeline,
   transaction with WATCH, scan_iter, expiry;
3. memory given back: after a 64 MiB SET then DEL the resident set is small again
   (measured for redis-server too, in the same run, and printed).

    kv_clients_test.py SPINDLE_KV BACKEND

Replies that depend on hash order (KEYS, SCAN, RANDOMKEY) or on the clock's
millisecond (TTL of a fresh key) are left out of the streams; SPINDLE_SEEDS sets how
many streams (default 20). Skips (exit 77) if redis-server or python3-redis is missing.
Explained in: docs/10-spindle-kv.md (testing against redis).
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def encode(argv):
    out = b"*%d\r\n" % len(argv)
    for a in argv:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def exchange(sock, payload):
    """Sends payload, a DISCARD (ending any transaction the stream left open) and an ECHO
    marker; returns every byte before the marker's reply."""
    marker = b"$12\r\n__stream_end\r\n"
    sock.sendall(payload + encode(["DISCARD"]) + encode(["ECHO", "__stream_end"]))
    got = b""
    while not got.endswith(marker):
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        got += chunk
    return got[: -len(marker)]


KEYS = ["a", "b", "c", "n", "f", "w"]
VALUES = ["1", "-7", "abc", "", "3.5", "9223372036854775807", "x" * 50, "10"]
FAR = "4102444800"  # 2100-01-01, in seconds


def random_request(rng):
    k, k2, v = rng.choice(KEYS), rng.choice(KEYS), rng.choice(VALUES)
    n = rng.choice(["0", "1", "-1", "3", "100", "abc", "9223372036854775807"])
    choices = [
        ["SET", k, v], ["SET", k, v, rng.choice(["NX", "XX", "GET", "KEEPTTL"])],
        ["SET", k, v, "EXAT", FAR], ["SET", k, v, "PXAT", FAR + "123", "GET"],
        ["SET", k, v, "EX", rng.choice(["0", "-1", "abc"])], ["GET", k], ["SETNX", k, v],
        ["SETEX", k, rng.choice(["0", "abc"]), v], ["GETSET", k, v], ["GETDEL", k],
        ["GETEX", k], ["GETEX", k, "PERSIST"], ["GETEX", k, "EXAT", FAR], ["GETEX", k, "EXAT", "1"],
        ["APPEND", k, v], ["STRLEN", k], ["GETRANGE", k, n, rng.choice(["-1", "2", "0"])],
        ["SETRANGE", k, rng.choice(["0", "2", "-1"]), v], ["INCR", k], ["DECR", k],
        ["INCRBY", k, n], ["DECRBY", k, n], ["INCRBYFLOAT", k, rng.choice(["1.5", "-0.25", "abc", "1e3"])],
        ["MGET", k, k2], ["MSET", k, v, k2, v], ["MSETNX", k, v, k2, v], ["DEL", k, k2],
        ["UNLINK", k], ["EXISTS", k, k2], ["TOUCH", k], ["TYPE", k],
        ["EXPIREAT", k, FAR, rng.choice(["NX", "XX", "GT", "LT"])], ["PEXPIREAT", k, FAR + "500"],
        ["EXPIRE", k, rng.choice(["-1", "0"])], ["PERSIST", k], ["EXPIRETIME", k],
        ["PEXPIRETIME", k], ["TTL", k] if rng.random() < 0.3 else ["PTTL", "nokey"],
        ["RENAME", k, k2], ["RENAMENX", k, k2], ["COPY", k, k2], ["COPY", k, k2, "REPLACE"],
        ["OBJECT", "ENCODING", k], ["DBSIZE"], ["ECHO", v], ["PING"], ["SELECT", "0"],
        ["WATCH", k], ["UNWATCH"], ["MULTI"], ["EXEC"], ["DISCARD"], ["NOSUCH", k],
        ["LCS", k, k2], ["LCS", k, k2, "LEN"], ["LCS", k, k2, "IDX", "MINMATCHLEN", n, "WITHMATCHLEN"],
        ["LCS", k, k2, rng.choice(["IDX", "len", "WITHMATCHLEN", "FOO"]), rng.choice(["LEN", "idx", "MINMATCHLEN"])],
    ]
    return rng.choice(choices)


def differential(spindle_port, redis_port, seeds):
    for seed in range(seeds):
        rng = random.Random(seed)
        stream = b"".join(encode(random_request(rng)) for _ in range(300))
        replies = []
        for port in (spindle_port, redis_port):
            with socket.create_connection(("127.0.0.1", port)) as s:
                exchange(s, encode(["FLUSHALL"]))
                replies.append(exchange(s, stream))
        if replies[0] != replies[1]:
            at = next(i for i, (x, y) in enumerate(zip(*replies)) if x != y)
            print(f"seed {seed}: replies differ at byte {at}:\n spindle-kv: {replies[0][at-80:at+80]!r}\n"
                  f" redis:      {replies[1][at-80:at+80]!r}")
            return False
    print(f"differential: {seeds} streams of 300 requests, identical replies")
    return True


def with_redis_py(port):
    import redis
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    assert r.ping()
    r.flushall()
    assert r.set("k", "v", ex=100) and r.get("k") == "v" and 0 < r.ttl("k") <= 100
    assert r.pexpire("k", 50000) and r.persist("k") and r.ttl("k") == -1
    assert r.getex("k", px=100000) == "v" and r.pttl("k") > 0
    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"key:{i}", i)
    pipe.incr("counter")
    assert pipe.execute()[-1] == 1
    assert sorted(r.scan_iter(match="key:*", count=7)) == sorted(f"key:{i}" for i in range(100))
    with r.pipeline() as tx:  # MULTI/EXEC, with WATCH, as redis-py's transaction() does
        def add_one(p):
            value = int(p.get("counter"))
            p.multi()
            p.set("counter", value + 1)
        r.transaction(add_one, "counter")
    assert r.get("counter") == "2"
    tx = r.pipeline()
    tx.watch("counter")
    r.set("counter", "changed")  # another client's write, between WATCH and EXEC
    tx.multi()
    tx.set("counter", "mine")
    try:
        tx.execute()
        raise AssertionError("EXEC ran despite the watched key's change")
    except redis.WatchError:
        pass
    assert r.get("counter") == "changed"
    r.client_setname("tester")
    assert r.client_getname() == "tester"
    assert any(c["name"] == "tester" for c in r.client_list())
    assert r.config_get("databases") == {"databases": "1"}
    assert r.incrbyfloat("f", 1.5) == 1.5 and r.type("f") == "string"
    assert r.rename("f", "g") and r.copy("g", "h") and r.get("h") == "1.5"
    r.set("short", "v", px=100)
    deadline = time.time() + 5
    while r.dbsize() > 104 and time.time() < deadline:  # active expiry, nobody reading it
        time.sleep(0.05)
    assert r.dbsize() == 104, r.dbsize()
    print("redis-py: connect, pipeline, transaction, WATCH, scan_iter, expiry: ok")


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))


def memory_given_back(procs, ports):
    """A 64 MiB SET then DEL: the resident set must drop back, as redis-server's does."""
    value = b"x" * (64 << 20)
    figures = []
    for proc, port in zip(procs, ports):
        with socket.create_connection(("127.0.0.1", port)) as s:
            exchange(s, encode(["SET", "big", value]))
            peak = resident_mib(proc.pid)
            exchange(s, encode(["DEL", "big"]))
            figures.append((peak, resident_mib(proc.pid)))
    print(f"64 MiB SET then DEL, resident MiB (peak, after): spindle-kv {figures[0]}, "
          f"redis-server {figures[1]}")
    return figures[0][1] < 32  # spindle-kv starts at a few MiB; the value is 64


def main():
    spindle_kv, backend = sys.argv[1], sys.argv[2]
    if shutil.which("redis-server") is None:
        print("redis-server is not installed: skipped")
        return 77
    try:
        import redis  # noqa: F401
    except ImportError:
        print("python3-redis is not installed: skipped")
        return 77
    seeds = int(os.environ.get("SPINDLE_SEEDS", "20"))
    with tempfile.TemporaryDirectory() as scratch:
        sp, rp = free_port(), free_port()
        procs = [
            subprocess.Popen([spindle_kv, "--port", str(sp), "--backend", backend, "--dir", scratch],
                             stdout=subprocess.DEVNULL),
            subprocess.Popen(["redis-server", "--port", str(rp), "--bind", "127.0.0.1", "--dir", scratch,
                              "--save", "", "--appendonly", "no", "--databases", "1"],
                             stdout=subprocess.DEVNULL),
        ]
        try:
            wait_for(sp)
            wait_for(rp)
            ok = differential(sp, rp, seeds)
            with_redis_py(sp)
            ok = memory_given_back(procs, (sp, rp)) and ok
            return 0 if ok else 1
        finally:
            for p in procs:
                p.terminate()
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
