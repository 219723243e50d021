"""Incremental builds can never publish stale output: a property-based test.

Guards against the whole family of "the output still shows old text" bugs of the incremental engine.
The build, `check`, the dev server and builds that fail or are interrupted all share one cache
(`.neuralpath/build-cache.sqlite` under the site root), so a cache entry written by one of them must
never let a later `build` skip work it needs. The known instance: build, edit a note, run `check`, build
again: `check` rendered the new body into the cache, the build found it there, rendered nothing in its
own process, and its fast path (re-render only the pages of bodies rendered in this process) kept the
old page.

Hypothesis draws sequences of author actions on a small site (edit a body, a title, a summary, the
prerequisites; rename an equation label or a note, updating the references to it or leaving them
dangling; add or delete a note; break TeX and fix it; point a module introduction at another note)
interleaved with `check`, `build`, dev-server rebuilds (into the build's output folder and into the
server's own) and builds interrupted part-way with KeyboardInterrupt. Every sequence ends with a build
(and, when the sources are broken at that point, a repair and another build). The oracle is a clean build of the same sources with an in-memory
cache into a separate folder (memoised by a hash of the source tree). The properties:

- a build (or dev-server rebuild) that succeeds leaves its output folder byte for byte equal to the
  clean build, ignoring only the build date printed in page footers and the feed's "updated" stamp,
  which is the time of the build when the site has no articles;
- a build or `check` fails exactly when the clean build fails, and the clean build fails exactly when
  the model says the sources are broken (a check of the test itself);
- a failed build leaves the previous output exactly as it was;
- an interrupted build leaves either the previous output or the complete new one, and no staging folder.

Every file the test writes gets an mtime later than any it wrote before: the engine recognises unchanged
files by size and mtime, and two same-size edits within one clock tick of the file system are a
limitation of that design that this test does not try to exercise.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import MODULE, note, write_site
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import note as log
from hypothesis import strategies as st

from neuralpath.build import BuildOptions, build
from neuralpath.cache import BuildCache
from neuralpath.errors import BuildFailed
from neuralpath.serve import DevServer

# -- the model of the site ----------------------------------------------------------------------

MODULES = {"a": MODULE, "b": str(Path(MODULE).parent / "02-calculus")}
SLUGS = ("vectors", "matrices", "limits", "series", "norms", "bases")  # every id a note may take
LABELS = ("sum", "norm", "limit")
TEXTS = (
    "Alpha text with $x$.",
    "Edited text with $x^2 + 1$.",
    "Plain words only.",
    "## First part\n\nA section.\n\n## Second part\n\nAnother section with $y$.",  # a table of contents appears
    "A long note. " + "word " * 450,  # reading time: 1 minute -> 3 minutes (shown on module pages)
)
TITLES = ("Vectors", "Vector Spaces", "Matrices & Maps", "Limits <and> Series", "Norms")
SUMMARIES = ("A short summary.", "Another summary, a little longer than the first one.", "Third summary: x < y.")
MODULE_TITLES = ("Algebra", "Linear Algebra", "Calculus", "Analysis")
CODE = "```python\nprint(6 * 7)\n```"  # the only code: its result comes from the seeded execution cache
BROKEN_TEX = "Broken $\\frac{1}{$ math."


@dataclass
class Note:
    slug: str  # the id
    module: str  # "a" or "b"
    order: int  # the file name's numeric prefix
    title: str
    summary: str = "A short summary."
    text: str = TEXTS[0]
    label: str | None = None  # \label{eq:<label>} of a display equation
    links: list[str] = field(default_factory=list)  # [..](note:<id>)
    eqrefs: list[tuple[str, str]] = field(default_factory=list)  # \eqref{<id>:eq:<label>}
    prereqs: list[str] = field(default_factory=list)
    code: bool = False
    broken: bool = False  # holds TeX that KaTeX rejects

    @property
    def path(self) -> str:
        return f"{MODULES[self.module]}/{self.order:02d}-{self.slug}.md"

    def source(self) -> str:
        parts = [self.text]
        if self.label:
            parts.append(f"$$\na + b = c \\label{{eq:{self.label}}}\n$$")
        parts += [f"See [this note](note:{target})." for target in self.links]
        parts += [f"As in \\eqref{{{target}:eq:{label}}}." for target, label in self.eqrefs]
        if self.code:
            parts.append(CODE)
        if self.broken:
            parts.append(BROKEN_TEX)
        fields = {"prerequisites": "[" + ", ".join(self.prereqs) + "]"} if self.prereqs else {}
        return note(self.title, "\n\n".join(parts) + "\n", summary=self.summary, **fields)


@dataclass
class Site:
    notes: dict[str, Note]
    module_titles: dict[str, str]
    intro: str | None  # the note module "a"'s introduction links to

    @classmethod
    def initial(cls) -> Site:
        notes = [
            Note("vectors", "a", 1, "Vectors", label="sum"),
            Note("matrices", "a", 2, "Matrices & Maps", text=TEXTS[2], links=["vectors"],
                 eqrefs=[("vectors", "sum")], prereqs=["vectors"]),
            Note("limits", "b", 1, "Limits <and> Series", code=True),
        ]
        return cls({n.slug: n for n in notes}, {"a": "Algebra", "b": "Calculus"}, "vectors")

    def files(self) -> dict[str, str]:
        files = {n.path: n.source() for n in self.notes.values()}
        intro = f"Start with [the first note](note:{self.intro}), then read on.\n" if self.intro else ""
        for key, folder in MODULES.items():
            front = f'---\ntitle: "{self.module_titles[key]}"\nsummary: "Module {key}."\n---\n'
            files[f"{folder}/_index.md"] = front + (intro if key == "a" else "")
        return files

    def pick(self, i: int) -> Note:
        return list(self.notes.values())[i % len(self.notes)]

    def free_slug(self) -> str | None:
        return next((s for s in SLUGS if s not in self.notes), None)

    def problems(self) -> list[str]:
        """Why a build of these sources must fail (empty: it must succeed)."""
        out, ids = [], set(self.notes)
        for n in self.notes.values():
            out += [f"{n.slug}: broken TeX"] if n.broken else []
            out += [f"{n.slug}: link to missing {t}" for t in n.links if t not in ids]
            out += [f"{n.slug}: prerequisite {t} missing" for t in n.prereqs if t not in ids]
            out += [f"{n.slug}: \\eqref{{{t}:eq:{lab}}} has no label" for t, lab in n.eqrefs
                    if t not in ids or self.notes[t].label != lab]
        if self.intro is not None and self.intro not in ids:
            out.append(f"the module introduction links to missing {self.intro}")
        if self.has_cycle():
            out.append("prerequisites form a cycle")
        return out

    def has_cycle(self) -> bool:
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(i: str) -> bool:
            state[i] = 1
            for p in self.notes[i].prereqs:
                if p in self.notes and (state.get(p) == 1 or (p not in state and visit(p))):
                    return True
            state[i] = 2
            return False

        return any(i not in state and visit(i) for i in self.notes)

    def drop_references(self, gone: str) -> None:
        for n in self.notes.values():
            n.links = [t for t in n.links if t != gone]
            n.eqrefs = [(t, lab) for t, lab in n.eqrefs if t != gone]
            n.prereqs = [t for t in n.prereqs if t != gone]
        if self.intro == gone:
            self.intro = next((n.slug for n in self.notes.values() if n.module == "a"), None)

    def repair(self) -> None:
        """Make the sources valid again: fix TeX, drop dangling references, break prerequisite cycles."""
        ids = set(self.notes)
        for n in self.notes.values():
            n.broken = False
            n.links = [t for t in n.links if t in ids]
            n.prereqs = [t for t in n.prereqs if t in ids]
            n.eqrefs = [(t, lab) for t, lab in n.eqrefs if t in ids and self.notes[t].label == lab]
        if self.intro not in ids:
            self.intro = next((n.slug for n in self.notes.values() if n.module == "a"), None)
        if self.has_cycle():
            for n in self.notes.values():
                n.prereqs = []


# -- actions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One action. `pick` chooses a note (modulo how many there are), `value` indexes the pool of the
    action, `flag` is its yes/no choice (keep references consistent, dev server into the build's folder)."""

    kind: str
    pick: int = 0
    value: object = 0
    flag: bool = True


# how often each action is drawn: edits of a body (the fast path's case) and runs most often
WEIGHTS = {"body": 4, "tex": 2, "title": 1, "summary": 1, "module-title": 1, "prereqs": 1, "label": 2, "add": 1,
           "rename": 1, "delete": 1, "intro": 1, "repair": 1,
           "check": 3, "build": 3, "serve": 3, "interrupt": 3}
picks = st.integers(0, 5)
VALUES = {"body": st.integers(0, len(TEXTS) - 1), "title": st.integers(0, len(TITLES) - 1),
          "summary": st.integers(0, len(SUMMARIES) - 1), "module-title": st.integers(0, len(MODULE_TITLES) - 1),
          "prereqs": st.lists(picks, max_size=2).map(tuple), "label": st.integers(0, len(LABELS) - 1),
          "add": st.sampled_from("ab"), "interrupt": st.integers(1, 8) | st.integers(9, 60)}
STEPS = st.sampled_from([kind for kind, w in WEIGHTS.items() for _ in range(w)]).flatmap(
    lambda kind: st.builds(Step, st.just(kind), picks, VALUES.get(kind, st.just(0)), st.booleans()))
RUNS = {"check", "build", "serve", "interrupt"}


def edit(site: Site, step: Step) -> str | None:
    """Apply an editing step to the model; returns what it did, or None when it does not apply."""
    n = site.pick(step.pick)
    if step.kind == "body":
        n.text = TEXTS[step.value]
        return f"edit the body of {n.slug}: {n.text[:40]!r}"
    if step.kind == "title":
        n.title = TITLES[step.value]
        return f"title of {n.slug} -> {n.title!r}"
    if step.kind == "summary":
        n.summary = SUMMARIES[step.value]
        return f"summary of {n.slug} -> {n.summary!r}"
    if step.kind == "module-title":
        key = "ab"[step.pick % 2]
        site.module_titles[key] = MODULE_TITLES[step.value]
        return f"title of module {key} -> {site.module_titles[key]!r}"
    if step.kind == "prereqs":
        n.prereqs = list(dict.fromkeys(p.slug for p in map(site.pick, step.value) if p is not n))
        return f"prerequisites of {n.slug} -> {n.prereqs}"
    if step.kind == "label":
        if n.label is None or n.label == LABELS[step.value]:
            return None
        old, n.label = n.label, LABELS[step.value]
        if step.flag:
            for other in site.notes.values():
                other.eqrefs = [(t, n.label if (t, lab) == (n.slug, old) else lab) for t, lab in other.eqrefs]
        return f"rename label eq:{old} of {n.slug} to eq:{n.label}" + ("" if step.flag else " (references left)")
    if step.kind == "add":
        slug = site.free_slug()
        if slug is None:
            return None
        order = max((m.order for m in site.notes.values() if m.module == step.value), default=0) + 1
        new = Note(slug, step.value, order, slug.title(), label="norm")
        if step.flag:
            new.links = [n.slug]
            new.eqrefs = [(n.slug, n.label)] if n.label else []
        site.notes[slug] = new
        return f"add {new.path}" + (f" linking to {n.slug}" if step.flag else "")
    if step.kind == "rename":
        slug = site.free_slug()
        if slug is None:
            return None
        old_path, old = n.path, n.slug
        site.notes = {(slug if k == old else k): v for k, v in site.notes.items()}
        n.slug = slug
        if step.flag:
            for other in site.notes.values():
                other.links = [slug if t == old else t for t in other.links]
                other.eqrefs = [(slug if t == old else t, lab) for t, lab in other.eqrefs]
                other.prereqs = [slug if t == old else t for t in other.prereqs]
            site.intro = slug if site.intro == old else site.intro
        return f"rename {old_path} -> {n.path}" + ("" if step.flag else " (references left)")
    if step.kind == "delete":
        if sum(m.module == n.module for m in site.notes.values()) < 2:
            return None  # every module keeps a note
        del site.notes[n.slug]
        site.drop_references(n.slug)
        return f"delete {n.path} (references removed)"
    if step.kind == "intro":
        site.intro = n.slug
        return f"module a's introduction links to {n.slug}"
    if step.kind == "tex":
        n.broken = not n.broken
        return f"{'break' if n.broken else 'fix'} TeX in {n.slug}"
    if step.kind == "repair":
        site.repair()
        return "repair everything"
    raise AssertionError(step.kind)


# -- reading output folders -----------------------------------------------------------------------

BUILD_DATE = re.compile(rb"built \d{4}-\d{2}-\d{2}")
FEED_UPDATED = re.compile(rb"(</id>\n  <updated>)[^<]*(</updated>)")  # the feed's own, not an entry's


def snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def normalised(files: dict[str, bytes]) -> dict[str, bytes]:
    out = {}
    for rel, data in files.items():
        if rel.endswith(".html"):
            data = BUILD_DATE.sub(b"built DATE", data)
        elif rel == "feed.xml":
            data = FEED_UPDATED.sub(rb"\1DATE\2", data, count=1)
        out[rel] = data
    return out


def tree_diff(got: dict[str, bytes], want: dict[str, bytes], got_name: str, want_name: str) -> str:
    """What differs between two folders: file lists, then the first differing lines of a few files."""
    lines = []
    if missing := sorted(set(want) - set(got)):
        lines.append(f"only in {want_name}: {missing}")
    if extra := sorted(set(got) - set(want)):
        lines.append(f"only in {got_name}: {extra}")
    differ = [rel for rel in sorted(set(got) & set(want)) if got[rel] != want[rel]]
    if differ:
        lines.append(f"differ: {differ}")
    for rel in differ[:4]:
        a = want[rel].decode("utf-8", "replace").splitlines()
        b = got[rel].decode("utf-8", "replace").splitlines()
        shown = 0
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal" or shown >= 3:
                continue
            shown += 1
            lines.append(f"--- {rel}, line {i1 + 1}:")
            old, new = "\n".join(a[i1:i2]), "\n".join(b[j1:j2])
            at = next((k for k, (x, y) in enumerate(zip(old, new)) if x != y), min(len(old), len(new)))
            start = max(0, at - 100)
            lines.append(f"  {want_name}: ...{old[start:at + 200]!r}")
            lines.append(f"  {got_name}: ...{new[start:at + 200]!r}")
    return "\n".join(lines)


# -- the oracle: clean builds, memoised by the source tree ---------------------------------------

@dataclass(frozen=True)
class Clean:
    ok: bool
    files: dict[str, bytes] = field(default_factory=dict)  # normalised, when ok
    error: str = ""  # the report, when not ok


CLEAN: dict[str, Clean] = {}  # by hash of the source tree


def source_hash(root: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in sorted([root / "neuralpath.toml", *(root / "content").rglob("*")]):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def clean_build(root: Path) -> Clean:
    """A clean build of the sources in `root`, with an in-memory cache, into a folder of its own."""
    key = source_hash(root)
    if key not in CLEAN:
        out = root.parent / "clean"
        try:
            build(root, BuildOptions(output=out, clean=True, search=False, cache=BuildCache()))
            CLEAN[key] = Clean(True, files=normalised(snapshot(out)))
        except BuildFailed as e:
            CLEAN[key] = Clean(False, error=e.report.as_text())
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return CLEAN[key]


# -- running a sequence ---------------------------------------------------------------------------

class Interrupter:
    """A progress display that raises KeyboardInterrupt at its `at`-th call (line, task, advance, done)."""

    def __init__(self, at: int):
        self.at, self.calls = at, 0

    def _tick(self) -> None:
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt

    def line(self, msg: str) -> None:
        self._tick()

    def task(self, name: str, total: int) -> Interrupter:
        self._tick()
        return self

    def advance(self, n: int = 1) -> None:
        self._tick()

    def done(self) -> None:
        self._tick()


class Author:
    """A site folder, the model of its sources, and the builds run on it."""

    def __init__(self, root: Path, exec_seed: Path):
        self.root = root
        self.site = Site.initial()
        self.clock = 0  # the last mtime given to a file (ns)
        write_site(root, {})
        shutil.copytree(exec_seed, root / ".neuralpath" / "exec")
        self.sync()
        self.public = root / "public"  # where `build` writes
        self.servers = {True: DevServer(root, quiet=True, output=self.public), False: DevServer(root, quiet=True)}

    def sync(self) -> None:
        """Make the files on disk what the model says, touching only files whose text changed."""
        content = self.root / "content"
        want = self.site.files()
        on_disk = {p.relative_to(self.root).as_posix(): p for p in content.rglob("*.md")}
        for rel, path in on_disk.items():
            if rel not in want:
                path.unlink()
        for rel, text in want.items():
            path = self.root / rel
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                self.clock = max(time.time_ns(), self.clock + 1000)
                os.utime(path, ns=(self.clock, self.clock))

    def rename_file(self, old: str, new: str) -> None:
        """Rename a note's file as an author would (the file keeps its mtime), before `sync`."""
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        (self.root / old).rename(self.root / new)

    def do(self, step: Step) -> None:
        if step.kind not in RUNS:
            picked = self.site.pick(step.pick)
            before = picked.path
            what = edit(self.site, step)
            if what is None:
                return
            if step.kind == "rename":
                self.rename_file(before, picked.path)
            self.sync()
            log(what)
            return
        clean = clean_build(self.root)
        problems = self.site.problems()
        if clean.ok == bool(problems):
            fail(f"the test's model and a clean build disagree: the model expects "
                 f"{'failure: ' + '; '.join(problems) if problems else 'success'}, the clean build "
                 f"{'succeeded' if clean.ok else 'failed:' + chr(10) + clean.error}")
        if step.kind == "check":
            self.check(clean)
        elif step.kind == "build":
            self.build(clean)
        elif step.kind == "serve":
            self.serve(step.flag, clean)
        else:
            self.interrupted_build(step.value, clean)

    def check(self, clean: Clean) -> None:
        try:
            build(self.root, BuildOptions(write=False, drafts=True, search=False))
            ok, error = True, ""
        except BuildFailed as e:
            ok, error = False, e.report.as_text()
        log(f"check: {'ok' if ok else 'failed'}")
        event(f"check {'ok' if ok else 'failed'}")
        same_outcome("check", ok, error, clean)

    def build(self, clean: Clean, progress=None, label: str = "build") -> None:
        before = snapshot(self.public)
        try:
            build(self.root, BuildOptions(search=False, progress=progress))
            ok, error = True, ""
        except BuildFailed as e:
            ok, error = False, e.report.as_text()
        log(f"{label}: {'ok' if ok else 'failed'}")
        event(f"{label.split(' ')[0]} {'ok' if ok else 'failed'}")
        verify(label, self.public, before, ok, error, clean)

    def serve(self, shared: bool, clean: Clean) -> None:
        server = self.servers[shared]
        label = f"dev-server rebuild into {'public/' if shared else '.neuralpath/serve/'}"
        before = snapshot(server.output)
        ok = server.rebuild(search=False)  # the oracle is built without search (test_search.py covers it)
        log(f"{label}: {'ok' if ok else 'failed'}")
        event(f"{label} {'ok' if ok else 'failed'}")
        verify(label, server.output, before, ok, server.last_error or "", clean)

    def interrupted_build(self, at: int, clean: Clean) -> None:
        before = snapshot(self.public)
        try:
            self.build(clean, Interrupter(at), label=f"build with an interrupt at progress call {at}")
            return  # it ended (finished or failed) before that call: checked as any build
        except KeyboardInterrupt:
            log(f"build interrupted at progress call {at}")
            event("build interrupted")
        if leftovers := sorted(p.name for p in self.root.glob(".public.*")):
            fail(f"an interrupted build left {leftovers} beside the output")
        after = snapshot(self.public)
        if after == before:
            return
        if not clean.ok:
            fail("an interrupted build changed the output although the sources cannot build:\n"
                 + tree_diff(after, before, "after", "before"))
        got = normalised(after)
        if got != clean.files:
            fail("an interrupted build left neither the old output nor the new one:\n"
                 + tree_diff(got, clean.files, "interrupted", "clean"))


def fail(message: str) -> None:
    raise AssertionError(message)  # raised, not asserted: pytest's rendering of two big dicts helps nobody


def same_outcome(label: str, ok: bool, error: str, clean: Clean) -> None:
    if ok != clean.ok:
        fail(f"{label} {'succeeded' if ok else 'failed'} but a clean build of the same sources "
             f"{'succeeded' if clean.ok else 'failed'}:\n{clean.error if ok else error}")


def verify(label: str, out: Path, before: dict[str, bytes], ok: bool, error: str, clean: Clean) -> None:
    """After a build into `out` that succeeded or failed (`ok`), starting from the files `before`."""
    same_outcome(label, ok, error, clean)
    after = snapshot(out)
    if not ok:
        if after != before:
            fail(f"{label} failed and changed the output:\n" + tree_diff(after, before, "after", "before"))
        return
    got = normalised(after)
    if got != clean.files:
        fail(f"{label}: the output differs from a clean build of the same sources:\n"
             + tree_diff(got, clean.files, "incremental", "clean"))


@pytest.fixture(scope="session")
def exec_seed(tmp_path_factory) -> Path:
    """The execution cache of the initial site: examples copy it, so no example starts Python to run
    the note's code (about a second each)."""
    root = tmp_path_factory.mktemp("seed") / "site"
    write_site(root, Site.initial().files())
    build(root, BuildOptions(search=False))
    return root / ".neuralpath" / "exec"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=st.lists(STEPS, min_size=1, max_size=7))
# known regressions, always run: a body rendered into the cache by `check`, by the dev server, by a build
# that failed on another note, and by a build interrupted after rendering, must not hide the edit
@example(steps=[Step("body", 0, 1), Step("check")])
@example(steps=[Step("body", 0, 1), Step("serve", flag=False)])
@example(steps=[Step("body", 0, 1), Step("tex", 2), Step("build")])
@example(steps=[Step("body", 0, 1), Step("interrupt", value=7)])
def test_incremental_output_matches_a_clean_build(steps, exec_seed, tmp_path_factory):
    base = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    try:
        author = Author(base / "site", exec_seed)
        author.do(Step("build"))  # an author starts from a built site
        for step in steps:
            author.do(step)
        author.do(Step("build"))  # every sequence ends with a build
        if author.site.problems():
            author.do(Step("repair"))
            author.do(Step("build"))
    finally:
        shutil.rmtree(base, ignore_errors=True)
