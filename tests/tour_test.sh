#!/usr/bin/env bash
# tests/tour_test.sh BUILD_DIR SOURCE_DIR — the tour as a user runs it (scripts/tour.sh
# --quick --out DIR), and the report it leaves. Checks that
#  1. the tour succeeds and DIR holds report.md, each comparison's JSON and table, and the
#     scheduler trace;
#  2. every plot the report shows exists as a PNG and an SVG that are images (their magic
#     bytes), and every comparison has its section with a plot (none "not measured");
#     (the BGSAVE comparison, which only the full tour runs, says so instead);
#  3. the trace is Chrome trace-event JSON with the four named threads of blocking_hazard;
#  4. the report fails with a clear message, not a traceback, on a broken document, on an
#     empty folder, and without gnuplot;
#  5. the quick tour's step headings give its sizes, and no line prints "+ -0.41";
#     the report's event count is the one blocking_hazard printed, each C10K plot has its
#     own caption, and the plots pass readability checks (bar axes start below the
#     shortest bar, bars carry values, end points clear the border, legends placed);
#  6. a file of the user's own in DIR survives the tour, and blocking_hazard refuses
#     --trace on the clone backend with a message naming it;
#  7. the report sets the run's figures and tables beside the book's run (docs/data/tour),
#     and the tour writes its record of the run (tour.json).
#  8. the report shows the scheduling policies' two plots and the preempted spinner's
#     trace, which has both runs' ticker and spinner and the preemptions.
# Explained in: docs/12-comparisons.md (the tour's report).
set -euo pipefail
build_dir=${1:?usage: tour_test.sh BUILD_DIR SOURCE_DIR}
source_dir=${2:?usage: tour_test.sh BUILD_DIR SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
report="$work/report"

fail() { echo "tour_test: $*" >&2; exit 1; }

echo "== scripts/tour.sh --quick --out $report"
mkdir -p "$report"
echo "the user's own notes" >"$report/notes.md"
bash "$source_dir/scripts/tour.sh" "$build_dir" --quick --out "$report" >"$work/tour.log" 2>&1 ||
  { tail -n 40 "$work/tour.log" >&2; fail "the tour failed"; }

echo "== the quick tour's headings name the quick sizes, and its numbers read as numbers"
for heading in "Why fork is not free" "Skynet:" "C10K:"; do
  grep "^== $heading" "$work/tour.log" | grep -q "as --quick" ||
    fail "the heading '$heading' does not give the quick size: $(grep "^== $heading" "$work/tour.log")"
done
! grep -n -e "+ -[0-9]" "$work/tour.log" || fail "the tour printed a '+ -' (a negative term as added)"

echo "== the report and its plots"
python3 - "$report" <<'EOF'
import json, os, re, sys
report = sys.argv[1]
text = open(os.path.join(report, "report.md")).read()
problems = []
images = re.findall(r"\]\((plots/[^)]+\.(?:png|svg))\)", text)
sections = re.findall(r"^## (.*)$", text, re.M)
if len(sections) < 5:
    problems.append(f"only {len(sections)} sections: {sections}")
# The quick tour leaves out the BGSAVE comparison (scripts/kv_fork_cost.sh), and says why.
bgsave = text[text.find("## BGSAVE's fork"):].split("\n## ")[0]
if "The quick tour does not run this comparison" not in bgsave or "plots/" in bgsave:
    problems.append("the BGSAVE section does not say that the quick tour leaves it out:\n" + bgsave)
if "Not measured" in text or "Not recorded" in text:
    problems.append("a section says it was not measured:\n" + "\n".join(
        l for l in text.splitlines() if l.startswith("Not ")))
for name in ("spawn_cost", "fork_cost", "fork_page_tables", "fork_copy_on_write", "context_switch",
             "scale", "skynet", "c10k", "c10k_memory", "idle_cpu", "blocking_hazard_trace"):
    for ext in ("png", "svg"):
        if f"plots/{name}.{ext}" not in images:
            problems.append(f"the report does not show plots/{name}.{ext}")
for image in images:
    path = os.path.join(report, image)
    if not os.path.exists(path):
        problems.append(f"{image} is shown but missing")
        continue
    head = open(path, "rb").read(512)
    if image.endswith(".png") and not head.startswith(b"\x89PNG\r\n\x1a\n"):
        problems.append(f"{image} is not a PNG")
    if image.endswith(".svg") and b"<svg" not in head:
        problems.append(f"{image} is not an SVG")
for name in ("spawn_cost", "fork_cost", "context_switch", "scale", "skynet", "c10k", "idle_cpu"):
    doc = json.load(open(os.path.join(report, name + ".json")))
    if doc.get("program") != name or "machine" not in doc:
        problems.append(f"{name}.json does not name its program and machine")
    if "|" not in open(os.path.join(report, name + ".md")).read():
        problems.append(f"{name}.md holds no table")
# The run beside the book's: the headline figures in a column of the book's, each
# section with the book's table; and the tour's own record of the run.
beside = text[text.find("## This run beside the book's"):].split("\n## ")[0]
if "| figure | this run | book (docs/data/tour) |" not in beside or "spawn + join" not in beside:
    problems.append("the report does not set this run's figures beside the book's:\n" + beside[:400])
if text.count("The table the book's run printed") < 6:
    problems.append("the sections do not show the tables of the book's run")
tour = json.load(open(os.path.join(report, "tour.json")))
if tour.get("program") != "tour" or tour.get("quick") is not True or not tour.get("seconds", 0) > 0 \
        or len(tour.get("load_average_start", "").split()) != 3:
    problems.append(f"tour.json is not the quick tour's record: {tour}")
trace = json.load(open(os.path.join(report, "blocking_hazard.trace.json")))["traceEvents"]
names = {e["args"]["name"].split(" (id")[0] for e in trace if e.get("name") == "thread_name"}
for want in ("ticker, libc way", "blocker, libc way", "ticker, spindle way", "blocker, spindle way"):
    if want not in names:
        problems.append(f"the trace has no track {want!r}: {sorted(names)}")
if not any(e["ph"] == "X" for e in trace):
    problems.append("the trace has no running slices")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"{len(sections)} sections, {len(images)} images, {len(trace)} trace events")
EOF

echo "== the report agrees with the tour's output, and its plots are readable"
printed=$(sed -n 's/^The green runs. scheduler trace: .* (\([0-9,]*\) events;.*/\1/p' "$work/tour.log")
[ -n "$printed" ] || fail "blocking_hazard printed no event count"
grep -q "^- $printed events were recorded" "$report/report.md" ||
  fail "blocking_hazard printed $printed events; the report says: $(grep -o '^- [0-9,]* events' "$report/report.md")"
python3 - "$report" <<'PY'
import os, re, shlex, sys
report = sys.argv[1]
text = open(os.path.join(report, "report.md")).read()
plots = os.path.join(report, "plots")
problems = []
captions = re.findall(r"^!\[([^]]*)\]\(plots/c10k[^)]*\.png\)", text, re.M)
if len(set(captions)) != 2:
    problems.append(f"the two C10K plots do not have a caption each: {captions}")
def gp(name):
    return open(os.path.join(plots, name + ".gp")).read()
def rows(name):
    return [shlex.split(line) for line in open(os.path.join(plots, name + ".dat")) if line.strip()]
# A bar chart's log axis starts well below its shortest bar, and every bar carries its value.
for name in ("spawn_cost", "context_switch", "skynet"):
    low = re.search(r"set yrange \[([0-9.e+-]+):([0-9.e+-]+)\]", gp(name))
    shortest = min(float(r[2]) for r in rows(name))
    if not low or float(low.group(1)) * 3 > shortest:
        problems.append(f"{name}: the axis does not start well below the shortest bar ({shortest} ns)")
    highest = max(float(r[4]) for r in rows(name))
    if low and float(low.group(2)) < 2 * highest:
        problems.append(f"{name}: the axis ends too close above the highest bar for its label")
    if "with labels" not in gp(name):
        problems.append(f"{name}: the bars carry no value labels")
# The points at the ends of a line chart stand clear of the border, with their error bars.
for name in ("c10k", "c10k_memory", "scale"):
    m = re.search(r"set xrange \[([0-9.e+-]+):([0-9.e+-]+)\]", gp(name))
    xs = [float(r[0]) for r in rows(name)]
    if not m or not float(m.group(1)) < min(xs) or not float(m.group(2)) > max(xs):
        problems.append(f"{name}: its first or last point sits on the border")
if "set key below" not in gp("fork_cost"):
    problems.append("fork_cost: the key is inside the plot, over the lines")
if "Legend:" not in gp("blocking_hazard_trace"):
    problems.append("the trace timeline has no legend")
if len(re.findall(r"^set label \d+ ", gp("scale"), re.M)) < 2:
    problems.append("scale: the ends of its lines are not labelled")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print("the report's counts and captions agree with the tour, and its plots are readable")
PY

echo "== the scheduling policies' plots, and the preempted spinner's trace"
for image in policies_shares policies_response blocking_hazard_preempt_trace; do
  for ext in png svg; do
    grep -q "(plots/$image.$ext)" "$report/report.md" && [ -s "$report/plots/$image.$ext" ] ||
      fail "the report does not show plots/$image.$ext"
  done
done
python3 - "$report/blocking_hazard_preempt.trace.json" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
names = {e["args"]["name"].split(" (id")[0] for e in events if e.get("name") == "thread_name"}
wanted = {f"{who}, {how}" for who in ("ticker", "spinner") for how in ("cooperative", "preempted")}
if not wanted <= names or not any(e["ph"] == "i" and e.get("name") == "preempted" for e in events):
    sys.exit(f"the preempted trace lacks {sorted(wanted - names)} or any preemption event")
print("the preempted trace has the ticker and the spinner of both runs, and its preemptions")
PY

# The report generator run on `folder` must exit 1 with a message that contains `expected`.
expect_clear_failure() {
  local folder=$1 expected=$2 status=0
  shift 2
  env "$@" python3 "$source_dir/scripts/tour_report.py" "$folder" >"$work/out" 2>&1 || status=$?
  if [ "$status" -ne 1 ] || ! grep -q -- "$expected" "$work/out" || grep -q Traceback "$work/out"; then
    echo "expected exit 1 and \"$expected\"; got status $status and:" >&2
    cat "$work/out" >&2
    exit 1
  fi
  echo "refused: $(head -c 160 "$work/out" | head -n 1)"
}

echo "== clear failures"
mkdir "$work/empty" "$work/broken" "$work/lacking"
expect_clear_failure "$work/empty" "run scripts/tour.sh first"
echo '{"program": "spawn_cost", "machine"' >"$work/broken/spawn_cost.json"
expect_clear_failure "$work/broken" "spawn_cost.json is not JSON"
python3 -c "
import json, sys
doc = json.load(open(sys.argv[1])); del doc['results'][0]['ns_per_operation']
json.dump(doc, open(sys.argv[2], 'w'))" "$report/spawn_cost.json" "$work/lacking/spawn_cost.json"
expect_clear_failure "$work/lacking" "lacks what its plot needs"
expect_clear_failure "$report" "gnuplot is not installed" GNUPLOT=no-such-gnuplot
echo "== the user's file, and --trace on the clone backend"
[ "$(cat "$report/notes.md")" = "the user's own notes" ] || fail "the tour removed notes.md from DIR"
status=0
"$build_dir/examples/blocking_hazard" --backend clone --trace "$work/x.json" >"$work/out" 2>&1 ||
  status=$?
if [ "$status" -eq 0 ] || ! grep -q -- "--trace" "$work/out"; then
  cat "$work/out" >&2
  fail "blocking_hazard --backend clone --trace: status $status"
fi
echo "refused: $(head -n 1 "$work/out")"
echo "the tour ran, and its report is complete"
