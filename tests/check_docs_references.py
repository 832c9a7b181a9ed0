#!/usr/bin/env python3
"""Fails when the book and the source stop agreeing.

The book (docs/*.md), the project's README.md and the folder guides (runtime/*/README.md)
cite the source in backticks, in two forms:

    `runtime/green/scheduler.cpp`                  a file: it must exist
    `runtime/green/scheduler.cpp: scheduler::run`  a file and symbols (several may be given,
                                                   separated by commas)

A cited C++ symbol must be defined in the cited file in the qualifier's scope (a tag of
universal-ctags whose scope ends with `scheduler`), or be used in the file's code: a match
in a comment or a string literal does not count. A name said to be in a cited file
("`entry` in `runtime/green/thread.cpp`", "`x.cpp`'s `entry`", "`x.cpp` defines `entry`")
is checked the same way. A claim of the form "is two lines" (or "in 5 lines") after a
cited function must be the number of lines of code in its body (ctags' end field).

A name the book claims as spindle's without citing a file, qualified with one of the
project's scopes (`scheduler::wake`, `green::io::read`) or a member by its trailing
underscore (`running_`), must exist somewhere in the project's C++ code. Names of other
projects (std::, boost::, the kernel's kernel/ and mm/, glibc), the build's names (CMake's
spindle::spindle) and code named as removed (in italics, *`name`*, or "`name` (removed)")
are not checked.

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

import json
import os
import re
import subprocess
import sys
import tempfile

SOURCE_SUFFIXES = (".cpp", ".hpp", ".h", ".c", ".S")
PATH_SUFFIXES = SOURCE_SUFFIXES + (".md", ".py", ".build", ".txt", ".sh", ".json", ".toml")
# Paths that name files outside the project (system headers, URLs) are not checked.
EXTERNAL_PREFIXES = ("/", "boost/", "sys/", "bits/", "linux/", "asm/", "cxxabi", "kernel/", "mm/",
                     "include/linux/", "arch/", "glibc", "sysdeps/", "nptl/")
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


def occurs(name, text):
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])", text)


# --- C++ symbols: definitions from universal-ctags, uses from code without comments ---

CODE_SUFFIXES = (".cpp", ".hpp", ".h", ".c")
CODE_FOLDERS = ("runtime", "examples", "tests", "benchmarks", "docs/programs")
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
# "`f` is two lines", "`f`, the whole life of a thread in five lines:", but not
# "one-line functions" or "one line each".
LINES_CLAIM = re.compile(r"(?<![\w-])(" + "|".join(NUMBER_WORDS) + r"|\d+) lines?(?![\w-])"
                         r"(?!\s+(?:each|per|of|in|for)\b)", re.IGNORECASE)
# Names outside the project: the kernel's sources, Boost, glibc, the build tools.
EXTERNAL_SCOPES = ("std", "boost", "kernel", "mm", "glibc", "__gnu_cxx", "abi", "meson",
                   "cmake", "CMake", "redis", "fmt", "nlohmann", "CLI", "doctest", "testing")


def strip_comments_and_strings(text):
    """C++ text with comments and string and character literals blanked, newlines kept,
    so that a name found in what is left is used in code, and line numbers still hold."""
    out, i, n = [], 0, len(text)
    blank = lambda s: re.sub(r"[^\n]", " ", s)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            opening = re.match(r'R"([^()\\\s]{0,16})\(', text[i:])
            if not opening:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + opening.group(1) + '"', i)
            j = n if end < 0 else end + len(opening.group(1)) + 2
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # a digit separator: 1'000
                out.append(c)
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
        else:
            out.append(c)
            i += 1
            continue
        out.append(blank(text[i:j]))
        i = j
    return "".join(out)


def parse_symbol(symbol):
    """`scheduler::run()` -> ["scheduler", "run"]; `thread<R>::join` -> ["thread", "join"];
    None if it is not a (qualified) name."""
    symbol = re.sub(r"\(.*\)\s*(&&|&|const)?\s*$", "", symbol.strip())
    while "<" in symbol:  # drop template arguments, innermost first
        stripped = re.sub(r"<[^<>]*>", "", symbol)
        if stripped == symbol:
            break
        symbol = stripped
    parts = [p.strip() for p in symbol.split("::")]
    if parts and parts[0] == "":
        parts = parts[1:]
    if not parts or not all(IDENTIFIER.match(p) for p in parts):
        return None
    return parts


def symbol_name(symbol):
    """`scheduler::run()` -> `run`; `thread<R>::join` -> `join`; None if unusable."""
    parts = parse_symbol(symbol)
    return parts[-1] if parts else None


class SourceFile:
    """One source file as the checker sees it: its ctags tags and its code."""

    def __init__(self, path, tags):
        with open(path, encoding="utf-8", errors="replace") as f:
            self.text = f.read()
        self.path = path
        self.is_code = path.endswith(CODE_SUFFIXES)
        self.code = strip_comments_and_strings(self.text) if self.is_code else self.text
        self.words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", self.code))
        self.tags = {}  # name -> the tags of that name
        for tag in tags:
            self.tags.setdefault(tag["name"], []).append(tag)

    def definitions(self, parts):
        """Tags defining the name `parts` (qualifier, name) in this file: a tag of that name
        whose scope ends with the qualifier."""
        name, qualifier = parts[-1], parts[:-1]
        found = []
        for tag in self.tags.get(name, []):
            scope = [s for s in tag.get("scope", "").split("::") if s]
            if qualifier and scope[len(scope) - len(qualifier):] != qualifier:
                continue
            found.append(tag)
        return found

    def used_in_code(self, parts):
        """True if the (qualified) name occurs in the code, outside comments and strings."""
        if parts[-1] not in self.words:
            return False
        pattern = r"\s*(?:<[^;{}()]*?>)?\s*::\s*".join(re.escape(p) for p in parts)
        return re.search(r"(?<![A-Za-z0-9_])" + pattern + r"(?![A-Za-z0-9_])", self.code) is not None

    def body_lines(self, tag):
        """Lines of code in a function's body: between its braces, without blank and
        comment-only lines; a body on the line of its braces is one line."""
        start, end = tag["line"], tag.get("end")
        if end is None:
            return None
        code = self.code.split("\n")
        opening = next((n for n in range(start, end + 1) if "{" in code[n - 1]), None)
        if opening is None:
            return None
        if opening == end:
            return 1
        return sum(1 for n in range(opening + 1, end) if code[n - 1].strip())


def run_ctags(paths):
    """{path: [tag, ...]} for C++ files, from one run of universal-ctags: each tag a dict
    with name, kind, scope (`spindle::green::detail::scheduler`), line and end."""
    tags = {path: [] for path in paths}
    if not paths:
        return tags
    try:
        result = subprocess.run(
            ["ctags", "--output-format=json", "--fields=+nKSe", "--kinds-c++=+p",
             "--language-force=C++", "-o", "-"] + list(paths),
            capture_output=True, text=True, check=True)
    except FileNotFoundError:
        sys.exit("check_docs_references.py: universal-ctags is missing (Debian: universal-ctags)")
    for line in result.stdout.splitlines():
        tag = json.loads(line)
        if tag.get("_type") == "tag" and tag.get("path") in tags:
            tags[tag["path"]].append(tag)
    return tags


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


def path_of(source):
    return source.path


class Checker:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.errors = []
        self.listed, self.coming = self.read_table_of_contents()
        self.sources = {}       # absolute path -> SourceFile, each file read once
        self.project = None     # the code base: every C++ SourceFile of the project
        self.project_scopes = set()
        self.aliases = {}       # a type alias's name -> the names of the types it stands for
        self.build_files = None  # the texts of the project's meson and CMake files

    def source(self, path):
        path = os.path.abspath(path)
        if path not in self.sources:
            self.sources[path] = SourceFile(path, run_ctags([path])[path] if path.endswith(CODE_SUFFIXES) else [])
        return self.sources[path]

    def code_base(self):
        """Every C++ file of the project (one ctags run), and the names of its namespaces,
        classes and enumerations: the scopes a name must be in to be spindle's."""
        if self.project is None:
            paths = []
            for folder in CODE_FOLDERS:
                for directory, _, names in sorted(os.walk(os.path.join(self.root, folder))):
                    paths += [os.path.join(directory, n) for n in sorted(names) if n.endswith(CODE_SUFFIXES)]
            fresh = [p for p in paths if p not in self.sources]
            for path, tags in run_ctags(fresh).items():
                self.sources[path] = SourceFile(path, tags)
            self.project = [self.sources[p] for p in paths]
            for source in self.project:
                for tags in source.tags.values():
                    for tag in tags:
                        if tag.get("kind") in ("namespace", "class", "struct", "enum", "union"):
                            self.project_scopes.add(tag["name"])
                        if tag.get("kind") == "typedef":
                            target = parse_symbol(tag.get("typeref", "").partition(":")[2])
                            if target:
                                self.aliases.setdefault(tag["name"], set()).add(target[-1])
            self.project_scopes -= set(EXTERNAL_SCOPES)
        return self.project

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
        lines = list(prose_lines(path))
        for index, (number, line) in enumerate(lines):
            where = f"{self.rel(path)}:{number}"
            # A claim may run on to the next line: "`f` is the hand-off,\n two lines".
            following = lines[index + 1][1] if index + 1 < len(lines) and lines[index + 1][0] == number + 1 else ""
            for match in BACKTICKED.finditer(line):
                before, after = line[:match.start()], line[match.end():] + " " + following
                if before.endswith("*") and after.startswith("*") or re.match(r"\s*\(removed\)", after):
                    continue  # code the book names as removed
                if not self.check_citation(where, citing_dir, match.group(1), after):
                    self.check_bare_name(where, match.group(1))
            unclosed = BACKTICKED.sub("", line).partition("`")[2]
            if re.match(r"[A-Za-z0-9_.+-]+/[A-Za-z0-9_./+-]*", unclosed):
                self.error(where, f"a citation is broken across lines: `{unclosed.strip()}")
            for target in MD_LINK.findall(line):
                self.check_link(where, citing_dir, target)
        self.check_names_beside_files(path, lines)

    def check_names_beside_files(self, path, lines):
        """A name said to be in a cited C++ file ("`entry` in `runtime/green/thread.cpp`",
        "`runtime/green/thread.cpp`'s `entry`", "`x.cpp` defines `entry`") must be defined
        or used in it."""
        text, starts = "", []
        for number, line in lines:
            starts.append((len(text), number))
            text += line.rstrip("\n") + " "
        spans = list(BACKTICKED.finditer(text))
        for left, right in zip(spans, spans[1:]):
            gap = text[left.end():right.start()]
            if re.fullmatch(r"\s+\(?(?:in|of)\s+", gap):
                name, cited = left, right
            elif re.fullmatch(r"'s\s+|\s+(?:defines|declares|redeclares)\s+", gap):
                name, cited = right, left
            else:
                continue
            parts = parse_symbol(name.group(1))
            file = cited.group(1).partition(": ")[0].strip()
            if parts is None or not (looks_like_path(file) and file.endswith(CODE_SUFFIXES)):
                continue
            found = resolve(self.root, os.path.dirname(path), file)
            if found is None or os.path.isdir(found):
                continue  # reported as a citation
            source = self.source(found)
            if not source.definitions(parts) and not source.used_in_code(parts):
                number = next(n for offset, n in reversed(starts) if offset <= name.start())
                self.error(f"{self.rel(path)}:{number}", f"`{name.group(1)}` is said to be in {file}, "
                           f"but is neither defined nor used there" + self.why_not(source, parts))

    def check_citation(self, where, citing_dir, span, after):
        """Checks `path` or `path: symbol, ...`; False if the span is no citation of a file."""
        path, _, symbols = span.partition(": ")
        path = path.strip()
        if not looks_like_path(path):
            return False
        chapter = CHAPTER.fullmatch(path)
        if chapter is None and citing_dir == os.path.join(self.root, "docs"):
            chapter = CHAPTER_NAME.fullmatch(path)
        if chapter:
            self.chapter_exists(where, chapter.group(1))
            return True
        found = resolve(self.root, citing_dir, path)
        if found is None and citing_dir == self.root and path.split("/")[0] not in PROJECT_FOLDERS:
            return True  # the project's README.md names files a reader makes: app.cpp
        if found is None:
            self.error(where, f"`{span}`: no file {path}")
            return True
        if not symbols.strip():
            return True
        if os.path.isdir(found):
            self.error(where, f"`{span}`: {path} is a folder, it has no symbols")
            return True
        source = self.source(found)
        symbols = symbols.split(",")
        for symbol in symbols:
            parts = parse_symbol(symbol)
            if parts is None:
                self.error(where, f"`{span}`: cannot read a symbol name in '{symbol.strip()}'")
                continue
            name = "::".join(parts)
            if not source.is_code:
                if not occurs(parts[-1], source.text):
                    self.error(where, f"`{span}`: '{parts[-1]}' does not occur in {path}")
            elif not source.definitions(parts) and not source.used_in_code(parts):
                self.error(where, f"`{span}`: '{name}' is neither defined nor used in {path}"
                           + self.why_not(source, parts))
            elif len(symbols) == 1:
                self.check_lines_claim(where, span, source, parts, after)
        return True

    def why_not(self, source, parts):
        """A hint for a name not found: it is only in comments, or in another scope."""
        if len(parts) > 1 and source.definitions(parts[-1:]):
            scopes = sorted({t.get("scope", "(global)") for t in source.definitions(parts[-1:])})
            return f" ({parts[-1]} is, in {', '.join(scopes)})"
        if occurs(parts[-1], source.text):
            return " (it occurs only in comments or strings)"
        return ""

    def check_lines_claim(self, where, span, source, parts, after):
        """"`f` is two lines": the claim must be the number of lines of f's body."""
        claim = re.split(r"`|[.;](?:\s|$)", after, maxsplit=1)[0]
        match = LINES_CLAIM.search(claim)
        if not match:
            return
        said = match.group(1).lower()
        said = NUMBER_WORDS.get(said) or int(said)
        bodies = {source.body_lines(t) for t in source.definitions(parts)
                  if t.get("kind") == "function" and t.get("end")}
        bodies.discard(None)
        if not bodies:
            self.error(where, f"`{span}`: the book says {match.group(0)}, but {path_of(source)} defines no body of it")
        elif said not in bodies:
            counted = " or ".join(str(b) for b in sorted(bodies))
            self.error(where, f"`{span}`: the book says {match.group(0)}, the body has {counted}")

    def check_bare_name(self, where, span):
        """A name the book claims as spindle's must exist in the code: `scheduler::wake`
        (a project scope), `running_` (a member, by its trailing underscore)."""
        parts = parse_symbol(span)
        if parts is None or parts[0] in EXTERNAL_SCOPES:
            return
        self.code_base()
        qualified = len(parts) > 1 and parts[0] in self.project_scopes
        member = len(parts) == 1 and re.fullmatch(r"[a-z][A-Za-z0-9_]*[a-z0-9]_", parts[0])
        if not (qualified or member):
            return
        if self.in_build_files(parts):
            return  # a CMake or meson name, such as the target spindle::spindle
        for spelling in [parts] + self.through_aliases(parts):
            if any(s.definitions(spelling) or s.used_in_code(spelling) for s in self.project):
                return
        self.error(where, f"`{span}`: no '{'::'.join(parts)}' in spindle's code")

    def through_aliases(self, parts):
        """The name spelled through the type each alias in its qualifier stands for:
        `green::io::read` -> `io_calls::read` (`using io = io_calls<backend>`)."""
        spellings = []
        for index, part in enumerate(parts[:-1]):
            for target in sorted(self.aliases.get(part, ())):
                spellings.append([target] + parts[index + 1:])
        return spellings

    def in_build_files(self, parts):
        """True if the name occurs in one of the project's meson or CMake files."""
        if self.build_files is None:
            self.build_files = []
            for folder, subfolders, names in os.walk(self.root):
                if folder == self.root:
                    subfolders[:] = [s for s in subfolders if s in PROJECT_FOLDERS]
                for name in names:
                    if name in ("meson.build", "CMakeLists.txt") or name.endswith((".cmake", ".cmake.in")):
                        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                            self.build_files.append(f.read())
        return any(occurs("::".join(parts), text) for text in self.build_files)

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
        if os.path.isfile(os.path.join(self.root, "README.md")):
            documents.append(os.path.join(self.root, "README.md"))
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
            "Good, used but not defined there: `runtime/green/loop.cpp: helper`.\n"
            "Good: `runtime/green/loop.cpp: scheduler::step` is two lines, and\n"
            "`runtime/green/loop.cpp: scheduler::run` is one line.\n"
            "Good: `scheduler::step`, `green::io::read`, `steps_`, `std::thread::join`, the\n"
            "CMake target `spindle::spindle`, `kernel/fork.c: copy_process`, the removed\n"
            "*`old_steps_`* and `older_steps_` (removed); `step` in `runtime/green/loop.cpp`.\n"
            "Bad symbol: `runtime/green/loop.cpp: scheduler::runn`.\n"
            "In another file: `runtime/green/other.cpp: scheduler::step`.\n"
            "Wrong scope: `runtime/green/loop.cpp: reactor::step`.\n"
            "Only in a comment: `runtime/green/loop.cpp: scheduler::here`.\n"
            "Only in a string: `runtime/green/loop.cpp: wait_for_next_deadline`.\n"
            "Wrong count: `runtime/green/loop.cpp: scheduler::step`, the whole loop in one line.\n"
            "Bare names that are not spindle's: `scheduler::pick`, `current_`.\n"
            "Beside a file: `teardown` in `runtime/green/loop.cpp`.\n"
            "Bad path: `runtime/green/lopp.cpp`.\n"
            "Bad chapter: `docs/07-missing.md`, [gone](02-gone.md).\n"
            "Broken: `runtime/green/loop.cpp:\n  scheduler::run`.\n"
            "```\nnot checked: `runtime/green/in_code_block.cpp`\n```\n"
        ),
        "runtime/green/loop.cpp": (
            "// loop.cpp\n// Explained in: docs/00-glossary.md (timers).\n"
            "namespace spindle::green {\n"
            "// scheduler::here and teardown are named only in this comment.\n"
            "struct scheduler { void run(); void step(); int steps_; };\n"
            "void scheduler::run() { helper(); }\n"
            "void scheduler::step() {\n"
            "  ++steps_;\n\n"
            "  /* a comment line is no line of code */\n"
            "  helper(\"wait_for_next_deadline\");\n"
            "}\n"
            "}\n"
        ),
        "runtime/green/other.cpp": "// Explained in: docs/00-glossary.md.\nvoid other() {}\n",
        "runtime/green/no_chapter.cpp": "// no_chapter.cpp: says nothing about the book.\nint x;\n",
        "runtime/green/bad_section.cpp": "// Explained in: docs/00-glossary.md (policies).\n// Read next: runtime/green/nowhere.cpp.\n",
        "runtime/include/spindle/api.hpp": (
            "// Explained in: docs/02-the-api.md.\nvoid spawn();\n"
            "namespace spindle::green { struct io_calls { static void read(); }; using io = io_calls; }\n"
        ),
        "runtime/spindleConfig.cmake.in": "add_library(spindle::spindle INTERFACE IMPORTED)\n",
    }
    expected = [
        "'scheduler::runn' is neither defined nor used in runtime/green/loop.cpp",
        "'scheduler::step' is neither defined nor used in runtime/green/other.cpp",
        "'reactor::step' is neither defined nor used in runtime/green/loop.cpp (step is, in spindle::green::scheduler)",
        "'scheduler::here' is neither defined nor used in runtime/green/loop.cpp (it occurs only in comments",
        "'wait_for_next_deadline' is neither defined nor used in runtime/green/loop.cpp (it occurs only in comments",
        "the book says one line, the body has 2",
        "no 'scheduler::pick' in spindle's code",
        "no 'current_' in spindle's code",
        "`teardown` is said to be in runtime/green/loop.cpp, but is neither defined nor used there",
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
