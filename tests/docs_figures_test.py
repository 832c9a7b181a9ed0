#!/usr/bin/env python3
"""tests/docs_figures_test.py SOURCE_DIR — the book's plots and quoted figures come from
its committed run.

Concept: the book quotes one recorded run of the tour, committed in docs/data/tour/ (each
comparison's JSON document and the table it printed), and draws its plots from it with
one command, `python3 scripts/tour_report.py docs/data/tour --images docs/images/tour`,
which also writes docs/images/tour/SOURCES.json: for each image, the document it was
drawn from and the SHA-256 of that document, of the data and gnuplot script drawn, and
of the image. This test fails when

  1. a plot the book must have (REQUIRED), or any image in docs/images/tour, is not
     listed there, or a listed image or document is missing;
  2. an image is not the one that was drawn (its hash differs: replaced by hand);
  3. a document changed after its plots were drawn (its hash differs: the plot is
     older than its data);
  4. the report script, run again now on the committed documents, draws other data or
     another script than the committed plots were drawn from (the plot is older than
     the code that draws it), or draws a plot that is not listed;
  5. a figure the book quotes disagrees with its document. A quoted figure is marked
     where it stands, the number followed (within a few words of unit) by a comment
     that says where it comes from:
         2,052 KiB per GiB<!-- from fork_cost.json: fit.page_tables_kib_per_gib -->
     The expression after the colon is keys, indexes ([-1] is the last), min(...) and
     max(...) of a list, and + - * / with numbers (a string value gives its first word); the number must equal its
     value at the precision it is written with (5.4 for 5.43, 1,399 for 1399.2);
  6. a table the book marks `<!-- table from NAME.md -->` (Markdown rows, or a fenced
     block) is not, line for line, in what that run printed (docs/data/tour/NAME.md);
  7. the committed documents are not one run: their machines (processor, kernel build)
     differ, a table was printed by another run than its document measured (the machine
     lines above it differ), or the tour's record of the run (tour.json) is missing.
Each chapter of MIN_QUOTED and MIN_TABLES (those that quote the tour) must quote at
least so many figures and tables in this way.

Then it shows that it can fail: in a scratch copy of the book's data, images and
chapters it makes each kind of fault (BREAKAGES: a quoted number, a quote's key, a row
of a quoted table, a document, an image, a recorded script hash, a stray image, a table
of another run, a document of another machine, the missing record) and expects each to
be reported by the check for it.

Usage:  docs_figures_test.py SOURCE_DIR     (exit 0: all agree; 1: problems listed)
Explained in: docs/12-comparisons.md (the tour's report). Run by meson (tests/meson.build).
"""

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

DATA = "docs/data/tour"
IMAGES = "docs/images/tour"
# The plots that must be drawn from the committed run, and the chapter showing each.
REQUIRED = {
    "spawn_cost.png": "docs/12-comparisons.md",
    "fork_cost.png": "docs/12-comparisons.md",
    "fork_page_tables.png": "docs/01-three-models.md",
    "fork_copy_on_write.png": "docs/01-three-models.md",
    "kv_fork_cost.png": "docs/12-comparisons.md",
    "context_switch.png": "docs/12-comparisons.md",
    "scale.png": "docs/12-comparisons.md",
    "skynet.png": "docs/12-comparisons.md",
    "c10k.png": "docs/12-comparisons.md",
    "c10k_memory.png": "docs/12-comparisons.md",
    "blocking_hazard_trace.png": "docs/05-scheduler.md",
    "policies_shares.png": "docs/14-scheduling-policies.md",
    "policies_response.png": "docs/14-scheduling-policies.md",
    "blocking_hazard_preempt_trace.png": "docs/08-reactor.md",
}
# Chapters that must quote at least so many figures, and mark so many tables: those that
# quote the tour (chapter 11's own figures are spindle-bench's, measured in its text).
MIN_QUOTED = {"docs/01-three-models.md": 10, "docs/10-spindle-kv.md": 4,
              "docs/11-performance.md": 2, "docs/12-comparisons.md": 60, "README.md": 1,
              "docs/14-scheduling-policies.md": 20}
MIN_TABLES = {"docs/01-three-models.md": 1, "docs/10-spindle-kv.md": 1,
              "docs/12-comparisons.md": 9,
              "docs/14-scheduling-policies.md": 1}

NUMBER = r"\d[\d,\u202f ]*\d(?:\.\d+)?|\d(?:\.\d+)?"
QUOTE = re.compile(r"(" + NUMBER + r")[^\d<>]{0,24}?<!-- from ([\w.-]+\.json): (.+?) -->")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def evaluate(expression, doc):
    """The value of a quote's expression over `doc`: names and attributes are keys,
    subscripts are indexes or keys, min(...) and max(...) take a list's least and
    greatest, and + - * / combine numbers."""
    def value(node):
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Name):
            return doc[node.id]
        if isinstance(node, ast.Attribute):
            return value(node.value)[node.attr]
        if isinstance(node, ast.Subscript):
            return value(node.value)[value(node.slice)]
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("min", "max") and len(node.args) == 1 and not node.keywords):
            return {"min": min, "max": max}[node.func.id](value(node.args[0]))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp):
            operations = {ast.Add: float.__add__, ast.Sub: float.__sub__,
                          ast.Mult: float.__mul__, ast.Div: float.__truediv__}
            if type(node.op) in operations:
                return operations[type(node.op)](float(value(node.left)), float(value(node.right)))
        raise ValueError(f"not allowed in a quote: {ast.dump(node)}")
    return value(ast.parse(expression, mode="eval"))


def quote_problems(chapter_path, data):
    """Problems of the quoted figures of one chapter, and how many it quotes."""
    text = open(chapter_path).read()
    problems, count = [], 0
    for match in QUOTE.finditer(text):
        count += 1
        written, source, expression = match.group(1), match.group(2), match.group(3)
        line = text.count("\n", 0, match.start()) + 1
        where = f"{os.path.basename(chapter_path)}:{line}: {written!r} from {source}: {expression}"
        path = os.path.join(data, source)
        if not os.path.exists(path):
            problems.append(f"{where}: {source} is not in {DATA}")
            continue
        try:
            value = evaluate(expression, json.load(open(path)))
            # A string such as a load average ("16.77 17.41 12.13") gives its first number.
            value = float(value.split()[0] if isinstance(value, str) else value)
        except (KeyError, IndexError, TypeError, ValueError, SyntaxError) as e:
            problems.append(f"{where}: the expression does not evaluate ({e!r})")
            continue
        number = float(re.sub(r"[,\u202f ]", "", written))
        decimals = len(written.split(".")[1]) if "." in written else 0
        if abs(value - number) > 0.5 * 10 ** -decimals * (1 + 1e-9):
            problems.append(f"{where}: the document says {value:g}")
    return problems, count


# A marked table: Markdown rows, or the lines of a fenced block (a script's own columns).
TABLE = re.compile(r"<!-- table from ([\w.-]+\.md) -->\n(?:```\n)?((?:(?!```)[^\n]+\n)+)")


def table_problems(chapter_path, data):
    """Problems of the tables a chapter marks as printed by the committed run, and how
    many it marks."""
    text = open(chapter_path).read()
    problems, count = [], 0
    for match in TABLE.finditer(text):
        count += 1
        source = match.group(1)
        line = text.count("\n", 0, match.start()) + 1
        path = os.path.join(data, source)
        printed = set(open(path).read().splitlines()) if os.path.exists(path) else set()
        for offset, row in enumerate(match.group(2).splitlines(), 1):
            if row not in printed:
                problems.append(f"{os.path.basename(chapter_path)}:{line + offset}: the row is "
                                f"not in {DATA}/{source}: {row[:80]}")
    return problems, count


def redraw(root, scratch):
    """Runs the report script on the committed documents into `scratch`; returns its
    SOURCES.json, or raises RuntimeError with the script's output."""
    done = subprocess.run([sys.executable, os.path.join(root, "scripts/tour_report.py"),
                           os.path.join(root, DATA), "--images", scratch],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("tour_report.py --images failed: " + done.stdout + done.stderr)
    return json.load(open(os.path.join(scratch, "SOURCES.json")))["images"]


def run_problems(data):
    """Problems of the committed run itself: its documents must come from one run of the
    tour on one machine (the same processor and kernel build, and the tour's own record,
    tour.json), and each table as printed must be the one its document was measured with
    (the machine lines a program prints above its table are those of its document)."""
    problems, machines = [], {}
    if not os.path.exists(os.path.join(data, "tour.json")):
        problems.append(f"{DATA}/tour.json, the tour's record of its run, is missing")
    for name in sorted(os.listdir(data)):
        if not name.endswith(".json") or name == "tour.json":
            continue
        document = json.load(open(os.path.join(data, name)))
        if "machine" not in document:  # a trace, not a comparison's document
            continue
        machine = document["machine"]
        machines[name] = (machine.get("cpu_model"), machine.get("kernel"))
        table = os.path.join(data, name[:-5] + ".md")
        printed = open(table).read() if os.path.exists(table) else ""
        if printed.startswith("Machine:") and (
                f"Load average at the start: {machine.get('load_average')}\n" not in printed
                or f"Kernel {machine.get('kernel')}," not in printed):
            problems.append(f"{DATA}/{name[:-5]}.md was printed by another run than {name} "
                            "measured (its machine lines differ)")
    if len(set(machines.values())) > 1:
        problems.append(f"the documents in {DATA} are not from one run on one machine: "
                        + ", ".join(f"{n}: {m[1]}" for n, m in sorted(machines.items())))
    return problems


def problems_of(root):
    """Everything wrong with the book's figures under `root` (a checkout or a copy)."""
    data, images = os.path.join(root, DATA), os.path.join(root, IMAGES)
    manifest_path = os.path.join(images, "SOURCES.json")
    if not os.path.exists(manifest_path):
        return [f"{IMAGES}/SOURCES.json is missing: python3 scripts/tour_report.py {DATA} "
                f"--images {IMAGES}"]
    listed = json.load(open(manifest_path))["images"]
    problems = [f"{image} is not drawn from the committed run (not in SOURCES.json)"
                for image in sorted(set(REQUIRED) | {i for i in os.listdir(images)
                                                     if i.endswith(".png")}) if image not in listed]
    problems += run_problems(data)
    for image, entry in sorted(listed.items()):
        image_path, source = os.path.join(images, image), os.path.join(data, entry["source"])
        if not os.path.exists(image_path) or not os.path.exists(source):
            problems.append(f"{image}: the image or its document {entry['source']} is missing")
            continue
        if sha256(image_path) != entry["image_sha256"]:
            problems.append(f"{image} is not the image that was drawn (its hash differs)")
        if sha256(source) != entry["source_sha256"]:
            problems.append(f"{image} is older than {entry['source']}, which changed after "
                            "it was drawn")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            now = redraw(root, scratch)
        except RuntimeError as e:
            return problems + [str(e)]
    for image, entry in sorted(now.items()):
        if image not in listed:
            problems.append(f"{image}: drawn from the committed run but not in the book")
            continue
        for key, what in (("data_sha256", "other data"), ("script_sha256", "another gnuplot script")):
            if entry[key] != listed[image][key]:
                problems.append(f"{image} is older than the report script, which now draws "
                                f"it from {entry['source']} with {what}: redraw it")
    for image, chapter in sorted(REQUIRED.items()):
        if f"images/tour/{image}" not in open(os.path.join(root, chapter)).read():
            problems.append(f"{chapter} does not show images/tour/{image}")
    chapters = ["docs/" + c for c in sorted(os.listdir(os.path.join(root, "docs")))
                if c.endswith(".md")] + ["README.md"]
    for chapter in chapters:
        found, count = quote_problems(os.path.join(root, chapter), data)
        problems += found
        found, tables = table_problems(os.path.join(root, chapter), data)
        problems += found
        if tables < MIN_TABLES.get(chapter, 0):
            problems.append(f"{chapter} marks {tables} tables from {DATA}, expected "
                            f"{MIN_TABLES[chapter]} or more")
        if count < MIN_QUOTED.get(chapter, 0):
            problems.append(f"{chapter} quotes {count} figures from {DATA}, "
                            f"expected {MIN_QUOTED[chapter]} or more")
    return problems


def copy_of_book(root, scratch):
    """A copy of what problems_of reads: the docs, and the report script."""
    for part in ("docs", "scripts"):
        shutil.copytree(os.path.join(root, part), os.path.join(scratch, part))
    shutil.copyfile(os.path.join(root, "README.md"), os.path.join(scratch, "README.md"))
    return scratch


def break_a_quote(copy):
    path = os.path.join(copy, "docs/01-three-models.md")
    text = open(path).read()
    match = QUOTE.search(text)
    digit = match.start(1)
    changed = "1" if text[digit] != "1" else "2"
    open(path, "w").write(text[:digit] + changed + text[digit + 1:])


def break_a_key(copy):
    path = os.path.join(copy, "docs/01-three-models.md")
    text = open(path).read()
    match = QUOTE.search(text)
    open(path, "w").write(text[:match.start(3)] + "no_such_key" + text[match.end(3):])


def change_a_table(copy):
    path = os.path.join(copy, "docs/12-comparisons.md")
    text = open(path).read()
    match = next(m for m in TABLE.finditer(text) if m.group(1) == "fork_cost.md")
    row = match.start(2) + match.group(2).index("\n| 4 ")
    open(path, "w").write(text[:row] + text[row:].replace(" KiB ", " MiB ", 1))


def change_a_fenced_table(copy):
    path = os.path.join(copy, "docs/12-comparisons.md")
    text = open(path).read()
    fenced = next(m for m in TABLE.finditer(text) if m.group(1) == "kv_fork_cost.md")
    row = fenced.start(2) + fenced.group(2).index("redis-server")
    open(path, "w").write(text[:row] + text[row:].replace("0", "9", 1))


def change_a_document(copy):
    path = os.path.join(copy, DATA, "fork_cost.json")
    doc = json.load(open(path))
    doc["steps"][-1]["page_tables_kib"] += 1
    json.dump(doc, open(path, "w"), indent=2)


def replace_an_image(copy):
    path = os.path.join(copy, IMAGES, "fork_page_tables.png")
    open(path, "ab").write(b"\0")


def record_another_script(copy):
    path = os.path.join(copy, IMAGES, "SOURCES.json")
    manifest = json.load(open(path))
    manifest["images"]["fork_copy_on_write.png"]["script_sha256"] = "0" * 64
    json.dump(manifest, open(path, "w"))


def add_a_stray_image(copy):
    shutil.copyfile(os.path.join(copy, IMAGES, "spawn_cost.png"),
                    os.path.join(copy, IMAGES, "spawn_cost_of_another_run.png"))


def print_a_table_in_another_run(copy):
    path = os.path.join(copy, DATA, "spawn_cost.md")
    text = open(path).read()
    open(path, "w").write(text.replace("Load average at the start: ", "Load average at the start: 9", 1))


def measure_on_another_machine(copy):
    path = os.path.join(copy, DATA, "context_switch.json")
    doc = json.load(open(path))
    doc["machine"]["kernel"] += "-another"
    json.dump(doc, open(path, "w"), indent=2)


def lose_the_tour_s_record(copy):
    os.remove(os.path.join(copy, DATA, "tour.json"))


# Each breakage, and a fragment of the problem that must report it.
BREAKAGES = ((break_a_quote, "the document says"),
             (break_a_key, "does not evaluate"),
             (change_a_table, "the row is not in"),
             (change_a_fenced_table, "kv_fork_cost.md"),
             (change_a_document, "changed after it was drawn"),
             (replace_an_image, "not the image that was drawn"),
             (record_another_script, "another gnuplot script"),
             (add_a_stray_image, "spawn_cost_of_another_run.png is not drawn"),
             (print_a_table_in_another_run, "printed by another run"),
             (measure_on_another_machine, "not from one run"),
             (lose_the_tour_s_record, "tour.json"))


def self_test(root):
    """Problems of the test itself: a breakage it does not catch, each by its own check."""
    missed = []
    for breakage, expected in BREAKAGES:
        with tempfile.TemporaryDirectory() as scratch:
            copy = copy_of_book(root, os.path.join(scratch, "book"))
            breakage(copy)
            problems = problems_of(copy)
            if not any(expected in problem for problem in problems):
                missed.append(f"the self-test's {breakage.__name__} was not caught as "
                              f"{expected!r}: {problems}")
            else:
                print(f"caught: {breakage.__name__}")
    return missed


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().split("\n\n")[-2], file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    problems = problems_of(root)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"the book's plots are drawn from {DATA}, and its quoted figures agree with it")
    problems = self_test(root)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
