#!/usr/bin/env python3
"""Fails when a chapter's exercises and the appendix of answers stop agreeing.

Every chapter docs/NN-name.md must open with its crux (a line "> **The crux:** ..." after
the title), have a "## Summary" of 5 to 8 lines before its exercises, and mark each
exercise with its difficulty ("1. [easy] ...", [medium] or [hard]). docs/appendix-answers.md
must hold exactly one entry per exercise, "**NN.K** [level] ...", in the chapters' order,
with the chapter's difficulty. An entry that says "Program: `docs/answers/X.cpp`" names a
file that must exist and be built and run by docs/answers/meson.build.

Usage:  check_appendix.py PROJECT_ROOT    (exit 0: all agree; 1: the disagreements listed)
        check_appendix.py --self-test     (shows that each kind of disagreement is caught)

Explained in: docs/README.md (how to read this book) and docs/appendix-answers.md.
"""

import os
import re
import shutil
import sys
import tempfile

CHAPTER = re.compile(r"^\d\d-[A-Za-z0-9-]+\.md$")
EXERCISE = re.compile(r"^(\d+)\. (\[(easy|medium|hard)\] )?")
ENTRY = re.compile(r"^\*\*(\d\d)\.(\d+)\*\* \[(easy|medium|hard)\] ")
PROGRAM = re.compile(r"Program: `docs/answers/([A-Za-z0-9_]+)\.cpp`")


def exercises_of(path, errors):
    """[(number, level)] of the chapter's exercises; checks its crux and summary."""
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if not any(line.startswith("> **The crux:**") for line in lines[1:4]):
        errors.append(f"docs/{name}: no crux ('> **The crux:** ...') just after the title")
    if "## Exercises" not in lines:
        return []
    start = lines.index("## Exercises")
    if "## Summary" not in lines[:start]:
        errors.append(f"docs/{name}: no '## Summary' before '## Exercises'")
    else:
        summary = lines[lines.index("## Summary") + 1:start]
        length = len([line for line in summary if line.strip()])
        if not 5 <= length <= 8:
            errors.append(f"docs/{name}: the summary has {length} lines, not 5 to 8")
    found = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        match = EXERCISE.match(line)
        if not match:
            continue
        if not match.group(3):
            errors.append(f"docs/{name}: exercise {match.group(1)} has no difficulty "
                          "([easy], [medium] or [hard])")
        found.append((int(match.group(1)), match.group(3)))
    return found


def check(root):
    errors = []
    docs = os.path.join(root, "docs")
    wanted = []
    for name in sorted(os.listdir(docs)):
        if CHAPTER.match(name):
            for number, level in exercises_of(os.path.join(docs, name), errors):
                wanted.append((name[:2], number, level))
    appendix = os.path.join(docs, "appendix-answers.md")
    if not os.path.exists(appendix):
        return errors + ["docs/appendix-answers.md does not exist"]
    with open(appendix, encoding="utf-8") as f:
        text = f.read()
    entries = [(m.group(1), int(m.group(2)), m.group(3))
               for m in (ENTRY.match(line) for line in text.split("\n")) if m]
    have = {(c, n): level for c, n, level in entries}
    if len(have) != len(entries):
        errors.append("docs/appendix-answers.md: some exercise has two entries")
    for chapter, number, level in wanted:
        if (chapter, number) not in have:
            errors.append(f"docs/appendix-answers.md: no entry **{chapter}.{number}**")
        elif level and have[(chapter, number)] != level:
            errors.append(f"docs/appendix-answers.md: **{chapter}.{number}** is "
                          f"[{have[(chapter, number)]}], the chapter says [{level}]")
    for chapter, number, _ in entries:
        if not any(c == chapter and n == number for c, n, _ in wanted):
            errors.append(f"docs/appendix-answers.md: **{chapter}.{number}** answers no exercise")
    if [(c, n) for c, n, _ in entries] != sorted((c, n) for c, n, _ in entries):
        errors.append("docs/appendix-answers.md: the entries are not in the chapters' order")
    build = os.path.join(docs, "answers", "meson.build")
    built = open(build, encoding="utf-8").read() if os.path.exists(build) else ""
    for program in sorted(set(PROGRAM.findall(text))):
        if not os.path.exists(os.path.join(docs, "answers", program + ".cpp")):
            errors.append(f"docs/appendix-answers.md: no program docs/answers/{program}.cpp")
        elif f"'{program}'" not in built:
            errors.append(f"docs/answers/meson.build does not build and run {program}")
    return errors


def self_test():
    """Breaks a copy of the book in each way the checker knows; each must be reported."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    if check(root):
        print("SELF-TEST FAILED: the book itself does not pass")
        return 1
    breakages = {
        "no entry **01.1**": ("appendix-answers.md", r"\*\*01\.1\*\*", "**01.99**"),
        "has no difficulty": ("03-context-switch.md", r"^1\. \[medium\] ", "1. "),
        "no crux": ("05-scheduler.md", r"> \*\*The crux:\*\*", "> The question:"),
        "no '## Summary'": ("07-deadlock.md", r"^## Summary$", "## In short"),
        "the chapter says": ("appendix-answers.md", r"^\*\*00\.1\*\* \[easy\]", "**00.1** [hard]"),
        "no program": ("appendix-answers.md", r"ch02_ping_pong\.cpp", "ch02_no_such_answer.cpp"),
    }
    failed = 0
    for expected, (name, pattern, replacement) in breakages.items():
        with tempfile.TemporaryDirectory() as copy:
            shutil.copytree(os.path.join(root, "docs"), os.path.join(copy, "docs"),
                            ignore=shutil.ignore_patterns("images", "programs"))
            path = os.path.join(copy, "docs", name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            broken = re.sub(pattern, replacement, text, count=1, flags=re.M)
            assert broken != text, pattern
            with open(path, "w", encoding="utf-8") as f:
                f.write(broken)
            reported = check(copy)
        caught = any(expected in error for error in reported)
        print(("caught: " if caught else "SELF-TEST FAILED: not caught: ") + expected)
        failed += not caught
    print("self-test passed" if not failed else "self-test failed")
    return 1 if failed else 0


def main(argv):
    arguments = argv[1:]
    if arguments == ["--self-test"]:
        return self_test()
    if len(arguments) != 1:
        sys.stderr.write("usage: check_appendix.py PROJECT_ROOT | --self-test\n")
        return 2
    errors = check(arguments[0])
    print("\n".join(errors) + f"\n{len(errors)} disagreement(s) between the exercises and "
          "the appendix." if errors else
          "every exercise has its difficulty and its entry in the appendix.")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
