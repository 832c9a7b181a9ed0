#!/usr/bin/env python3
"""Fails when the book and the source stop agreeing.

The book (docs/*.md) and the folder guides (runtime/*/README.md) cite the source in
backticks, in two forms:

    `runtime/green/scheduler.cpp`                  a file: it must exist
    `runtime/green/scheduler.cpp: scheduler::run`  a file and symbols: each symbol's last
                                                   component (`run`) must occur in the file
                                                   as a whole word (several symbols may be
                                                   given, separated by commas)

A path is taken from the project root, else from the citing file's folder, else (for
`spindle/...`) from runtime/include. Relative Markdown links must point at files that exist.

The source cites the book too: the header comment of every file under runtime/ must name
a chapter (`docs/NN-name.md`), that chapter must exist, a section it names in
parentheses, `docs/05-scheduler.md (timers)`, must be a heading of that chapter, and the
files after "Read next:" must exist.

A chapter that docs/README.md lists as "coming" may be cited before it is written; once
its file exists, README.md must stop calling it coming. Every chapter must be listed in
README.md.

Usage:  check_docs_references.py PROJECT_ROOT     (exit 0: all resolve; 1: errors listed)
        check_docs_references.py --self-test      (shows the checker catches bad references)

Explained in: docs/README.md (keeping the book honest).
"""

import os
import re
import sys
import tempfile

SOURCE_SUFFIXES = (".cpp", ".hpp", ".h", ".c", ".S")
PATH_SUFFIXES = SOURCE_SUFFIXES + (".md", ".py", ".build", ".txt", ".sh", ".json", ".toml")
# Paths that name files outside the project (system headers, URLs) are not checked.
EXTERNAL_PREFIXES = ("/", "boost/", "sys/", "bits/", "linux/", "asm/", "cxxabi")
PROJECT_FOLDERS = ("runtime", "tests", "docs", "examples", "scripts", "benchmarks", ".ci")
PATH_CHARS = re.compile(r"^[A-Za-z0-9_.+\-/]+$")
CHAPTER = re.compile(r"docs/(\d\d-[A-Za-z0-9-]+\.md)")
CHAPTER_NAME = re.compile(r"\b(\d\d-[A-Za-z0-9-]+\.md)\b")
BACKTICKED = re.compile(r"`([^`\n]+)`")
MD_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
IDENTIFIER = re.compile(r"^~?[A-Za-z_][A-Za-z0-9_]*$")


def looks_like_path(text):
    if "://" in text or text.startswith(EXTERNAL_PREFIXES):
        return False
    if not PATH_CHARS.match(text) or text.startswith(("-", ".")):
        return False
    if text.endswith(PATH_SUFFIXES) or text.endswith("/"):
        return True
    # A path without a suffix must start at one of the project's top folders; other
    # slashed names (benchmark names such as switch/spindle_green) are not paths.
    return "/" in text and text.split("/", 1)[0] in PROJECT_FOLDERS


def resolve(root, citing_dir, path):
    """The file a cited path names, or None."""
    candidates = [os.path.join(root, path), os.path.join(citing_dir, path)]
    if path.startswith("spindle/"):
        candidates.append(os.path.join(root, "runtime", "include", path))
    for candidate in candidates:
        if os.path.exists(candidate):
            return candidate
    return None


def symbol_name(symbol):
    """`scheduler::run()` -> `run`; `thread<R>::join` -> `join`; None if unusable."""
    symbol = re.sub(r"\(.*\)\s*(&&|&|const)?\s*$", "", symbol.strip())
    while "<" in symbol:  # drop template arguments, innermost first
        stripped = re.sub(r"<[^<>]*>", "", symbol)
        if stripped == symbol:
            break
        symbol = stripped
    last = symbol.split("::")[-1].strip()
    return last if IDENTIFIER.match(last) else None


def occurs(name, text):
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])", text)


def prose_lines(path):
    """(line number, line) outside fenced code blocks: code is shown, not cited."""
    fenced = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            if not fenced:
                yield number, line


class Checker:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.errors = []
        self.listed, self.coming = self.read_table_of_contents()

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")

    def rel(self, path):
        return os.path.relpath(path, self.root)

    def read_table_of_contents(self):
        listed, coming = set(), set()
        readme = os.path.join(self.root, "docs", "README.md")
        if os.path.exists(readme):
            for _, line in prose_lines(readme):
                for name in CHAPTER_NAME.findall(line):
                    listed.add(name)
                    if re.search(r"\bcoming\b", line, re.IGNORECASE):
                        coming.add(name)
        return listed, coming

    def chapter_exists(self, where, name):
        """True if docs/<name> can be cited: written, or announced as coming."""
        if os.path.exists(os.path.join(self.root, "docs", name)):
            return True
        if name in self.coming:
            return False
        self.error(where, f"docs/{name} does not exist (nor is it listed as coming in docs/README.md)")
        return False

    # --- Citations in the book and the folder guides ---

    def check_document(self, path):
        citing_dir = os.path.dirname(path)
        for number, line in prose_lines(path):
            where = f"{self.rel(path)}:{number}"
            for span in BACKTICKED.findall(line):
                self.check_citation(where, citing_dir, span)
            unclosed = BACKTICKED.sub("", line).partition("`")[2]
            if re.match(r"[A-Za-z0-9_.+-]+/[A-Za-z0-9_./+-]*", unclosed):
                self.error(where, f"a citation is broken across lines: `{unclosed.strip()}")
            for target in MD_LINK.findall(line):
                self.check_link(where, citing_dir, target)

    def check_citation(self, where, citing_dir, span):
        path, _, symbols = span.partition(": ")
        path = path.strip()
        if not looks_like_path(path):
            return
        chapter = CHAPTER.fullmatch(path)
        if chapter is None and citing_dir == os.path.join(self.root, "docs"):
            chapter = CHAPTER_NAME.fullmatch(path)
        if chapter:
            self.chapter_exists(where, chapter.group(1))
            return
        found = resolve(self.root, citing_dir, path)
        if found is None:
            self.error(where, f"`{span}`: no file {path}")
            return
        if not symbols.strip():
            return
        if os.path.isdir(found):
            self.error(where, f"`{span}`: {path} is a folder, it has no symbols")
            return
        with open(found, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for symbol in symbols.split(","):
            name = symbol_name(symbol)
            if name is None:
                self.error(where, f"`{span}`: cannot read a symbol name in '{symbol.strip()}'")
            elif not occurs(name, text):
                self.error(where, f"`{span}`: '{name}' does not occur in {path}")

    def check_link(self, where, citing_dir, target):
        if "://" in target or target.startswith(("#", "mailto:")):
            return
        target = target.split("#")[0]
        if not target:
            return
        name = os.path.basename(target)
        in_docs = os.path.abspath(os.path.join(citing_dir, os.path.dirname(target))) == os.path.join(self.root, "docs")
        if in_docs and CHAPTER_NAME.fullmatch(name):
            self.chapter_exists(where, name)
        elif not os.path.exists(os.path.join(citing_dir, target)):
            self.error(where, f"link target {target} does not exist")

    # --- The table of contents ---

    def check_table_of_contents(self):
        docs = os.path.join(self.root, "docs")
        if not os.path.isdir(docs):
            return
        for name in sorted(os.listdir(docs)):
            if not CHAPTER_NAME.fullmatch(name):
                continue
            if name not in self.listed:
                self.error("docs/README.md", f"chapter {name} is not in the table of contents")
            if name in self.coming:
                self.error("docs/README.md", f"{name} is written now: stop marking it as coming")

    # --- Headers of the runtime's source files ---

    def check_source_header(self, path):
        header = []
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.lstrip().startswith("//"):
                    break
                header.append(line.strip().lstrip("/").strip())
        text = " ".join(header)
        where = f"{self.rel(path)}:header"
        chapters = CHAPTER.findall(text)
        if not chapters:
            self.error(where, "the header comment names no docs chapter (docs/NN-name.md)")
        for match in re.finditer(r"docs/(\d\d-[A-Za-z0-9-]+\.md)(?:\s*\(([^)]*)\)|,\s*\"([^\"]+)\")?", text):
            name, section = match.group(1), match.group(2) or match.group(3)
            if self.chapter_exists(where, name) and section:
                self.check_section(where, name, section)
        for part in re.findall(r"Read next:\s*(.*?)(?:\.\s|\.$|$)", text):
            for token in re.findall(r"[A-Za-z0-9_./+-]+/[A-Za-z0-9_./+-]+\.[a-z]+", part):
                if looks_like_path(token) and resolve(self.root, os.path.dirname(path), token) is None:
                    self.error(where, f"Read next: {token} does not exist")

    def check_section(self, where, name, section):
        headings = []
        for _, line in prose_lines(os.path.join(self.root, "docs", name)):
            if line.startswith("#"):
                headings.append(line.lstrip("#").strip().lower())
        wanted = section.strip().lower()
        if not any(wanted in heading for heading in headings):
            self.error(where, f"docs/{name} has no heading containing '{section.strip()}'")

    def run(self):
        docs = os.path.join(self.root, "docs")
        documents = []
        if os.path.isdir(docs):
            documents += [os.path.join(docs, n) for n in sorted(os.listdir(docs)) if n.endswith(".md")]
        runtime = os.path.join(self.root, "runtime")
        if os.path.isdir(runtime):
            for folder in sorted(os.listdir(runtime)):
                readme = os.path.join(runtime, folder, "README.md")
                if os.path.isfile(readme):
                    documents.append(readme)
        for document in documents:
            self.check_document(document)
        self.check_table_of_contents()
        for folder, _, files in sorted(os.walk(runtime)):
            for name in sorted(files):
                if name.endswith(SOURCE_SUFFIXES):
                    self.check_source_header(os.path.join(folder, name))
        return self.errors


def self_test():
    """Builds a small project with one good and several bad references; all bad ones
    must be reported, the good ones not."""
    files = {
        "docs/README.md": "- [00 Glossary](00-glossary.md)\n- 01 The API (`docs/02-the-api.md`), coming\n",
        "docs/00-glossary.md": (
            "# Glossary\n## Timers\n"
            "Good: `runtime/green/loop.cpp: scheduler::run`, `spindle/api.hpp: spawn`.\n"
            "Good: `docs/02-the-api.md`, [next](02-the-api.md).\n"
            "Bad symbol: `runtime/green/loop.cpp: scheduler::runn`.\n"
            "Bad path: `runtime/green/lopp.cpp`.\n"
            "Bad chapter: `docs/07-missing.md`, [gone](02-gone.md).\n"
            "Broken: `runtime/green/loop.cpp:\n  scheduler::run`.\n"
            "```\nnot checked: `runtime/green/in_code_block.cpp`\n```\n"
        ),
        "runtime/green/loop.cpp": "// loop.cpp\n// Explained in: docs/00-glossary.md (timers).\nvoid scheduler::run() {}\n",
        "runtime/green/no_chapter.cpp": "// no_chapter.cpp: says nothing about the book.\nint x;\n",
        "runtime/green/bad_section.cpp": "// Explained in: docs/00-glossary.md (policies).\n// Read next: runtime/green/nowhere.cpp.\n",
        "runtime/include/spindle/api.hpp": "// Explained in: docs/02-the-api.md.\nvoid spawn();\n",
    }
    expected = [
        "'runn' does not occur",
        "no file runtime/green/lopp.cpp",
        "docs/07-missing.md does not exist",
        "docs/02-gone.md does not exist",
        "no_chapter.cpp:header: the header comment names no docs chapter",
        "has no heading containing 'policies'",
        "Read next: runtime/green/nowhere.cpp does not exist",
        "a citation is broken across lines",
    ]
    with tempfile.TemporaryDirectory() as root:
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
            with open(os.path.join(root, name), "w", encoding="utf-8") as f:
                f.write(text)
        errors = Checker(root).run()
        missed = [e for e in expected if not any(e in error for error in errors)]
        extra = [error for error in errors if not any(e in error for e in expected)]
        # Writing the coming chapter must make README.md's "coming" an error.
        with open(os.path.join(root, "docs", "02-the-api.md"), "w", encoding="utf-8") as f:
            f.write("# The API\n")
        stale = [e for e in Checker(root).run() if "stop marking it as coming" in e]
    for line in errors:
        print("reported:", line)
    ok = not missed and not extra and stale
    for e in missed:
        print("SELF-TEST FAILED: not reported:", e)
    for e in extra:
        print("SELF-TEST FAILED: reported wrongly:", e)
    if not stale:
        print("SELF-TEST FAILED: a written chapter still marked coming was not reported")
    print("self-test passed" if ok else "self-test failed")
    return 0 if ok else 1


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print(__doc__.split("Usage:")[1].split("Explained")[0].strip(), file=sys.stderr)
        return 2
    errors = Checker(argv[1]).run()
    for line in errors:
        print(line)
    if errors:
        print(f"{len(errors)} reference(s) do not resolve.")
        return 1
    print("every reference resolves.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
