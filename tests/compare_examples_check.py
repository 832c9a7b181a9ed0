#!/usr/bin/env python3
"""Checks the JSON that a comparison of examples/compare printed with --json.

Each comparison must name itself and the machine, list every model it compares, and
give measurements that make sense: spreads of positive numbers in order (min <= p10 <=
median <= p90 <= max), memory that grows with what was touched, and limits that name
themselves. No check compares a duration with a number: speed belongs to benchmarks
(the book, chapter 12, prints the durations). Two kernel facts are checked, because the
comparisons exist to show them: fork copies about 8 bytes of page table per 4 KiB page,
and dirtying a page that a child shares costs one fault per page. Skynet's trees must
sum to 0 + 1 + ... + (leaves - 1) on every runtime; for c10k, a green server holds
every connection on one kernel thread, a clone server one each; idle_cpu's processor
times are times that its kernel threads could have spent; and for kv_fork_cost
(scripts/kv_fork_cost.sh, not a program of examples/compare but a document of the same
kind), every server forked at every size, and its memory grew with its keys. For policies,
the shares of the CPU-bound threads sum to 1 and Jain's index is in (0, 1] and follows from
them; the deterministic schedules show what they must (stride's shares within 0.02 of the
tickets, cooperative FIFO's equal, strict priority's heaviest thread alone), lottery's are
near the tickets, the kernel's nice values rank the threads, and a real-time row that did
not run says it was not permitted.

Usage:  compare_examples_check.py PROGRAM FILE.json   (exit 0: sane; 1: problems listed)
        compare_examples_check.py --self-test FILE.json...
            each FILE a sane document; breaks each in a few ways and exits 1 unless
            every broken copy is caught.

Explained in: docs/12-comparisons.md (code: the comparisons). Run by tests/compare_examples_test.sh.
"""

import copy
import json
import sys

MACHINE_KEYS = ("cpu_model", "online_cpus", "usable_cpus", "kernel", "glibc", "spindle",
                "memory_total_mib", "memory_available_mib", "transparent_hugepages",
                "load_average")


def spread_problems(where, spread):
    """Problems of one spread: positive numbers, in order, three or more samples."""
    if not isinstance(spread, dict):
        return [f"{where}: not a spread: {spread!r}"]
    missing = [k for k in ("min", "p10", "median", "p90", "max", "repetitions") if k not in spread]
    if missing:
        return [f"{where}: spread lacks {missing}"]
    values = [spread[k] for k in ("min", "p10", "median", "p90", "max")]
    problems = []
    if not all(isinstance(v, (int, float)) and v > 0 for v in values):
        problems.append(f"{where}: a value is not a positive number: {values}")
    elif values != sorted(values):
        problems.append(f"{where}: not min <= p10 <= median <= p90 <= max: {values}")
    if not isinstance(spread["repetitions"], int) or spread["repetitions"] < 3:
        problems.append(f"{where}: fewer than 3 repetitions")
    return problems


def common_problems(program, doc):
    problems = []
    if doc.get("program") != program:
        problems.append(f"program is {doc.get('program')!r}, not {program!r}")
    machine = doc.get("machine", {})
    problems += [f"machine lacks {k}" for k in MACHINE_KEYS if k not in machine]
    if not machine.get("cpu_model") or machine.get("online_cpus", 0) < 1:
        problems.append("machine has no processor model or no processors")
    if doc.get("quick") is not True:
        problems.append("the document does not say it is a --quick run")
    return problems


def models_problems(results, key, expected):
    found = sorted({r.get(key) for r in results})
    return [] if found == sorted(expected) else [f"models {found}, expected {sorted(expected)}"]


def spawn_cost_problems(doc):
    results = doc.get("results", [])
    problems = models_problems(results, "model",
                               ["green", "mn ×1", "mn ×2", "clone", "pthread", "fork",
                                "vfork", "posix_spawn"])
    for r in results:
        problems += spread_problems(f"{r.get('model')}: ns_per_operation", r.get("ns_per_operation"))
    process = doc.get("process", {})
    if not process.get("rss_kib", 0) > 0 or not process.get("page_tables_kib", 0) > 0:
        problems.append("process lacks a positive rss_kib and page_tables_kib")
    return problems


def fork_step_problems(step):
    where = f"step {step.get('target_mib')} MiB"
    problems = []
    for key in ("fork_ns", "fork_cpu_ns", "vfork_wait_ns", "clone_spawn_join_ns",
                "green_spawn_join_ns"):
        problems += spread_problems(f"{where}: {key}", step.get(key))
    if not step.get("rss_kib", 0) > 0 or not step.get("page_tables_kib", 0) > 0:
        problems.append(f"{where}: no positive rss_kib and page_tables_kib")
    if not step.get("child_page_tables_kib", 0) > 0:
        problems.append(f"{where}: no positive child_page_tables_kib (the child's VmPTE)")
    touched_pages = step.get("target_mib", 0) * 256
    per_gib = step.get("dirty_after_fork_ms_per_gib", "absent")
    if (per_gib is None) != (touched_pages == 0) or per_gib == "absent":
        problems.append(f"{where}: dirty_after_fork_ms_per_gib is {per_gib!r}: a number "
                        "wherever the parent touched memory, null where it touched none")
    if step.get("dirty_after_fork_minor_faults", -1) < touched_pages:
        problems.append(f"{where}: {step.get('dirty_after_fork_minor_faults')} copy-on-write "
                        f"faults for {touched_pages} shared pages written")
    return problems


def fork_cost_problems(doc):
    steps = doc.get("steps", [])
    if len(steps) < 3:
        return [f"{len(steps)} steps, expected 3 or more"]
    problems = []
    for step in steps:
        problems += fork_step_problems(step)
    rss = [s.get("rss_kib", 0) for s in steps]
    if rss != sorted(rss) or rss[-1] <= rss[0]:
        problems.append(f"the parent's RSS does not grow from step to step: {rss}")
    fit = doc.get("fit", {})
    for key in ("fork_ms_per_gib", "fork_cpu_ms_per_gib", "dirty_after_fork_ms_per_gib"):
        if not isinstance(fit.get(key), (int, float)):
            problems.append(f"fit lacks {key}")
    for key in ("page_tables_kib_per_gib", "child_page_tables_kib_per_gib"):
        if not 1500 <= fit.get(key, 0) <= 2600:
            problems.append(f"{key}: page tables grow by {fit.get(key)} KiB per GiB, "
                            "not about 2048 (8 bytes per 4 KiB page)")
    if not 0.95 * 262144 <= fit.get("dirty_after_fork_faults_per_gib", 0) <= 1.1 * 262144:
        problems.append(f"{fit.get('dirty_after_fork_faults_per_gib')} copy-on-write faults "
                        "per GiB written, not about 262144 (one per 4 KiB page)")
    if len(doc.get("published", {}).get("fork_ms_per_gb", [])) != 2:
        problems.append("published lacks the Redis range fork_ms_per_gb")
    return problems


def context_switch_problems(doc):
    results = doc.get("results", [])
    problems = models_problems(results, "model", ["green", "mn", "clone", "pthread"])
    two_cpus = doc.get("machine", {}).get("usable_cpus", 0) >= 2
    for r in results:
        where = f"{r.get('model')} through {r.get('through')} on {r.get('placement')}"
        measured = r.get("ns_per_switch") is not None
        # Two yielding mn threads on two workers need not hand over at all: no figure.
        one_kernel_thread = r.get("model") == "green" or (r.get("model"), r.get("through")) == (
            "mn", "yield")
        expected = r.get("placement") == "one_cpu" or (not one_kernel_thread and two_cpus)
        if expected:
            problems += spread_problems(where, r.get("ns_per_switch"))
        elif measured or not r.get("note"):
            problems.append(f"{where}: should be unmeasured, with a note saying why")
    placements = {}
    for r in results:
        placements.setdefault((r.get("model"), r.get("through")), []).append(r.get("placement"))
    for (model, through), found in placements.items():
        if sorted(found) != ["one_cpu", "two_cpus"]:
            problems.append(f"{model} through {through}: placements {found}, "
                            "expected one_cpu and two_cpus")
    return problems


def scale_result_problems(result, limits):
    where = result.get("model")
    problems = []
    samples = result.get("samples", [])
    if not samples or not result.get("threads_alive", 0) > 0:
        problems.append(f"{where}: no threads, or no samples")
    for s in samples:
        if not s.get("threads", 0) > 0 or not s.get("rss_kib_per_thread", 0) > 0:
            problems.append(f"{where}: a sample without positive threads and RSS per thread: {s}")
    if result.get("stopped_by") not in ("cap", "limit") or not result.get("message"):
        problems.append(f"{where}: stopped_by {result.get('stopped_by')!r} without a message")
    expected_limit = {
        "green guarded": ("vm.max_map_count", limits.get("vm.max_map_count", 0) // 2),
        "clone under RLIMIT_NPROC": ("RLIMIT_NPROC", 0),
    }.get(where)
    if expected_limit and expected_limit[1] < result.get("cap", 0):
        name = expected_limit[0]
        if result.get("stopped_by") != "limit" or name not in result.get("message", ""):
            problems.append(f"{where}: should stop at the limit {name}, stopped: "
                            f"{result.get('stopped_by')}: {result.get('message')}")
    return problems


def scale_problems(doc):
    results = doc.get("results", [])
    problems = models_problems(results, "model",
                               ["green guarded", "green pooled", "clone", "clone under RLIMIT_NPROC"])
    limits = doc.get("limits", {})
    for key in ("vm.max_map_count", "kernel.threads-max", "kernel.pid_max", "RLIMIT_NPROC"):
        if key not in limits:
            problems.append(f"limits lacks {key}")
    for result in results:
        problems += scale_result_problems(result, limits)
    return problems


# Each skynet model: its runtime and the kernel threads it runs on.
SKYNET_MODELS = {"green pooled": ("spindle green", 1), "green guarded": ("spindle green", 1),
                 "Boost.Fiber default": ("Boost.Fiber", 1), "Boost.Fiber pooled": ("Boost.Fiber", 1),
                 "Boost.Fiber protected": ("Boost.Fiber", 1),
                 "Boost.Fiber work_stealing ×1": ("Boost.Fiber", 1),
                 "Boost.Fiber work_stealing ×2": ("Boost.Fiber", 2),
                 "mn ×1": ("spindle mn", 1), "mn ×2": ("spindle mn", 2)}


def skynet_tree_problems(tree):
    """The tree's shape: a power of ten of leaves, every thread counted, the right sum."""
    leaves = tree.get("leaves", 0)
    problems = []
    if leaves < 10 or str(leaves).rstrip("0") != "1":
        problems.append(f"tree: {leaves!r} leaves is not a power of ten")
    if tree.get("threads") != (10 * leaves - 1) // 9:
        problems.append(f"tree: {tree.get('threads')} threads for {leaves} leaves")
    if tree.get("expected_sum") != leaves * (leaves - 1) // 2:
        problems.append(f"tree: expected_sum {tree.get('expected_sum')} "
                        f"is not 0 + ... + {leaves - 1}")
    return problems


def skynet_result_problems(result, tree):
    """One model: it ran and found the tree's sum, or it is a guarded one that did not fit."""
    where = result.get("model")
    runtime, kernel_threads = SKYNET_MODELS.get(where, (None, None))
    if result.get("runtime") != runtime:
        return [f"{where}: runtime {result.get('runtime')!r}"]
    if result.get("kernel_threads") != kernel_threads:
        return [f"{where}: on {result.get('kernel_threads')!r} kernel threads, not {kernel_threads}"]
    if result.get("ran") is not True:
        guarded = where.endswith(("guarded", "protected")) or runtime == "spindle mn"
        if not guarded or "vm.max_map_count" not in result.get("note", ""):
            return [f"{where}: not run, and not for want of mappings: {result.get('note')!r}"]
        return []
    problems = []
    if result.get("sum") != tree.get("expected_sum"):
        problems.append(f"{where}: the root's sum is {result.get('sum')}, "
                        f"not {tree.get('expected_sum')}")
    for key in ("total_ns", "ns_per_thread"):
        problems += spread_problems(f"{where}: {key}", result.get(key))
    if not 1 <= result.get("peak_live_threads", 0) <= tree.get("threads", 0):
        problems.append(f"{where}: peak_live_threads {result.get('peak_live_threads')} "
                        f"outside 1..{tree.get('threads')}")
    if not result.get("peak_rss_kib", 0) > 0:
        problems.append(f"{where}: no positive peak_rss_kib")
    if not result.get("minor_faults_per_thread", -1) >= 0:
        problems.append(f"{where}: no minor_faults_per_thread")
    if not 0 <= result.get("kernel_time_share", -1) <= 1:
        problems.append(f"{where}: kernel_time_share {result.get('kernel_time_share')} "
                        "outside 0..1")
    if not 0 < result.get("processors_busy", 0) <= kernel_threads * 1.1:
        problems.append(f"{where}: processors_busy {result.get('processors_busy')} outside "
                        f"0..{kernel_threads} (and a tenth for the clock)")
    problems += skynet_leaf_problems(where, result, tree, kernel_threads)
    return problems


def skynet_leaf_problems(where, result, tree, kernel_threads):
    """Every leaf of every timed tree counted once, on no more kernel threads than the
    model has. (Not that each kernel thread ran some: on a loaded machine one may not.)"""
    counts = result.get("leaves_per_kernel_thread", [])
    trees = result.get("total_ns", {}).get("repetitions", 0)
    if not counts or not all(isinstance(c, int) and c >= 0 for c in counts):
        return [f"{where}: leaves_per_kernel_thread {counts!r} is not a list of counts"]
    problems = []
    if sum(counts) != tree.get("leaves", 0) * trees:
        problems.append(f"{where}: {sum(counts)} leaves ran, not {tree.get('leaves')} in each "
                        f"of {trees} trees")
    ran_leaves = len([c for c in counts if c > 0])
    if ran_leaves > kernel_threads:
        problems.append(f"{where}: leaves ran on {ran_leaves} kernel threads, more than "
                        f"its {kernel_threads}")
    return problems


def skynet_problems(doc):
    tree = doc.get("tree", {})
    results = doc.get("results", [])
    problems = skynet_tree_problems(tree)
    problems += models_problems(results, "model", list(SKYNET_MODELS))
    for result in results:
        problems += skynet_result_problems(result, tree)
    ran = {r.get("runtime") for r in results if r.get("ran") is True}
    if not {"spindle green", "Boost.Fiber"} <= ran:
        problems.append(f"the runtimes that ran are {sorted(ran)}, not green and Boost.Fiber")
    ratios = doc.get("ratios", [])
    if len(ratios) < 2 or not all(r.get("ratio", 0) > 0 and r.get("model") in SKYNET_MODELS
                                  and r.get("peer") in SKYNET_MODELS for r in ratios):
        problems.append(f"ratios: expected two or more positive ones between models: {ratios}")
    return problems


# Each idle_cpu model: the kernel threads it idles on (0: one per parked thread and the
# spawner's, the clone backend).
IDLE_MODELS = {"green": 1, "clone": 0, "mn ×1": 1, "mn ×2": 2,
               "Boost.Fiber work_stealing ×2, spinning": 2,
               "Boost.Fiber work_stealing ×2, suspended": 2}


def idle_cpu_problems(doc):
    """Every model idled for the length asked, on its kernel threads, and its processor
    time is a time: never negative, never more than its kernel threads could spend. (How
    near zero an idle runtime stays is the program's figure, not a test's.)"""
    results = doc.get("results", [])
    run = doc.get("run", {})
    problems = models_problems(results, "model", list(IDLE_MODELS))
    for r in results:
        where = r.get("model")
        threads = IDLE_MODELS.get(where) or run.get("parked_threads", 0) + 1
        if r.get("kernel_threads") != threads:
            problems.append(f"{where}: on {r.get('kernel_threads')} kernel threads, not {threads}")
        problems += spread_problems(f"{where}: wall_ns", r.get("wall_ns"))
        if r.get("wall_ns", {}).get("min", 0) < run.get("idle_ms", 0) * 1e6:
            problems.append(f"{where}: an idle period shorter than the {run.get('idle_ms')} ms asked")
        for key in ("user_ns_per_second", "system_ns_per_second", "processors_busy"):
            spread = r.get(key, {})
            values = [spread.get(k) for k in ("min", "p10", "median", "p90", "max")]
            if not all(isinstance(v, (int, float)) and v >= 0 for v in values):
                problems.append(f"{where}: {key} is not a spread of times: {values}")
            elif values != sorted(values):
                problems.append(f"{where}: {key} not in order: {values}")
        if not r.get("processors_busy", {}).get("max", 0) <= threads * 1.1:
            problems.append(f"{where}: busier than its {threads} kernel threads could be")
    return problems


def c10k_result_problems(r):
    """Problems of one backend at one client count: rates, memory, kernel threads."""
    where = f"{r.get('backend')} at {r.get('clients')} clients"
    if "skipped" in r:
        return [] if r["skipped"] else [f"{where}: skipped without a reason"]
    problems = []
    for key in ("set_requests_per_second", "get_requests_per_second", "idle_rss_kib",
                "peak_rss_kib"):
        problems += spread_problems(f"{where}: {key}", r.get(key))
    per_connection = r.get("rss_kib_per_connection", {}).get("median", -1)
    if not 0 <= per_connection < 1024:
        problems.append(f"{where}: {per_connection} KiB of RSS per connection, not 0 to 1 MiB")
    if r.get("backend") == "green" and r.get("peak_threads") != 1:
        problems.append(f"{where}: {r.get('peak_threads')} kernel threads, not one")
    return problems


def c10k_problems(doc):
    results = doc.get("results", [])
    problems = models_problems(results, "backend", ["green", "clone", "mn"])
    counts = sorted({r.get("clients", 0) for r in results})
    for r in results:
        problems += c10k_result_problems(r)
    for backend in ("green", "clone", "mn"):
        mine = sorted((r for r in results if r.get("backend") == backend),
                      key=lambda r: r.get("clients", 0))
        if [r.get("clients") for r in mine] != counts:
            problems.append(f"{backend}: client counts {[r.get('clients') for r in mine]}, "
                            f"expected {counts}")
        measured = [r for r in mine if "skipped" not in r]
        if len(measured) < 2:
            problems.append(f"{backend}: fewer than two client counts measured")
            continue
        rss = [r.get("peak_rss_kib", {}).get("median", 0) for r in measured]
        if not rss[-1] > rss[0]:
            problems.append(f"{backend}: the peak RSS does not grow with the connections: {rss}")
        most = measured[-1]
        if backend == "clone" and not most.get("peak_threads", 0) >= most.get("clients", 0):
            problems.append(f"clone at {most.get('clients')} clients: {most.get('peak_threads')} "
                            "kernel threads, fewer than one per connection")
        if backend == "mn" and not 1 <= most.get("peak_threads", 0) < most.get("clients", 0):
            problems.append(f"mn at {most.get('clients')} clients: {most.get('peak_threads')} "
                            "kernel threads, not a few workers for all the connections")
    for ratio in doc.get("green_over_clone", []):
        if not all(isinstance(v, (int, float)) and v > 0 for v in ratio.values()):
            problems.append(f"green_over_clone: a ratio that is not a positive number: {ratio}")
    if len(doc.get("green_over_clone", [])) < 2:
        problems.append("green_over_clone has fewer than two client counts")
    return problems


def kv_fork_cost_problems(doc):
    """scripts/kv_fork_cost.sh's document: every server at every size, each fork timed,
    the servers' memory growing with their keys, and a line per server."""
    results = doc.get("results", [])
    servers = ["spindle-kv green", "spindle-kv clone", "redis-server"]
    problems = models_problems(results, "server", servers)
    forks = doc.get("forks_per_size", 0)
    for server in servers:
        mine = sorted((r for r in results if r.get("server") == server), key=lambda r: r["keys"])
        if len(mine) < 2:
            problems.append(f"{server}: {len(mine)} sizes, expected 2 or more")
            continue
        for r in mine:
            usecs = r.get("latest_fork_usec", [])
            if len(usecs) != forks or not all(isinstance(u, int) and u > 0 for u in usecs):
                problems.append(f"{server} at {r['keys']} keys: latest_fork_usec {usecs}, expected "
                                f"{forks} positive counts of microseconds")
            elif sorted(usecs)[len(usecs) // 2] != r.get("median_usec"):
                problems.append(f"{server} at {r['keys']} keys: median_usec {r.get('median_usec')} "
                                f"is not the median of {usecs}")
        if not mine[-1].get("rss_kib", 0) > mine[0].get("rss_kib", 0) > 0:
            problems.append(f"{server}: the resident memory does not grow with the keys: "
                            f"{[r.get('rss_kib') for r in mine]}")
    fitted = {f.get("server"): f for f in doc.get("fit", [])}
    for server in servers:
        line = fitted.get(server, {})
        if not all(isinstance(line.get(k), (int, float))
                   for k in ("fork_ms_per_gib", "r_squared", "fastest_fork_ms_per_gib")):
            problems.append(f"{server}: no fitted line through its forks")
    return problems


POLICY_ROWS = ([(p, m) for p in ("fifo", "random", "priority", "aging", "lottery", "stride", "mlfq")
                for m in ("cooperative", "preempted")]
               + [("kernel: nice", "kernel"), ("kernel: SCHED_RR", "kernel"),
                  ("kernel: SCHED_FIFO", "kernel")])


def percentiles_problems(where, p, count=None):
    """A p50/p99/max of positive durations in order, with `count` samples if given."""
    if not isinstance(p, dict) or not all(isinstance(p.get(k), (int, float)) for k in ("p50", "p99", "max")):
        return [f"{where}: not p50, p99 and max: {p!r}"]
    problems = []
    if not 0 < p["p50"] <= p["p99"] <= p["max"]:
        problems.append(f"{where}: not 0 < p50 <= p99 <= max: {p}")
    if not isinstance(p.get("samples"), int) or p["samples"] < 1 or (count is not None and p["samples"] != count):
        problems.append(f"{where}: {p.get('samples')!r} samples, expected {count or 'one or more'}")
    return problems


def policy_shares_problems(where, r, entitled):
    """The CPU-bound threads' shares: one per weight, summing to 1, and Jain from them."""
    threads = r.get("cpu_bound", [])
    if [t.get("entitled_share") for t in threads] != entitled:
        return [f"{where}: entitled shares {[t.get('entitled_share') for t in threads]}, "
                f"expected {entitled}"]
    shares = [t.get("share", -1) for t in threads]
    problems = []
    if not all(0 <= x <= 1 for x in shares) or abs(sum(shares) - 1) > 1e-6:
        problems.append(f"{where}: shares {shares} are not fractions summing to 1")
    x = [share / e for share, e in zip(shares, entitled)]
    jain = sum(x) ** 2 / (len(x) * sum(v * v for v in x)) if any(x) else None
    if not isinstance(r.get("jain"), (int, float)) or not 0 < r["jain"] <= 1 + 1e-9:
        problems.append(f"{where}: Jain's index {r.get('jain')!r} is not in (0, 1]")
    elif jain is None or abs(r["jain"] - jain) > 1e-6:
        problems.append(f"{where}: Jain's index {r['jain']} does not follow from the shares ({jain})")
    return problems


def policy_behaviour_problems(where, key, shares, entitled, r):
    """What each deterministic schedule must show, and what the kernel's must."""
    off = max(abs(a - b) for a, b in zip(shares, entitled))
    expected = {
        ("stride", "cooperative"): (off <= 0.02, "within 0.02 of the tickets"),
        ("fifo", "cooperative"): (max(abs(a - 1 / 3) for a in shares) <= 0.02, "equal, within 0.02"),
        ("priority", "cooperative"): (shares[-1] >= 0.99, "all the heaviest thread's"),
        ("lottery", "cooperative"): (off <= 0.1, "within 0.1 of the tickets"),
        ("kernel: nice", "kernel"): (shares[-1] > shares[0], "larger for the heavier thread"),
        ("kernel: SCHED_FIFO", "kernel"): (shares[-1] >= 0.95, "the highest priority's alone"),
        ("kernel: SCHED_RR", "kernel"): (shares[-1] >= 0.95, "the highest priority's alone"),
    }.get(key)
    problems = []
    if expected and not expected[0]:
        problems.append(f"{where}: shares {shares} are not {expected[1]}")
    if key[1] == "preempted" and not r.get("preemptions", 0) >= 1:
        problems.append(f"{where}: {r.get('preemptions')!r} preemptions: the timer never took a switch")
    return problems


def policies_row_problems(r, workload, entitled):
    where = f"{r.get('scheduler')} ({r.get('mode')})"
    key = (r.get("scheduler"), r.get("mode"))
    if r.get("ran") is not True:
        realtime = key[0] in ("kernel: SCHED_RR", "kernel: SCHED_FIFO")
        if not realtime or not str(r.get("note", "")).startswith("not permitted"):
            return [f"{where}: not run, and not a real-time policy the kernel refused: {r.get('note')!r}"]
        return []
    problems = policy_shares_problems(where, r, entitled)
    jobs = workload.get("short_jobs", {}).get("jobs", 0) * workload.get("windows", 0)
    problems += percentiles_problems(f"{where}: response_ns", r.get("response_ns"))
    problems += percentiles_problems(f"{where}: turnaround_ns", r.get("turnaround_ns"), jobs)
    for k in ("seconds", "cpu_seconds", "switches_per_second"):
        if not r.get(k, 0) > 0:
            problems.append(f"{where}: {k} is {r.get(k)!r}, not positive")
    if r.get("backend") == "clone":
        cs = r.get("context_switches", {})
        if cs.get("voluntary", -1) < 0 or cs.get("involuntary", -1) < 0 or \
                cs.get("voluntary", 0) + cs.get("involuntary", 0) != r.get("switches"):
            problems.append(f"{where}: context switches {cs} do not add up to {r.get('switches')}")
    if not problems:
        problems += policy_behaviour_problems(where, key, [t["share"] for t in r["cpu_bound"]],
                                              entitled, r)
    return problems


def policies_problems(doc):
    workload = doc.get("workload", {})
    weights = workload.get("cpu_bound_weights", [])
    entitled = [w.get("entitled_share") for w in weights]
    problems = []
    if [w.get("weight") for w in weights] != [1, 2, 4] or abs(sum(e or 0 for e in entitled) - 1) > 1e-9:
        problems.append(f"workload: weights {weights} are not 1, 2, 4 with shares summing to 1")
    results = doc.get("results", [])
    found = sorted((r.get("scheduler"), r.get("mode")) for r in results)
    if found != sorted(POLICY_ROWS):
        problems.append(f"rows {found}, expected {sorted(POLICY_ROWS)}")
    for r in results:
        problems += policies_row_problems(r, workload, entitled)
    return problems


CHECKS = {
    "spawn_cost": spawn_cost_problems,
    "fork_cost": fork_cost_problems,
    "context_switch": context_switch_problems,
    "scale": scale_problems,
    "skynet": skynet_problems,
    "c10k": c10k_problems,
    "idle_cpu": idle_cpu_problems,
    "kv_fork_cost": kv_fork_cost_problems,
    "policies": policies_problems,
}


def problems_of(program, doc):
    return common_problems(program, doc) + CHECKS[program](doc)


def breakages(doc):
    """Broken copies of a sane document, each with what was broken."""
    program = doc["program"]
    broken = []

    def breaking(what, change):
        copied = copy.deepcopy(doc)
        change(copied)
        broken.append((what, copied))

    breaking("the machine dropped", lambda d: d.pop("machine"))
    breaking("another program's name", lambda d: d.update(program="primes"))
    if program in ("spawn_cost", "context_switch", "scale", "skynet"):
        breaking("the first model dropped", lambda d: d["results"].pop(0))
    if program == "spawn_cost":
        breaking("a negative median", lambda d: d["results"][1]["ns_per_operation"].update(median=-1))
        breaking("p90 above max", lambda d: d["results"][2]["ns_per_operation"].update(p90=1e18))
    if program == "fork_cost":
        breaking("no copy-on-write faults", lambda d: d["steps"][-1].update(dirty_after_fork_minor_faults=0))
        breaking("page tables of 16 KiB per GiB", lambda d: d["fit"].update(page_tables_kib_per_gib=16))
        breaking("a fork spread of one sample", lambda d: d["steps"][0]["fork_ns"].update(repetitions=1))
        breaking("the child's page tables of 16 KiB per GiB",
                 lambda d: d["fit"].update(child_page_tables_kib_per_gib=16))
        breaking("a fault per 2 MiB page", lambda d: d["fit"].update(dirty_after_fork_faults_per_gib=512))
        breaking("no write time per GiB", lambda d: d["steps"][-1].update(dirty_after_fork_ms_per_gib=None))
    if program == "context_switch":
        breaking("green measured on two processors",
                 lambda d: d["results"][1].update(ns_per_switch=d["results"][0]["ns_per_switch"]))
    if program == "scale":
        breaking("a model with no samples", lambda d: d["results"][1].update(samples=[]))
        breaking("the RLIMIT_NPROC run stopped at its cap",
                 lambda d: d["results"][3].update(stopped_by="cap"))
    if program == "skynet":
        first = doc["results"][0]
        breaking("a root's sum off by one",
                 lambda d: d["results"][0].update(sum=first["sum"] + 1))
        breaking("Boost.Fiber's models dropped",
                 lambda d: d.update(results=[r for r in d["results"]
                                             if r["runtime"] != "Boost.Fiber"]))
        breaking("p10 above the median",
                 lambda d: d["results"][0]["total_ns"].update(p10=first["total_ns"]["median"] * 2))
        breaking("a pooled model not run",
                 lambda d: d["results"][3].update(ran=False, note="not run: vm.max_map_count"))
        breaking("a leaf counted twice",
                 lambda d: d["results"][0]["leaves_per_kernel_thread"].__setitem__(
                     0, first["leaves_per_kernel_thread"][0] + 1))
        breaking("work stealing on one kernel thread where it should have two",
                 lambda d: d["results"][-1].update(kernel_threads=1))
        breaking("a ratio of a model that is not in the run",
                 lambda d: d["ratios"][0].update(model="green pooled on Mars"))
    if program == "c10k":
        breakages_of_c10k(doc, breaking)
    if program == "policies":
        breakages_of_policies(doc, breaking)
    if program == "idle_cpu":
        breaking("the clone backend dropped", lambda d: d["results"].pop(1))
        breaking("negative processor time",
                 lambda d: d["results"][0]["user_ns_per_second"].update(min=-1))
        breaking("an idle period cut short", lambda d: d["results"][2]["wall_ns"].update(min=1))
        breaking("green on two kernel threads", lambda d: d["results"][0].update(kernel_threads=2))
        breaking("three processors busy on two kernel threads",
                 lambda d: d["results"][2]["processors_busy"].update(max=3))
    if program == "kv_fork_cost":
        breaking("redis-server dropped",
                 lambda d: d.update(results=[r for r in d["results"] if r["server"] != "redis-server"]))
        breaking("a fork of no time", lambda d: d["results"][1]["latest_fork_usec"].__setitem__(0, 0))
        breaking("a median that is not the median", lambda d: d["results"][2].update(median_usec=-5))
        breaking("memory that does not grow",
                 lambda d: d["results"][0].update(rss_kib=d["results"][-1]["rss_kib"] * 100))
        breaking("no line for a server", lambda d: d["fit"].pop())
    return broken


def breakages_of_c10k(doc, breaking):
    """c10k's broken copies: `breaking(what, change)` makes one."""
    def result(d, backend, largest=True):
        mine = [r for r in d["results"] if r["backend"] == backend]
        return mine[-1] if largest else mine[0]

    breaking("the clone backend dropped",
             lambda d: d.update(results=[r for r in d["results"] if r["backend"] != "clone"]))
    breaking("a client count missing for green", lambda d: d["results"].remove(result(d, "green")))
    breaking("a GET rate of zero",
             lambda d: result(d, "clone")["get_requests_per_second"].update(min=0, p10=0))
    breaking("green on a kernel thread per connection",
             lambda d: result(d, "green").update(peak_threads=result(d, "green")["clients"] + 1))
    breaking("clone on one kernel thread", lambda d: result(d, "clone").update(peak_threads=1))
    breaking("a peak RSS that does not grow",
             lambda d: result(d, "green").update(
                 peak_rss_kib=result(d, "green", largest=False)["peak_rss_kib"]))
    breaking("a skip without a reason", lambda d: result(d, "clone").update(skipped=""))
    breaking("mn on a kernel thread per connection",
             lambda d: result(d, "mn").update(peak_threads=result(d, "mn")["clients"] + 3))


def breakages_of_policies(doc, breaking):
    """policies' broken copies: `breaking(what, change)` makes one."""
    def row(d, scheduler, mode):
        return next(r for r in d["results"] if r["scheduler"] == scheduler and r["mode"] == mode)

    def set_shares(r, shares):
        for t, share in zip(r["cpu_bound"], shares):
            t["share"] = share

    breaking("the stride rows dropped",
             lambda d: d.update(results=[r for r in d["results"] if r["scheduler"] != "stride"]))
    breaking("shares that sum to 1.2", lambda d: row(d, "fifo", "preempted")["cpu_bound"][0].update(
        share=row(d, "fifo", "preempted")["cpu_bound"][0]["share"] + 0.2))
    breaking("Jain's index above 1", lambda d: row(d, "lottery", "cooperative").update(jain=1.5))
    breaking("stride's shares equal, as FIFO's",
             lambda d: (set_shares(row(d, "stride", "cooperative"), [1 / 3, 1 / 3, 1 / 3]),
                        row(d, "stride", "cooperative").update(jain=7 / 9)))
    breaking("strict priority sharing", lambda d: (
        set_shares(row(d, "priority", "cooperative"), [1 / 7, 2 / 7, 4 / 7]),
        row(d, "priority", "cooperative").update(jain=1.0)))
    breaking("a short job missing",
             lambda d: row(d, "mlfq", "cooperative")["turnaround_ns"].update(
                 samples=row(d, "mlfq", "cooperative")["turnaround_ns"]["samples"] - 1))
    breaking("p99 below p50", lambda d: row(d, "kernel: nice", "kernel")["response_ns"].update(p99=0.5))
    breaking("a preempted run with no preemption",
             lambda d: row(d, "aging", "preempted").update(preemptions=0))
    breaking("the kernel's nice row not run",
             lambda d: row(d, "kernel: nice", "kernel").update(ran=False, note="not permitted"))
    breaking("a real-time row missing for another reason",
             lambda d: row(d, "kernel: SCHED_FIFO", "kernel").update(ran=False, note="crashed"))


def self_test(paths):
    failed = False
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if problems_of(doc["program"], doc):
            print(f"SELF-TEST FAILED: {path} is not sane to begin with")
            return 1
        for what, broken in breakages(doc):
            caught = problems_of(doc["program"], broken)
            print(f"{doc['program']}: {what}: {'caught: ' + caught[0] if caught else 'NOT CAUGHT'}")
            failed |= not caught
    print("self-test failed" if failed else "self-test passed")
    return 1 if failed else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "--self-test":
        return self_test(argv[2:])
    if len(argv) != 3 or argv[1] not in CHECKS:
        print(__doc__.split("Usage:")[1].split("Explained")[0].strip(), file=sys.stderr)
        return 2
    with open(argv[2], encoding="utf-8") as f:
        doc = json.load(f)
    problems = problems_of(argv[1], doc)
    for p in problems:
        print(f"{argv[1]}: {p}")
    print(f"{argv[1]}: {'the JSON is sane' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
