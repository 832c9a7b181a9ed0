#!/usr/bin/env python3
"""scripts/tour_report.py DIR — turns what the tour measured into a report and its plots.

Concept: scripts/tour.sh runs every comparison of examples/compare with --json-file, so
DIR holds, for each program, its table as printed (NAME.md) and its measurements (NAME.json),
and the blocking-call hazard's scheduler trace (blocking_hazard.trace.json). This script
reads them and writes, into the same folder,

  report.md          the report: the machine, then one section per comparison, each with
                     its plot, the table the program printed, and what to read in it;
  plots/NAME.png     each plot, drawn by gnuplot (Debian's gnuplot-nox) from
  plots/NAME.svg     plots/NAME.dat and plots/NAME.gp, which stay beside them so that a
                     reader can redraw a plot or change it.

Besides the programs of examples/compare, the full tour runs scripts/kv_fork_cost.sh
(BGSAVE's fork in redis-server and spindle-kv), which writes kv_fork_cost.json and
kv_fork_cost.md in the same manner.

A reader's report stands beside the book's: for any DIR but the book's committed run
(docs/data/tour, below), report.md begins with the headline figures of this run beside
the book's, in a column "book (docs/data/tour)", and each section adds the table the
book's run printed.

A comparison that did not run (its JSON is missing) gets a section that says so, never
an empty plot. The script computes nothing that the programs did not measure: each
number in the text is read from a JSON document, and the ratios are between figures of
the same run.

The book's plots are drawn the same way from the run the book quotes, committed with
its tables in docs/data/tour/: --images FOLDER draws the report in a scratch folder and
copies each plot's PNG into FOLDER, with FOLDER/SOURCES.json naming the document each
came from and the SHA-256 of the document, of what was drawn and of the image, so that
tests/docs_figures_test.py fails when a plot is not the one its committed JSON draws.

Usage:  tour_report.py DIR     (exit 0: report written; 1: a document or gnuplot failed)
        tour_report.py docs/data/tour --images docs/images/tour     the book's plots
        GNUPLOT=PROGRAM tour_report.py DIR     draws with PROGRAM instead of gnuplot
Explained in: docs/12-comparisons.md (the tour's report). Run by scripts/tour.sh.
"""

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

# The comparisons, in the report's order: file name, title.
SECTIONS = (
    ("spawn_cost", "Spawn cost: starting a thread or a process and waiting for it"),
    ("fork_cost", "Why fork is not free: fork against the parent's memory"),
    ("kv_fork_cost", "BGSAVE's fork in a real server: redis-server and spindle-kv"),
    ("context_switch", "Context switch: handing the processor from one thread to another"),
    ("scale", "Memory per thread: how many fit, and what each costs while parked"),
    ("skynet", "Skynet: a tree of threads that sum their leaves (a million at full size)"),
    ("c10k", "C10K: spindle-kv under redis-benchmark, rising connections"),
    ("idle_cpu", "An idle program: processor time while every thread is parked"),
)

# The comparisons that only the full tour runs: why the quick one leaves them out.
FULL_TOUR_ONLY = {
    "kv_fork_cost": "scripts/kv_fork_cost.sh fills three servers with up to 2,000,000 keys "
                    "and forks each 25 times: 5.2 minutes at a load average of 17",
}

# The book's list of its plots and where each came from (draw_into_book).
SOURCES = "SOURCES.json"

# Both files gnuplot writes for each plot: terminal, extension.
TERMINALS = (
    ("pngcairo size 900,540 noenhanced font 'sans,10'", "png"),
    ("svg size 900,540 dynamic noenhanced font 'sans,10'", "svg"),
)


class ReportError(Exception):
    """A document is missing what the report needs, or a plot could not be drawn."""


# Tick marks for a log axis of nanoseconds, labelled in the unit a reader would say.
NS_TICS = ("set ytics (" + ", ".join(
    f'"{label}" {value:g}' for label, value in (
        ("1 ns", 1), ("10 ns", 10), ("100 ns", 100), ("1 µs", 1e3), ("10 µs", 1e4),
        ("100 µs", 1e5), ("1 ms", 1e6), ("10 ms", 1e7), ("100 ms", 1e8), ("1 s", 1e9),
        ("10 s", 1e10))) + ")\n")


def duration(ns):
    """`ns` nanoseconds as a reader would say it: "135 ns", "31 µs", "1.4 ms"."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            value = ns / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{ns:.0f} ns"


def decade_below(value):
    """The power of ten at or below `value` / 3, where a log axis can start so that the
    smallest bar stands clear of the bottom."""
    return 10 ** math.floor(math.log10(max(value, 1e-9) / 3))


def log_range_with_margin(values):
    """A gnuplot range for a log axis over `values` with a margin at both ends, so that
    the first and last points and their error bars stand clear of the border."""
    return f"[{min(values) / 1.6:g}:{max(values) * 1.6:g}]"


def quoted(text):
    """`text` as a gnuplot string in double quotes."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Plotter:
    """Writes NAME.dat and NAME.gp into plots/ and runs gnuplot once per terminal."""

    def __init__(self, folder):
        self.folder = os.path.join(folder, "plots")
        os.makedirs(self.folder, exist_ok=True)
        wanted = os.environ.get("GNUPLOT", "gnuplot")  # another gnuplot, or none (a test)
        self.gnuplot = shutil.which(wanted)
        self.source = None  # the file the plots being drawn come from
        self.drawn = []     # (name, source) of each plot drawn, in order
        if self.gnuplot is None:
            raise ReportError(f"gnuplot is not installed (no {wanted!r} on PATH): "
                              "apt-get install gnuplot-nox (scripts/run.sh installs it)")

    def draw(self, name, data_blocks, script):
        """Draws plot `name`: `data_blocks` (lists of rows, written as gnuplot data blocks
        separated by two blank lines, index 0, 1, ...) and the gnuplot `script` that plots
        them from the file given as the variable `data`. Returns the image paths, relative
        to the report."""
        data_path = os.path.join(self.folder, name + ".dat")
        with open(data_path, "w") as out:
            for block in data_blocks:
                for row in block:
                    out.write(" ".join(quoted(c) if isinstance(c, str) else repr(c) for c in row))
                    out.write("\n")
                out.write("\n\n")
        script_path = os.path.join(self.folder, name + ".gp")
        with open(script_path, "w") as out:
            out.write(f"# {name}.gp — drawn by scripts/tour_report.py; redraw with\n")
            out.write(f"#   gnuplot -e 'data=\"{name}.dat\"; set terminal pngcairo; "
                      f"set output \"{name}.png\"' {name}.gp\n")
            out.write("if (!exists(\"data\")) data = " + quoted(name + ".dat") + "\n")
            out.write(script)
        for terminal, extension in TERMINALS:
            image = name + "." + extension
            prologue = f"data={quoted(name + '.dat')}; set terminal {terminal}; set output {quoted(image)}"
            done = subprocess.run([self.gnuplot, "-e", prologue, name + ".gp"], cwd=self.folder,
                                  capture_output=True, text=True)
            if done.returncode != 0 or not os.path.getsize(os.path.join(self.folder, image)):
                raise ReportError(f"gnuplot failed on plots/{name}.gp ({extension}):\n"
                                  + done.stderr.strip())
        self.drawn.append((name, self.source))
        return "plots/" + name + ".png", "plots/" + name + ".svg"


def median(spread):
    return spread["median"] if spread else None


def printed_table(folder, name):
    """What the program printed after its machine lines: its tables and notes."""
    path = os.path.join(folder, name + ".md")
    if not os.path.exists(path):
        return ""
    text = open(path).read()
    machine_end = text.find("\n\n")
    table = text[machine_end + 2:].strip() if text.startswith("Machine:") else text.strip()
    # A script's table aligned with spaces (kv_fork_cost.sh's) keeps its columns in a block.
    return table if "|" in table or not table else "```\n" + table + "\n```"


def ratio(a, b):
    return f"{a / b:,.0f}" if a / b >= 10 else f"{a / b:.1f}"


# Each model's colour in the bar charts, so that the three models (and the peers) can be
# told apart side by side: by the first word of the bar's label.
MODEL_COLOURS = {"green": 0x308030, "mn": 0xd08020, "clone": 0x4878a8, "pthread": 0x4878a8,
                 "Boost.Fiber": 0x8060a0}


def model_colour(label):
    """The colour of a bar labelled `label`, as a number gnuplot reads as RGB."""
    return MODEL_COLOURS.get(label.split(" ")[0], 0x909090)


def bar_chart(plot, name, title, ylabel, bars, settings="", log_ns=False):
    """Draws plot `name`: one bar per (label, spread) in `bars` at the spread's median,
    coloured by its model (model_colour), with its p10-p90 as the error bar and its
    median written above it. `settings` adds
    gnuplot lines (an axis, margins); `log_ns` draws a log axis of nanoseconds that starts
    below the shortest bar, so that every bar has a readable height."""
    rows = [[i, label, s["median"], s["p10"], s["p90"], duration(s["median"]), model_colour(label)]
            for i, (label, s) in enumerate(bars)]
    if log_ns:
        low = decade_below(min(min(s["p10"], s["median"]) for _, s in bars))
        # and ends a decade or so above the highest error bar, to leave room for its label
        high = 10 ** math.ceil(math.log10(max(max(s["p90"], s["median"]) for _, s in bars) * 3))
        settings = f"set logscale y\nset yrange [{low:g}:{high:g}]\n" + NS_TICS + settings
    return plot.draw(name, [rows], f"""
set title {quoted(title + " (median, bar: p10-p90)")}
set ylabel {quoted(ylabel)}
set grid ytics
set style fill solid 0.6 border -1
set boxwidth 0.6
set xrange [-0.6:*]
unset key
{settings}
plot data using 1:3:7:xtic(2) with boxes lc rgb variable, \\
     data using 1:3:4:5 with yerrorbars lc rgb "black" pt 0, \\
     data using 1:5:6 with labels offset 0,0.8 font ",9"
""")


def line_chart(plot, name, title, xlabel, ylabel, blocks, lines, key="top right", settings=""):
    """Draws plot `name`: `lines` (gnuplot plot clauses over data index i of `blocks`)
    against a logarithmic x axis with a margin at both ends (a point at an end would sit
    on the border, its error bar hidden), with a y axis from zero."""
    xs = [row[0] for block in blocks for row in block]
    return plot.draw(name, blocks, f"""
set title {quoted(title)}
set xlabel {quoted(xlabel + " (log scale)")}
set ylabel {quoted(ylabel)}
set logscale x
set xrange {log_range_with_margin(xs)}
set grid
set key {key}
set yrange [0:*]
{settings}
plot """ + ", \\\n     ".join(lines) + "\n")


# --- one function per comparison: its plot, and what to read in it -------------------

def spawn_cost(doc, plot):
    images = bar_chart(plot, "spawn_cost", "Start a unit of execution and wait for it",
                       "time per spawn + wait (log scale)",
                       [(r["model"], r["ns_per_operation"]) for r in doc["results"]],
                       log_ns=True)
    by = {r["model"]: median(r["ns_per_operation"]) for r in doc["results"]}
    notes = []
    if "green" in by and "clone" in by:
        notes.append(f"A green spawn and join took {by['green']:.0f} ns; a clone thread's, "
                     f"{ratio(by['clone'], by['green'])} times as long (two system calls and "
                     "a kernel task to make and reap).")
    if "green" in by and "mn ×2" in by:
        notes.append(f"An M:N spawn and join on two workers took {by['mn ×2']:.0f} ns, "
                     f"{ratio(by['mn ×2'], by['green'])} times a green one.")
    if "fork" in by and "clone" in by:
        notes.append(f"fork took {ratio(by['fork'], by['clone'])} times a clone thread's spawn, "
                     "at this process's small size; the next section shows it grow with memory.")
    return images, notes


def fork_cost(doc, plot):
    gib = 1 << 20  # KiB in a GiB
    rows = []
    for s in doc["steps"]:
        x = s["rss_kib"] / gib
        row = [x]
        for key in ("fork_ns", "vfork_wait_ns", "clone_spawn_join_ns", "green_spawn_join_ns"):
            spread = s[key]
            row += [spread["median"], spread["p10"], spread["p90"]]
        rows.append(row)
    low, high = doc["published"]["fork_ms_per_gb"]
    images = plot.draw("fork_cost", [rows], f"""
set title "fork's latency grows with the parent's memory; clone and green stay flat"
set xlabel "parent's resident memory (GiB)"
set ylabel "time (log scale)"
set logscale y
set yrange [10:*]
{NS_TICS}
set grid
set key below horizontal maxrows 2 height 1
set bmargin 7
set samples 200
redis_low(x) = x > 0.01 ? {low} * 1e6 * x : 1/0
redis_high(x) = x > 0.01 ? {high} * 1e6 * x : 1/0
plot data using 1:2:3:4 with yerrorlines lc rgb "#c03030" title "fork", \\
     data using 1:5:6:7 with yerrorlines lc rgb "#d08020" title "vfork + wait", \\
     data using 1:8:9:10 with yerrorlines lc rgb "#4878a8" title "clone spawn + join", \\
     data using 1:11:12:13 with yerrorlines lc rgb "#308030" title "green spawn + join", \\
     redis_low(x) with lines dt 2 lc rgb "grey40" title "Redis: {low:g} ms per GB", \\
     redis_high(x) with lines dt 3 lc rgb "grey40" title "Redis: {high:g} ms per GB"
""")
    tables = fork_page_tables(doc, plot)
    writes = fork_copy_on_write(doc, plot)
    return [images + ("fork's latency against the parent's memory",),
            tables + ("The page tables fork copies, against the parent's memory",),
            writes + ("Copy-on-write: the faults and the time of writing after fork",)], \
        fork_notes(doc)


def fork_notes(doc):
    """What to read in fork's three plots: its line, the page tables and copy-on-write,
    from the fitted lines and the largest step."""
    fit, last = doc["fit"], doc["steps"][-1]
    low, high = doc["published"]["fork_ms_per_gb"]
    return [
        f"fork cost {fit['fork_ms_per_gib']:.1f} ms per GiB of resident memory here "
        f"(a straight line fits with r² = {fit['fork_r_squared']:.2f}), "
        f"{fit['fork_cpu_ms_per_gib']:.1f} ms per GiB of the parent's processor time; the "
        f"Redis documentation gives {low:g}-{high:g} ms per GB.",
        f"The page tables grew by {fit['page_tables_kib_per_gib']:,.0f} KiB per GiB in the "
        f"parent and {fit['child_page_tables_kib_per_gib']:,.0f} in the child (8 bytes per "
        f"4 KiB page is 2,048): at {last['rss_kib'] / 1024:,.0f} MiB the parent had "
        f"{last['page_tables_kib']:,} KiB and the child {last['child_page_tables_kib']:,.0f}, "
        "a copy made during the fork call.",
        f"Writing one byte in every page while a child shared them took "
        f"{fit['dirty_after_fork_faults_per_gib']:,.0f} faults per GiB (one per 4 KiB page "
        f"is 262,144) and {fit['dirty_after_fork_ms_per_gib']:,.0f} ms per GiB: at "
        f"{last['rss_kib'] / 1024:,.0f} MiB, {last['dirty_after_fork_minor_faults']:,.0f} "
        f"faults in {duration(last['dirty_after_fork_ns']['median'])}, where the fork "
        f"itself took {duration(last['fork_ns']['median'])}."]


def fork_page_tables(doc, plot):
    """The parent's page tables and the child's, against the parent's resident memory,
    beside the textbook's 8 bytes per 4 KiB page."""
    gib = 1 << 20  # KiB in a GiB
    rows = [[s["rss_kib"] / gib, s["page_tables_kib"] / 1024, s["child_page_tables_kib"] / 1024]
            for s in doc["steps"]]
    # The textbook's slope, drawn from the smallest step: the program's own page tables
    # (its libraries, its stacks) are there before the parent touches anything.
    x0, y0 = rows[0][0], rows[0][1]
    return plot.draw("fork_page_tables", [rows], f"""
set title "The page tables fork copies grow with the parent's memory"
set xlabel "parent's resident memory (GiB)"
set ylabel "page tables, VmPTE (MiB)"
set grid
set key top left
set xrange [0:*]
set yrange [0:*]
textbook(x) = x >= {x0:g} ? {y0:g} + 2 * (x - {x0:g}) : 1/0
set label 1 "where the lines lie on one another, the child's tables are the parent's size, at the textbook's slope" at graph 0.98, 0.06 right font ",9"
plot data using 1:2 with linespoints lc rgb "#c03030" pt 7 title "the parent's", \\
     data using 1:3 with linespoints lc rgb "#4878a8" pt 6 ps 1.6 title "the child's, just after fork", \\
     textbook(x) with lines dt 2 lc rgb "grey40" title "8 bytes more per 4 KiB page touched: 2 MiB per GiB"
""")


def fork_copy_on_write(doc, plot):
    """Writing one byte in every page while a child shares them: the copy-on-write faults
    (left axis) and the time (right axis), against the memory the parent touched."""
    rows = [[s["target_mib"] / 1024, s["dirty_after_fork_minor_faults"] / 1000,
             s["dirty_after_fork_ns"]["median"] / 1e9, s["dirty_after_fork_ns"]["p10"] / 1e9,
             s["dirty_after_fork_ns"]["p90"] / 1e9] for s in doc["steps"]]
    return plot.draw("fork_copy_on_write", [rows], """
set title "After fork, every page written is a fault and a copy"
set xlabel "memory the parent touched, then wrote again after fork (GiB)"
set ylabel "copy-on-write faults (thousands)"
set y2label "time to write every page (s; median, bar: p10-p90)"
set ytics nomirror
set y2tics
set grid
set key top left
set xrange [0:*]
set yrange [0:*]
set y2range [0:*]
one_per_page(x) = 262.144 * x
plot data using 1:2 with linespoints lc rgb "#c03030" pt 7 title "faults while writing", \\
     one_per_page(x) with lines dt 2 lc rgb "grey40" title "one per 4 KiB page: 262,144 per GiB", \\
     data using 1:3:4:5 axes x1y2 with yerrorlines lc rgb "#4878a8" pt 5 title "time to write (right axis)"
""")


def kv_fork_cost(doc, plot, fork_doc=None):
    """BGSAVE's fork in real servers (scripts/kv_fork_cost.sh): latest_fork_usec against
    the server's resident memory, one line per server, beside fork_cost's line if that
    comparison ran too."""
    blocks, lines = [], []
    colour = {"green": '"#308030"', "clone": '"#4878a8"', "redis": '"#c03030"'}
    servers = list(dict.fromkeys(r["server"] for r in doc["results"]))
    for i, server in enumerate(servers):
        mine = sorted((r for r in doc["results"] if r["server"] == server),
                      key=lambda r: r["keys"])
        blocks.append([[r["rss_kib"] / 1024, r["median_usec"] / 1000,
                        min(r["latest_fork_usec"]) / 1000, max(r["latest_fork_usec"]) / 1000]
                       for r in mine])
        lines.append(f"data index {i} using 1:2:3:4 with yerrorlines lc rgb "
                     f"{colour.get(mine[0]['name'], quoted('black'))} pt {i + 5} "
                     f"title {quoted(server)}")
    notes = []
    if fork_doc is not None:
        fit = fork_doc["fit"]
        title = f"fork_cost's line: {fit['fork_ms_per_gib']:.1f} ms per GiB"
        lines.append(f"{fit['fork_ms_per_gib'] / 1024:g} * x + {fit['fork_intercept_ms']:g} "
                     f"with lines dt 2 lc rgb \"grey40\" title {quoted(title)}")
    images = plot.draw("kv_fork_cost", blocks, """
set title "BGSAVE's fork stops the server for a time that grows with its memory"
set xlabel "server's resident memory (MiB)"
set ylabel "fork, as latest_fork_usec reports it (ms; median, bar: fastest to slowest)"
set grid
set key top left
set xrange [0:*]
set yrange [0:*]
plot """ + ", \\\n     ".join(lines) + "\n")
    largest = max(r["keys"] for r in doc["results"])
    for fit in doc["fit"]:
        top = next(r for r in doc["results"] if r["server"] == fit["server"] and r["keys"] == largest)
        notes.append(f"{fit['server']}: {fit['fork_ms_per_gib']:.1f} ms of fork per GiB of "
                     f"resident memory through the medians (r² = {fit['r_squared']:.2f}), "
                     f"{fit['fastest_fork_ms_per_gib']:.1f} through the fastest forks; at "
                     f"{largest:,} keys and {top['rss_kib'] / 1024:,.0f} MiB, a median fork of "
                     f"{top['median_usec'] / 1000:.1f} ms, the fastest "
                     f"{min(top['latest_fork_usec']) / 1000:.1f} ms.")
    notes.append(f"Each size was forked {doc['forks_per_size']} times by BGSAVE; the bars run "
                 "from the fastest fork to the slowest, and a slow one is usually the machine's "
                 "load, not the server.")
    return images, notes


def context_switch(doc, plot):
    bars = []
    for r in doc["results"]:
        if not r["ns_per_switch"]:
            continue
        where = "1 CPU" if r["placement"] == "one_cpu" else "2 CPUs"
        if r["model"] == "mn":  # one worker pinned, or two workers the kernel places
            where = "1 worker" if r["placement"] == "one_cpu" else "2 workers"
        through = r["through"].split(" ")[0].split("::")[-1].replace("binary_", "")
        bars.append((f"{r['model']} {through}, {where}", r["ns_per_switch"]))
    images = bar_chart(plot, "context_switch", "One hand-over between two threads",
                       "time per hand-over (log scale)", bars,
                       "set xtics rotate by -25\nset bmargin 6\n", log_ns=True)
    one = {r["model"] + " " + r["through"]: median(r["ns_per_switch"])
           for r in doc["results"] if r["placement"] == "one_cpu" and r["ns_per_switch"]}
    notes = []
    green = next((v for k, v in one.items() if k.startswith("green yield")), None)
    pthread = next((v for k, v in one.items() if k.startswith("pthread")), None)
    if green and pthread:
        notes.append(f"On one processor a green yield took {green:.0f} ns, a pthread hand-over "
                     f"through a futex {ratio(pthread, green)} times as long.")
    mn = next((v for k, v in one.items() if k.startswith("mn yield")), None)
    if green and mn:
        notes.append(f"An M:N yield on one worker took {mn:.0f} ns, {ratio(mn, green)} times "
                     "the green yield: the same switch, with the locks and atomic state "
                     "changes that other workers make necessary.")
    notes.append("Green threads have no bar for two processors: they all run on one kernel "
                 "thread (1:N).")
    return images, notes


def scale(doc, plot):
    blocks, titles = [], []
    for r in doc["results"]:
        rows = [[s["threads"], s["rss_kib_per_thread"],
                 s["rss_kib_per_thread"] + s["kernel_stack_kib_per_thread"]]
                for s in r["samples"] if s["threads"] > 0]
        if rows:
            blocks.append(rows)
            titles.append(r["model"])
    # The green models cost the same few KiB, so their lines lie on each other: the first
    # is drawn wide and pale with large open points, the next thin and dark on top of it,
    # and every line's last point is labelled with its count, above or below in turn, so
    # that each line's end can be told apart.
    lines, labels = [], []
    greens = 0
    for i, title in enumerate(titles):
        style = f"lc {i + 1} pt {i + 1}"
        if title.startswith("green"):
            style = ('lc rgb "#90c890" lw 6 pt 6 ps 2' if greens % 2 == 0
                     else 'lc rgb "#206020" lw 1.5 pt 2 ps 1 dt 2')
            greens += 1
        lines.append(f"data index {i} using 1:2 with linespoints {style} "
                     f"title {quoted(title + ': resident')}")
        if "clone" in title:
            lines.append(f"data index {i} using 1:3 with linespoints lc {i + 1} pt {i + 1} dt 2 "
                         f"title {quoted(title + ': + kernel stack')}")
        x, y = blocks[i][-1][0], blocks[i][-1][1]
        labels.append(f"set label {i + 1} {quoted(f'{x:,}')} at {x:g},{y:g} center "
                      f"offset 0,{1.3 if i % 2 == 0 else -1.3} font \",9\"")
    images = line_chart(plot, "scale", "Memory per parked thread (the label: threads at the end)",
                        "threads alive", "KiB per thread", blocks, lines,
                        settings="\n".join(labels))
    notes = []
    for r in doc["results"]:
        last = r["samples"][-1]
        stopped = "at the program's cap" if r["stopped_by"] == "cap" else "by a limit (below)"
        notes.append(f"{r['model']}: {r['threads_alive']:,} threads alive, stopped {stopped}; "
                     f"{last['rss_kib_per_thread']:.1f} KiB resident per thread"
                     + (f" plus {last['kernel_stack_kib_per_thread']:.0f} KiB of kernel stack"
                        if last["kernel_stack_kib_per_thread"] >= 1 else "") + ".")
    return images, notes


def skynet(doc, plot):
    ran = [r for r in doc["results"] if r["ran"]]
    images = bar_chart(plot, "skynet", "Skynet: time per thread, spawn to join",
                       "time per thread (log scale)", [(r["model"], r["ns_per_thread"]) for r in ran],
                       "set xtics rotate by -20\nset bmargin 5\n", log_ns=True)
    tree = doc["tree"]
    right = all(r["sum"] == tree["expected_sum"] for r in ran)
    notes = [f"A tree of {tree['threads']:,} threads ({tree['leaves']:,} leaves, 10 children "
             f"each); every tree of every model summed to {tree['expected_sum']:,}"
             + (", the right answer." if right else ": NOT every one did, see the table.")]
    for pair in doc["ratios"]:
        # Documents before the M:N rows named the pair "green" and "fiber" (the book's run).
        model, peer = pair.get("model", pair.get("green")), pair.get("peer", pair.get("fiber"))
        notes.append(f"{model} took {pair['ratio']:.2f} times the time of {peer}.")
    for r in doc["results"]:
        if not r["ran"]:
            notes.append(f"{r['model']} did not run: {r.get('note', 'no reason given')}")
    return images, notes


def idle_cpu(doc, plot):
    # Processor time per second idle, on a linear axis: an idle runtime's bar is meant to
    # be (nearly) no bar at all, which a log axis could not show; the labels give it.
    bars = [(r["model"].replace("work_stealing", "stealing"),
             {k: v * 1e9 for k, v in r["processors_busy"].items()
                          if k != "repetitions"}) for r in doc["results"]]
    top = max(max(s["p90"], s["median"]) for _, s in bars) * 1.25 or 1e6
    tics = ", ".join(f"{quoted(duration(top * i / 4) if i else '0')} {top * i / 4:g}"
                     for i in range(5))
    images = bar_chart(plot, "idle_cpu", "An idle program's processor time",
                       "processor time per second idle", bars,
                       f"set yrange [0:{top:g}]\nset ytics ({tics})\n"
                       "set xtics rotate by 15 right\nset bmargin 6\n")
    run = doc["run"]
    notes = [f"{run['parked_threads']} threads parked on a latch while their spawner slept "
             f"{run['idle_ms']} ms; processor time from getrusage, every kernel thread counted."]
    for r in doc["results"]:
        busy = r["processors_busy"]["median"]
        notes.append(f"{r['model']} ({r['idle_kernel_threads']}): {busy * 1e6:,.0f} µs of "
                     f"processor time per second idle, {busy * 100:.2f} % of one processor.")
    return images, notes


def c10k(doc, plot):
    measured = [r for r in doc["results"] if "skipped" not in r]
    rate_blocks, rate_lines, memory_blocks, memory_lines = [], [], [], []
    colour = {"green": 'lc rgb "#308030"', "clone": 'lc rgb "#4878a8"', "mn": 'lc rgb "#d08020"'}
    for backend in [b for b in ("green", "clone", "mn") if any(r["backend"] == b for r in measured)]:
        mine = sorted((r for r in measured if r["backend"] == backend), key=lambda r: r["clients"])
        for test in ("get", "set"):
            key = test + "_requests_per_second"
            rate_lines.append(f"data index {len(rate_blocks)} using 1:2:3:4 with yerrorlines "
                              f"{colour[backend]} {'dt 2' if test == 'set' else ''} "
                              f"title {quoted(backend + ' ' + test.upper())}")
            rate_blocks.append([[r["clients"], r[key]["median"], r[key]["p10"], r[key]["p90"]]
                                for r in mine])
        memory_lines.append(f"data index {len(memory_blocks)} using 1:2 with linespoints "
                            f"{colour[backend]} title {quoted(backend + ': resident')}")
        if backend == "clone":
            memory_lines.append(f"data index {len(memory_blocks)} using 1:3 with linespoints "
                                f"{colour[backend]} dt 2 title {quoted(backend + ': + kernel stack')}")
        memory_blocks.append([[r["clients"], r["rss_kib_per_connection"]["median"],
                               r["rss_kib_per_connection"]["median"]
                               + r["kernel_stack_kib_per_connection"]["median"]] for r in mine])
    images = line_chart(plot, "c10k", "spindle-kv under redis-benchmark (median, bar: p10-p90)",
                        "client connections", "requests per second", rate_blocks, rate_lines,
                        "bottom left")
    memory = line_chart(plot, "c10k_memory", "Memory per connection, at the peak of the load",
                        "client connections", "KiB per connection", memory_blocks, memory_lines)
    notes = []
    for x in doc.get("green_over_clone", []):
        notes.append(f"At {x['clients']:,} connections the green server served "
                     f"{x['get_requests_per_second']:.2f} times the GETs per second of the clone "
                     f"server, with {x['peak_rss']:.2f} times its peak resident memory.")
    for r in doc["results"]:
        if "skipped" in r:
            notes.append(f"{r['backend']} at {r['clients']:,} connections was not run: "
                         f"{r['skipped']}")
    notes.append("At the smallest counts the memory per connection includes the keys that the "
                 "SETs stored; from a thousand connections up, the connections dominate.")
    # Two plots, each with its own caption.
    return [images + ("C10K: requests per second",),
            memory + ("C10K: memory per connection",)], notes


def trace_timeline(folder, plot):
    """The blocking-call hazard's scheduler trace as a timeline: one row per green
    thread, a bar for each time it ran. Returns (images, notes) or None if absent."""
    path = os.path.join(folder, "blocking_hazard.trace.json")
    if not os.path.exists(path):
        return None
    events = json.load(open(path))["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "thread_name"}
    slices = [e for e in events if e["ph"] == "X"]
    if not slices:
        raise ReportError(f"{path}: the trace has no running slices")
    shown = [tid for tid in sorted(names) if any(s["tid"] == tid for s in slices)
             and ("ticker" in names[tid] or "blocker" in names[tid])]
    start = min(s["ts"] for s in slices)
    row_of = {tid: len(shown) - i for i, tid in enumerate(shown)}
    rows = []
    for s in slices:
        if s["tid"] in row_of:
            begin = (s["ts"] - start) / 1e6
            # A slice shorter than a pixel is still drawn, as a thin bar.
            rows.append([begin, row_of[s["tid"]], max(s["dur"] / 1e6, 0.004)])
    ytics = ", ".join(f"{quoted(names[tid].split(' (id')[0])} {row_of[tid]}" for tid in shown)
    images = plot.draw("blocking_hazard_trace", [rows], f"""
set title "The green scheduler's trace: who ran when (blocking_hazard --trace)"
set xlabel "seconds"
set ytics ({ytics})
set yrange [0.4:{len(shown) + 0.6}]
set grid x
unset key
set bmargin 7
set label 1 "Legend: a bar is a time the thread ran, from the switch to it until it parked, yielded or ended;" at screen 0.5, 0.06 center
set label 2 "a thin line is a run shorter than 4 ms (drawn 4 ms wide); an empty stretch, the thread was not running." at screen 0.5, 0.025 center
set style fill solid 1.0 noborder
plot data using ($1 + $3 / 2):2:($3 / 2):(0.3) with boxxyerror lc rgb "#4878a8"
""")
    longest = max((s["dur"] for s in slices if s["tid"] in row_of
                   and "libc" in names[s["tid"]] and "blocker" in names[s["tid"]]), default=0)
    # blocking_hazard prints the count of events the scheduler recorded; the file holds
    # the same events as instants and running slices (a slice is two switches, the
    # last run still open when the recording stopped has none), plus the track names.
    instants = sum(1 for e in events if e["ph"] == "i")
    recorded = instants + len(slices) + 1
    notes = [f"{recorded:,} events were recorded (blocking_hazard printed the same count): "
             f"{instants:,} spawns, parks, wakes, exits and timer fires, and {len(slices) + 1:,} "
             f"switches, drawn as the {len(slices):,} runs between them. In the libc way the blocker's bar runs "
             f"for {longest / 1e3:,.0f} ms at a stretch: it is inside ::nanosleep or ::read, the "
             "kernel thread sleeps, and the ticker's row is empty meanwhile. In the spindle way "
             "the blocker's bars are short and the ticker's keep coming.",
             "Open `blocking_hazard.trace.json` in ui.perfetto.dev (or chrome://tracing) for "
             "the same record with every event: parks with their reasons, wakes, timer fires."]
    return images, notes


PLOTTERS = {"spawn_cost": spawn_cost, "fork_cost": fork_cost, "context_switch": context_switch,
            "scale": scale, "skynet": skynet, "c10k": c10k, "idle_cpu": idle_cpu}


# --- the scheduling policies (examples/compare/policies) and the preempted spinner's
# trace (blocking_hazard --preempt): one block, registered at its end ------------------

def policy_label(r):
    """A row's short name on an axis: "stride coop", "mlfq pre", "kernel nice"."""
    mode = {"cooperative": " coop", "preempted": " pre"}.get(r["mode"], "")
    return r["scheduler"].replace("kernel: ", "kernel ").replace("SCHED_", "") + mode


def policies(doc, plot):
    ran = [r for r in doc["results"] if r["ran"]]
    entitled = [w["entitled_share"] for w in doc["workload"]["cpu_bound_weights"]]
    weights = [w["weight"] for w in doc["workload"]["cpu_bound_weights"]]
    blocks = [[[i, policy_label(r), r["cpu_bound"][k]["share"]] for i, r in enumerate(ran)]
              for k in range(len(weights))]
    colours = ('"#a8c8e8"', '"#4878a8"', '"#183858"')
    lines = [f"data index {k} using ($1{(k - 1) * 0.27:+g}):3{':xtic(2)' if k == 1 else ''} "
             f"with boxes lc rgb {colours[k]} title {quoted(f'weight {w}: share')}"
             for k, w in enumerate(weights)]
    lines += [f"{e:g} with lines dt 2 lw 1.5 lc rgb {colours[k]} "
              f"title {quoted(f'weight {w}: entitled {e:.2f}')}" for k, (w, e) in enumerate(zip(weights, entitled))]
    shares = plot.draw("policies_shares", blocks, f"""
set title "CPU share of the three CPU-bound threads against their entitled share (dashed)"
set ylabel "share of the CPU-bound threads' work"
set yrange [0:1.3]
set xrange [-0.6:{len(ran) - 0.4}]
set grid ytics
set style fill solid 0.8 border -1
set boxwidth 0.27
set xtics rotate by -35
set bmargin 6
set key top center horizontal maxrows 2 font ",9"
plot """ + ", \\\n     ".join(lines) + "\n")
    bars = [[i, policy_label(r), r["response_ns"]["p50"], r["response_ns"]["p50"],
             r["response_ns"]["p99"], duration(r["response_ns"]["p99"])] for i, r in enumerate(ran)]
    low = decade_below(min(b[2] for b in bars))
    high = 10 ** math.ceil(math.log10(max(b[4] for b in bars) * 3))
    response = plot.draw("policies_response", [bars], f"""
set title "Interactive threads' response, wake to run (bar: p50, whisker and label: p99)"
set ylabel "response (log scale)"
set logscale y
set yrange [{low:g}:{high:g}]
{NS_TICS}set grid ytics
set style fill solid 0.6 border -1
set boxwidth 0.6
set xrange [-0.6:{len(ran) - 0.4}]
set xtics rotate by -35
set bmargin 6
unset key
plot data using 1:3:xtic(2) with boxes lc rgb "#4878a8", \\
     data using 1:3:4:5 with yerrorbars lc rgb "black" pt 0, \\
     data using 1:5:6 with labels offset 0,0.8 font ",8"
""")
    by = {(r["scheduler"], r["mode"]): r for r in ran}
    notes = [f"Every run was pinned to processor {doc['workload']['cpu']}; the CPU-bound threads "
             f"have weights {', '.join(map(str, weights))} (entitled "
             f"{', '.join(f'{e:.2f}' for e in entitled)}), in tickets, priorities, nice values "
             "and real-time priorities from one table."]
    for key in (("stride", "cooperative"), ("kernel: nice", "kernel"), ("priority", "cooperative")):
        if key in by:
            r = by[key]
            notes.append(f"{policy_label(r)}: shares "
                         f"{' / '.join(format(t['share'], '.3f') for t in r['cpu_bound'])}, Jain "
                         f"{r['jain']:.3f}; response p50 {duration(r['response_ns']['p50'])}, "
                         f"p99 {duration(r['response_ns']['p99'])}.")
    slices = [r["cpu_ns_per_preemption"] for r in ran if r.get("cpu_ns_per_preemption")]
    if slices:
        notes.append(f"Preempted green runs asked for a {doc['workload']['slice_us']} µs slice and "
                     f"got one preemption per {duration(sorted(slices)[len(slices) // 2])} of "
                     "processor time (median over the rows): the kernel fires a CPU-clock timer "
                     "only at its tick.")
    for r in doc["results"]:
        if not r["ran"]:
            notes.append(f"{r['scheduler']} did not run: {r['note']}")
    return [shares + ("Scheduling policies: CPU share against entitlement",),
            response + ("Scheduling policies: response time",)], notes


def preemption_trace(folder, plot):
    """blocking_hazard --preempt's trace: the ticker beside the spinner, cooperatively and
    preempted, one row each, a bar for each run. Returns (images, notes) or None."""
    path = os.path.join(folder, "blocking_hazard_preempt.trace.json")
    if not os.path.exists(path):
        return None
    plot.source = "blocking_hazard_preempt.trace.json"
    events = json.load(open(path))["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "thread_name"
             and e["args"]["name"].split(" (id")[0].endswith(("cooperative", "preempted"))}
    runs = [e for e in events if e["ph"] == "X" and e["tid"] in names]
    if not runs:
        raise ReportError(f"{path}: no runs of the spinner or its ticker")
    tids = sorted(names)
    row = {tid: len(tids) - i for i, tid in enumerate(tids)}
    start = min(e["ts"] for e in runs)
    rows = [[(e["ts"] - start) / 1e6, row[e["tid"]], max(e["dur"] / 1e6, 0.004)] for e in runs]
    tics = ", ".join(f"{quoted(names[t].split(' (id')[0])} {row[t]}" for t in tids)
    images = plot.draw("blocking_hazard_preempt_trace", [rows], f"""
set title "A spinner beside the ticker, cooperatively and preempted (blocking_hazard --preempt --trace)"
set xlabel "seconds"
set ytics ({tics})
set yrange [0.4:{len(tids) + 0.6}]
set grid x
unset key
set style fill solid 1.0 noborder
plot data using ($1 + $3 / 2):2:($3 / 2):(0.3) with boxxyerror lc rgb "#a04848"
""")
    spins = {names[t]: max(e["dur"] for e in runs if e["tid"] == t) for t in tids
             if "spinner" in names[t]}
    notes = [f"{name.split(' (id')[0]}: its longest run lasted {duration(us * 1e3)}."
             for name, us in sorted(spins.items())]
    notes.append("Cooperatively the spinner's one long bar leaves the ticker's row empty; "
                 "preempted, its runs are cut at each slice and the ticker's bars keep coming.")
    return images, notes


def preemption_trace_section(out, folder, plot):
    """Appends the preempted spinner's section to `out` (write_report calls it)."""
    title = "Preemption: a spinner that never yields, cooperatively and preempted"
    trace = preemption_trace(folder, plot)
    if trace is None:
        out.append(f"## {title}\n\nNot recorded in this run (no blocking_hazard_preempt.trace.json).\n")
    else:
        section(out, title, trace[0], trace[1], "")


SECTIONS = SECTIONS + (("policies", "Scheduling policies: one workload mix under each green "
                                    "policy and the kernel's scheduler"),)
PLOTTERS["policies"] = policies


def machine_lines(m):
    return [f"- CPU: {m['cpu_model']}, {m['online_cpus']} processors ({m['usable_cpus']} usable)",
            f"- Memory: {m['memory_total_mib']:,} MiB ({m['memory_available_mib']:,} MiB available "
            "at the start)",
            f"- Kernel {m['kernel']}, glibc {m['glibc']}, spindle {m['spindle']}, "
            f"transparent huge pages: {m['transparent_hugepages']}",
            f"- Load average at the start: {m['load_average']}"]


def section(out, title, images, notes, table, book_table=""):
    out.append(f"## {title}\n")
    # One plot is a (png, svg) pair, captioned with the section's title; a comparison
    # with more plots gives a list of (png, svg, caption).
    for png, svg, *caption in [images] if isinstance(images[0], str) else images:
        out.append(f"![{caption[0] if caption else title}]({png})\n\n(Also as [SVG]({svg}).)\n")
    for note in notes:
        out.append(f"- {note}")
    if notes:
        out.append("")
    if table:
        out.append("<details><summary>The table the program printed</summary>\n")
        out.append(table + "\n")
        out.append("</details>\n")
    if book_table:
        out.append("<details><summary>The table the book's run printed (docs/data/tour)</summary>\n")
        out.append(book_table + "\n")
        out.append("</details>\n")


def read_documents(folder):
    """The comparisons' JSON documents in `folder`, by name, in the report's order."""
    documents = {}
    for name, _ in SECTIONS:
        path = os.path.join(folder, name + ".json")
        if os.path.exists(path):
            try:
                documents[name] = json.load(open(path))
            except json.JSONDecodeError as e:
                raise ReportError(f"{path} is not JSON ({e}): did the program fail?")
    if not documents:
        raise ReportError(f"no comparison's JSON is in {folder}: run scripts/tour.sh first")
    return documents


def comparison_section(out, name, title, documents, plot, folder, book=None):
    """Appends comparison `name`'s section to `out`: its plots, notes and table (and the
    table of the book's run, from the folder `book`), or why it is missing."""
    doc = documents.get(name)
    if doc is None:
        quick = any(d.get("quick") for d in documents.values())
        if name in FULL_TOUR_ONLY and quick:
            out.append(f"## {title}\n\nThe quick tour does not run this comparison "
                       f"({FULL_TOUR_ONLY[name]}); the full tour does.\n")
        else:
            out.append(f"## {title}\n\nNot measured in this run (no {name}.json).\n")
        return
    if doc.get("program") != name:
        raise ReportError(f"{name}.json says it comes from {doc.get('program')!r}")
    plot.source = name + ".json"
    try:
        if name == "kv_fork_cost":
            images, notes = kv_fork_cost(doc, plot, documents.get("fork_cost"))
        else:
            images, notes = PLOTTERS[name](doc, plot)
    except (KeyError, TypeError, IndexError) as e:
        raise ReportError(f"{name}.json lacks what its plot needs ({e!r})")
    first = next(iter(documents.values()))
    if doc["machine"]["cpu_model"] != first["machine"]["cpu_model"]:
        notes.append("Measured on another machine than the first section.")
    section(out, title, images, notes, printed_table(folder, name),
            printed_table(book, name) if book else "")


# The book's committed run, which a reader's report sets beside its own (beside_the_book).
BOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs/data/tour")


def headline_figures(documents):
    """The figures to compare first, by label, as text, from the comparisons present (one
    whose document lacks a figure gives none: its own section says what it lacks)."""
    def spawn_cost(d):
        for r in d["results"]:
            yield f"spawn + join: {r['operation']}", duration(r["ns_per_operation"]["median"])

    def fork_cost(d):
        fit = d["fit"]
        yield "fork per GiB of the parent: on the clock", f"{fit['fork_ms_per_gib']:.1f} ms"
        yield "fork per GiB of the parent: processor time", f"{fit['fork_cpu_ms_per_gib']:.1f} ms"
        yield "page tables per GiB", f"{fit['page_tables_kib_per_gib']:,.0f} KiB"
        yield "writing every page of a GiB after fork", duration(
            fit["dirty_after_fork_ms_per_gib"] * 1e6)

    def kv_fork_cost(d):
        for fit in d["fit"]:
            yield (f"BGSAVE's fork per GiB (fastest forks): {fit['server']}",
                   f"{fit['fastest_fork_ms_per_gib']:.1f} ms")

    def context_switch(d):
        for r in d["results"]:
            if r["ns_per_switch"]:
                where = "one processor" if r["placement"] == "one_cpu" else "two processors"
                yield (f"hand-over: {r['model']} {r['through']}, {where}",
                       duration(r["ns_per_switch"]["median"]))

    def scale(d):
        for r in d["results"]:
            last = r["samples"][-1]
            yield (f"memory per parked thread: {r['model']}",
                   f"{last['rss_kib_per_thread']:.1f} KiB"
                   + (f" + {last['kernel_stack_kib_per_thread']:.0f} KiB kernel stack"
                      if last["kernel_stack_kib_per_thread"] >= 1 else ""))

    def skynet(d):
        for r in d["results"]:
            if r["ran"]:
                yield f"skynet, per thread: {r['model']}", duration(r["ns_per_thread"]["median"])

    def c10k(d):
        measured = [r for r in d["results"] if "skipped" not in r]
        for r in measured:
            if r["clients"] == max(m["clients"] for m in measured):
                yield (f"C10K, GETs per second at the most connections: {r['backend']}",
                       f"{r['get_requests_per_second']['median']:,.0f} ({r['clients']:,} connections)")

    figures = {}
    for name, read in (("spawn_cost", spawn_cost), ("fork_cost", fork_cost),
                       ("kv_fork_cost", kv_fork_cost), ("context_switch", context_switch),
                       ("scale", scale), ("skynet", skynet), ("c10k", c10k)):
        try:
            figures.update(read(documents[name]) if name in documents else ())
        except (KeyError, TypeError, IndexError, ValueError):
            pass
    return figures


def beside_the_book(out, documents, folder):
    """Appends this run's headline figures beside the book's committed run, and returns
    the book's folder, whose tables each section then shows too; None (and nothing
    appended) when this run is the book's or the book's run is not there."""
    if not os.path.isdir(BOOK) or os.path.realpath(folder) == os.path.realpath(BOOK):
        return None
    book = read_documents(BOOK)
    mine, theirs = headline_figures(documents), headline_figures(book)
    out.append("## This run beside the book's\n")
    out.append("The book (docs/12-comparisons.md) quotes one full run of the tour, committed "
               "in docs/data/tour/, and its machine was:\n")
    out.extend(machine_lines(next(iter(book.values()))["machine"]))
    out.append("\n| figure | this run | book (docs/data/tour) |\n| --- | --- | --- |")
    for label in dict.fromkeys(list(mine) + list(theirs)):
        out.append(f"| {label} | {mine.get(label, 'not measured')} | "
                   f"{theirs.get(label, 'not measured')} |")
    out.append("\nEach section below also shows the table the book's run printed.\n")
    return BOOK


def write_report(folder, output=None):
    """Reads the documents in `folder` and writes report.md and plots/ into `output`
    (`folder` unless given). Returns the Plotter, which knows what it drew."""
    output = output or folder
    documents = read_documents(folder)
    plot = Plotter(output)
    out = ["# The spindle tour: green threads, clone threads and fork, measured here\n"]
    first = next(iter(documents.values()))
    quick = any(d.get("quick") for d in documents.values())
    out.append("Every figure below was measured in this run, on this machine; each program "
               "repeated its measurements and the plots show the median with the 10th and 90th "
               "percentiles as error bars. Compare ratios within the run, not absolute times "
               "across machines. "
               + ("This was a quick run (`--quick`): smaller sizes, rougher figures."
                  if quick else "This was a full run."))
    out.append("")
    out.extend(machine_lines(first["machine"]))
    out.append("\nThe book explains each comparison: docs/12-comparisons.md.\n")
    book = beside_the_book(out, documents, folder)
    for name, title in SECTIONS:
        comparison_section(out, name, title, documents, plot, folder, book)
    plot.source = "blocking_hazard.trace.json"
    trace = trace_timeline(folder, plot)
    title = "Seeing the scheduler: the blocking-call hazard, traced"
    if trace is None:
        out.append(f"## {title}\n\nNot recorded in this run (no blocking_hazard.trace.json).\n")
    else:
        section(out, title, trace[0], trace[1], "")
    preemption_trace_section(out, folder, plot)
    with open(os.path.join(output, "report.md"), "w") as f:
        f.write("\n".join(out))
    return plot


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def draw_into_book(folder, images):
    """The book's plots: draws the report of `folder` (the book's committed run) in a
    scratch folder, copies each PNG into `images`, and writes `images`/SOURCES, which
    names for each image the document it was drawn from and the SHA-256 of that
    document, of the data and the gnuplot script drawn, and of the image: what
    tests/docs_figures_test.py checks."""
    with tempfile.TemporaryDirectory() as scratch:
        plot = write_report(folder, scratch)
        os.makedirs(images, exist_ok=True)
        entries = {}
        for name, source in plot.drawn:
            drawn = os.path.join(plot.folder, name)
            shutil.copyfile(drawn + ".png", os.path.join(images, name + ".png"))
            entries[name + ".png"] = {
                "source": source,
                "source_sha256": sha256(os.path.join(folder, source)),
                "data_sha256": sha256(drawn + ".dat"),
                "script_sha256": sha256(drawn + ".gp"),
                "image_sha256": sha256(os.path.join(images, name + ".png")),
            }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    manifest = {"about": "Written by scripts/tour_report.py --images; checked by "
                         "tests/docs_figures_test.py. Redraw, from the repository's root: "
                         f"python3 scripts/tour_report.py {os.path.relpath(folder, root)} "
                         f"--images {os.path.relpath(images, root)}",
                "data": os.path.relpath(folder, images), "images": entries}
    with open(os.path.join(images, SOURCES), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    return sorted(entries)


def main(argv):
    args = argv[1:]
    images = None
    if len(args) == 3 and args[1] == "--images":
        images = args[2]
        args = args[:1]
    if len(args) != 1 or args[0].startswith("-"):
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    try:
        if images is not None:
            drawn = draw_into_book(args[0], images)
            print(f"Drew {len(drawn)} plots into {images}/ from {args[0]}: {', '.join(drawn)}")
            return 0
        write_report(args[0])
    except (ReportError, OSError) as e:
        print(f"tour_report.py: {e}", file=sys.stderr)
        return 1
    print(f"The report: {os.path.join(args[0], 'report.md')}, its plots in "
          f"{os.path.join(args[0], 'plots')}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
