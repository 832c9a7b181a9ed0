#!/usr/bin/env python3
"""fork, vfork, pthread_create and a spindle clone thread, seen by strace: the trace that
docs/01-three-models.md shows must be the one this machine gives today.

Runs PROGRAM (docs/programs/fork_and_clone_are_one_call.cpp, built by tests/meson.build)
under `strace -f -qq -e signal=none -e trace=clone,clone3,fork,vfork`, normalises the
lines (process and thread ids numbered in order of first appearance, PID1, PID2, ...;
every hexadecimal number, addresses and the stack size, written 0x...) and compares them
with TRACE (docs/programs/fork_and_clone_are_one_call.trace). -qq and signal=none leave
out the children's exits and the SIGCHLDs, whose place among the parent's lines is a race.
SPINDLE_UPDATE_TRANSCRIPT=1 rewrites TRACE from this run (docs/programs/run_all.sh does).
CHAPTER, the chapter that quotes the trace, must hold each of its lines as they are.

The comparison is shown to catch a change: the expected trace with CLONE_VM taken out
of the pthread_create line must be reported as different.

Usage: kernel_clone_trace_test.py PROGRAM TRACE [CHAPTER [SANITIZE]]
  SANITIZE, meson's b_sanitize: the test skips itself (exit 77) when it is not "none",
  since the sanitizers' own threads would be in the trace.

Explained in: docs/01-three-models.md (One kernel function: fork and clone).
"""

import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile

STRACE_ARGS = ["-f", "-qq", "-e", "signal=none", "-e", "trace=clone,clone3,fork,vfork"]
SKIP = 77


def normalise(lines):
    """strace's lines with ids numbered by first appearance and hex numbers blanked."""
    ids = {}

    def name(match):
        number = match.group(2)
        ids.setdefault(number, f"PID{len(ids) + 1}")
        return match.group(1) + ids[number] + match.group(3)

    out = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        line = re.sub(r"0x[0-9a-f]+", "0x...", line)
        # The id that starts each line (strace -f), the one clone returns, and the one
        # the kernel writes at parent_tid.
        line = re.sub(r"^()(\d+)( )\s*", name, line)  # strace pads it to 5 places
        line = re.sub(r"(\[)(\d+)(\])", name, line)
        line = re.sub(r"(= )(\d+)($)", name, line)
        line = re.sub(r" +(?== )", " ", line)  # strace pads short calls to a column
        out.append(line)
    return out


def run_traced(program):
    """The normalised trace of one run, or None (after saying why) if strace cannot trace."""
    with tempfile.TemporaryDirectory() as work:
        raw = os.path.join(work, "trace")
        result = subprocess.run(["strace", "-o", raw] + STRACE_ARGS + [program],
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            if "ptrace" in result.stderr or "Operation not permitted" in result.stderr:
                print("kernel_clone_trace_test: strace cannot trace here:", result.stderr.strip())
                return None
            sys.exit(f"kernel_clone_trace_test: {program} failed under strace "
                     f"(status {result.returncode}):\n{result.stdout}{result.stderr}")
        with open(raw, encoding="utf-8") as f:
            return normalise(f.readlines())


def differences(expected, actual):
    return list(difflib.unified_diff(expected, actual, "expected (the book's trace)",
                                     "this run", lineterm=""))


def main(argv):
    if len(argv) not in (3, 4, 5):
        print(__doc__.split("Usage:")[1].split("Explained")[0].strip(), file=sys.stderr)
        return 2
    program, trace = argv[1], argv[2]
    chapter = argv[3] if len(argv) > 3 else None
    if len(argv) == 5 and argv[4] != "none":
        print(f"kernel_clone_trace_test: a sanitised build ({argv[4]}): its threads would be "
              "in the trace: skipped")
        return SKIP
    if shutil.which("strace") is None:
        print("kernel_clone_trace_test: strace is not installed (scripts/run.sh installs it)")
        return 1
    actual = run_traced(program)
    if actual is None:
        return SKIP
    if os.environ.get("SPINDLE_UPDATE_TRANSCRIPT") == "1":
        with open(trace, "w", encoding="utf-8") as f:
            f.write("\n".join(actual) + "\n")
        print(f"kernel_clone_trace_test: wrote {trace}")
        return 0
    with open(trace, encoding="utf-8") as f:
        expected = normalise(f.readlines())
    print("\n".join(actual))
    diff = differences(expected, actual)
    if diff:
        print("\n".join(diff))
        print(f"kernel_clone_trace_test: the trace differs from {trace}; if the change is "
              "meant, SPINDLE_UPDATE_TRANSCRIPT=1 rewrites it (and docs/01 quotes it)")
        return 1
    if chapter:
        with open(chapter, encoding="utf-8") as f:
            quoted = set(f.read().splitlines())
        missing = [line for line in expected if line not in quoted]
        if missing:
            print(f"kernel_clone_trace_test: {chapter} does not quote these lines of {trace}:")
            print("\n".join(missing))
            return 1
    altered = [line.replace("CLONE_VM|", "", 1) if "clone3(" in line else line for line in expected]
    if altered == expected or not differences(altered, actual):
        print("kernel_clone_trace_test: an altered trace (no CLONE_VM for pthread_create) "
              "was not told apart from this run: the comparison cannot fail")
        return 1
    print("kernel_clone_trace_test: the trace matches; an altered one is told apart")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
