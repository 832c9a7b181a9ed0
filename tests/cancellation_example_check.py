#!/usr/bin/env python3
"""tests/cancellation_example_check.py — runs examples/cancellation on one backend and
checks what it says: each kind of block ended by the jthread's destructor with its status,
join's result and rethrow after a stop, the deadlock report, and on the green backend the
foreign thread refused, then let in through the home scheduler. Lines that carry kernel
thread ids or addresses ("  what(): ...") are checked for their fixed part only.

Usage: cancellation_example_check.py PROGRAM green|clone
Explained in: docs/02-the-api.md (cancellation)."""
import subprocess
import sys

COMMON = [
    "receive:   answered stopped",
    "send:      answered stopped, the value not sent",
    "sleep:     returned early",
    "wait:      returned with the predicate false",
    "select:    no case went, answered stopped",
    "join:      returned 3, the jobs done before the stop",
    'join:      rethrew "stopped before its job came"',
    "deadlock:  the receive threw spindle::deadlock_error",
    "  what(): spindle: deadlock",
]
EXPECTED = {
    "green": ["green backend"] + COMMON + [
        "foreign:   a std::thread's lock threw spindle::foreign_thread_error naming the mutex, "
        "its home and the caller",
        "  what(): spindle::green::mutex::lock: the mutex at ",
        "remote:    the green worker, stopped through scheduler_handle::post, answered stopped",
        "remote:    main woke on the std::thread's remote_event (count 1)",
    ],
    "clone": ["clone backend"] + COMMON + [
        "foreign:   none: a clone object is a kernel-thread object, usable from any thread",
    ],
}


def check(program, backend):
    run = subprocess.run([program, "--backend", backend], capture_output=True, text=True,
                         timeout=100)
    if run.returncode != 0:
        return [f"exit status {run.returncode}, stderr: {run.stderr.strip()}"]
    lines = run.stdout.splitlines()
    expected = EXPECTED[backend]
    problems = []
    if len(lines) != len(expected):
        problems.append(f"{len(lines)} lines, expected {len(expected)}")
    for got, want in zip(lines, expected):
        fixed_part_only = want.startswith("  what(): ")
        if (not got.startswith(want)) if fixed_part_only else got != want:
            problems.append(f"got {got!r}, expected {want!r}" +
                            (" at the start" if fixed_part_only else ""))
    return problems


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in EXPECTED:
        sys.exit(__doc__)
    problems = check(sys.argv[1], sys.argv[2])
    for problem in problems:
        print("cancellation example:", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
