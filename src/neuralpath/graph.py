"""Resolve stage: ids, links, equation labels, prerequisites, series order, backlinks, reading time.

Takes the loaded `Content` and the `Parsed` result of each body (documents, and the introductions of
parts, modules and series); reports every broken reference with its file and line; returns a `Site`,
which later stages read and never change (its fields are fixed once `resolve` returns it).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from neuralpath.config import Config
from neuralpath.content.loader import Content
from neuralpath.content.model import Doc, Intro, Module, Part, Series
from neuralpath.errors import Report
from neuralpath.markdown.parser import Parsed, anchor_ids, label_anchor


@dataclass(frozen=True)
class Site:
    config: Config
    content: Content
    docs: dict[str, Doc] = field(default_factory=dict)
    parsed: dict[str, Parsed] = field(default_factory=dict)  # body id (document id or Intro.id) -> Parsed
    intros: dict[str, Intro] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)
    backlinks: dict[str, list[str]] = field(default_factory=dict)  # id -> ids that link to it
    dependents: dict[str, list[str]] = field(default_factory=dict)  # id -> notes that list it as prerequisite
    series_of: dict[str, list[tuple[Series, int]]] = field(default_factory=dict)  # id -> (series, 0-based pos)
    tags: dict[str, list[Doc]] = field(default_factory=dict)
    reading_minutes: dict[str, int] = field(default_factory=dict)

    @property
    def parts(self) -> list[Part]:
        return self.content.parts

    @property
    def modules(self) -> list[Module]:
        return self.content.modules

    def notes(self) -> list[Doc]:
        return [n for m in self.modules for n in m.notes]

    def articles(self) -> list[Doc]:
        arts = [d for d in self.docs.values() if d.kind == "article"]
        return sorted(arts, key=lambda d: (d.date or dt.date.min, d.id), reverse=True)

    def pages(self) -> list[Doc]:
        return [d for d in self.docs.values() if d.kind == "page"]

    def neighbours(self, doc: Doc) -> tuple[Doc | None, Doc | None]:
        if not doc.module:
            return None, None
        written = [n for n in doc.module.notes if n.has_page]
        if doc not in written:
            return None, None
        i = written.index(doc)
        return (written[i - 1] if i > 0 else None, written[i + 1] if i + 1 < len(written) else None)

    def doc_at(self, path) -> str | None:
        """The id of the document whose source file is `path` (relative links to notes' files)."""
        by_path = self.__dict__.get("_by_path")
        if by_path is None:  # on first use: resolving every source path costs ~60 ms at 1,000 notes
            # and most builds have no relative link to a file
            by_path = {str(d.source.path.resolve()): d.id for d in self.docs.values()}
            object.__setattr__(self, "_by_path", by_path)
        return by_path.get(str(Path(path).resolve()))

    def place(self, target: str):
        """The module, part or series a link names when no document has that id: by id
        (`note:linear-algebra-matrix-analysis`) or, for 'file:' targets resolved by `place_at`, by its
        `_index.md`. None when there is none."""
        places = self.__dict__.get("_places")
        if places is None:
            places = {}
            for part in self.content.parts:
                places.setdefault(part.id, part)
                for m in part.modules:
                    places.setdefault(m.id, m)
            for s in self.content.series:
                places.setdefault(s.id, s)
            object.__setattr__(self, "_places", places)
        return places.get(target)

    def place_at(self, path):
        """The module, part or series whose own file (`_index.md`, `index.md`, a series file) is `path`."""
        by_path = self.__dict__.get("_places_by_path")
        if by_path is None:
            by_path = {}
            for part in self.content.parts:
                for rec in (part, *part.modules):
                    if rec.source is not None and rec.source.path.is_file():
                        by_path[str(rec.source.path.resolve())] = rec
            for s in self.content.series:
                by_path[str(s.source.path.resolve())] = s
            object.__setattr__(self, "_places_by_path", by_path)
        return by_path.get(str(Path(path).resolve()))

    def resolve_label(self, body_id: str, label: str) -> Ref | None:
        """A label of this body ('eq:x', 'thm:y') or of another note ('note-id:eq:x') -> what a reference
        to it shows, or None. Remembered per (body, label): the resolve stage checks every reference and
        the render keys ask again; the answer reads only fields that are fixed once `resolve` has filled
        `docs` (as `_label_owners` does)."""
        memo = self.__dict__.get("_refs")
        if memo is None:
            memo = {}
            object.__setattr__(self, "_refs", memo)
        key = (body_id, label)
        if key in memo:
            return memo[key]
        found = memo[key] = self._resolve_label(body_id, label)
        return found

    def _resolve_label(self, body_id: str, label: str) -> Ref | None:
        parsed = self.parsed.get(body_id) if body_id in self.docs else None  # introductions have no labels
        if parsed and label in parsed.labels:
            return _ref(parsed, label, "", "")
        target, _, rest = label.partition(":")
        other = self.docs.get(target)
        if rest and other and other.has_page and other.id in self.parsed and rest in self.parsed[other.id].labels:
            return _ref(self.parsed[other.id], rest, self.config.base_path + other.url, other.title)
        # a label no other form names, held by exactly one other document: as MyST (Jupyter Book), whose
        # labels are global to the book, means it
        owners = self._label_owners().get(label, ())
        if len(owners) == 1 and owners[0] != body_id:
            other = self.docs[owners[0]]
            return _ref(self.parsed[other.id], label, self.config.base_path + other.url, other.title)
        return None

    def _label_owners(self) -> dict[str, tuple[str, ...]]:
        """label -> the documents with a page that define it (built on first use)."""
        owners = self.__dict__.get("_owners")
        if owners is None:
            found: dict[str, list[str]] = {}
            for d in self.docs.values():
                if d.has_page and d.id in self.parsed:
                    for lab in self.parsed[d.id].labels:
                        found.setdefault(lab, []).append(d.id)
            owners = {k: tuple(v) for k, v in found.items()}
            object.__setattr__(self, "_owners", owners)
        return owners


class Ref(NamedTuple):
    """What a reference to a label shows: `url` ('#anchor' within the body, else the other note's URL
    with the anchor), the number, the other note's title ('' within the body), the label's kind
    ('equation' or a theorem-like kind such as 'theorem' or 'figure') and the block's title."""

    url: str
    number: int
    note_title: str
    kind: str
    title: str


def _ref(parsed: Parsed, label: str, url: str, note_title: str) -> Ref:
    kind = parsed.label_kinds.get(label, "equation")
    block = parsed.block_of(label) if kind != "equation" else None
    return Ref(f"{url}#{label_anchor(label)}", parsed.labels[label], note_title, kind, block[2] if block else "")


def resolve(config: Config, content: Content, parsed: dict[str, Parsed], intros: list[Intro], report: Report) -> Site:
    """The site graph; `intros` are the bodies that are not documents (introductions, site indexes)."""
    site = Site(config=config, content=content, parsed=parsed, intros={i.id: i for i in intros})
    for doc in content.docs:
        other = site.docs.get(doc.id)
        if other is not None:
            report.error(doc.source.path, doc.source.line_of("id"),
                         f"duplicate id '{doc.id}': also used by {report.relative(other.source.path)}; "
                         "rename one file or set a different 'id:'", rule="duplicate-id")
            continue
        site.docs[doc.id] = doc
    urls: dict[str, object] = {}
    for item in [*content.docs, *content.modules, *content.parts, *content.series]:
        path = item.source.path
        if item.url in urls and urls[item.url] is not item:
            prev = urls[item.url]
            report.error(path, 1, f"URL /{item.url} is also produced by {report.relative(prev.source.path)}",
                         rule="url-collision")
        urls.setdefault(item.url, item)
    for s in content.series:
        if s.id in site.series:
            report.error(s.source.path, 1, f"duplicate series id '{s.id}'", rule="duplicate-id")
            continue
        site.series[s.id] = s
        for pos, member in enumerate(s.members):
            if member not in site.docs:
                report.error(s.source.path, s.source.line_of("members"),
                             f"series member '{member}' does not exist{_hint(member, site.docs)}",
                             rule="series-member")
                continue
            site.series_of.setdefault(member, []).append((s, pos))
    _check_prerequisites(site, report)
    _check_references(site, report)
    for doc in site.docs.values():
        for tag in doc.tags:
            if doc.has_page:
                site.tags.setdefault(tag, []).append(doc)
        p = parsed.get(doc.id)
        if p is not None:
            site.reading_minutes[doc.id] = reading_minutes(p, config.reading)
    return site


def reading_minutes(p: Parsed, reading: dict) -> int:
    """Words at `words_per_minute`, plus a fixed allowance per display equation and per code block."""
    seconds = (p.words / max(1, reading["words_per_minute"]) * 60
               + p.display_math * reading["seconds_per_display_equation"]
               + len(p.code) * reading["seconds_per_code_block"])
    return max(1, math.ceil(seconds / 60))


def _nearest_labels(site: Site, body_id: str, label: str) -> str:
    """' (nearest: ...)' from the labels of this body and, for 'note-id:label', of that note."""
    own = list(site.parsed[body_id].labels) if body_id in site.docs and body_id in site.parsed else []
    target, _, rest = label.partition(":")
    other = site.parsed.get(target) if target in site.docs else None
    if other is not None:
        candidates = [f"{target}:{lab}" for lab in other.labels] + own
    else:
        candidates = own
    close = difflib.get_close_matches(label, candidates, n=3, cutoff=0.4)
    notes = []
    if other is None and ":" in rest:
        notes.append(f"no note has the id '{target}'")
    if close:
        notes.append("nearest: " + ", ".join(close))
    return f" ({'; '.join(notes)})" if notes else ""


def _hint(name: str, ids, cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(name, list(ids), n=1, cutoff=cutoff)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_prerequisites(site: Site, report: Report) -> None:
    for doc in site.docs.values():
        for pre in doc.prerequisites:
            if pre not in site.docs:
                report.error(doc.source.path, doc.source.line_of("prerequisites"),
                             f"prerequisite '{pre}' does not exist{_hint(pre, site.docs)}", rule="prerequisite")
            elif pre == doc.id:
                report.error(doc.source.path, doc.source.line_of("prerequisites"),
                             "a note cannot be its own prerequisite", rule="prerequisite-cycle")
            else:
                site.dependents.setdefault(pre, []).append(doc.id)
    cycle = find_cycle({d.id: [p for p in d.prerequisites if p in site.docs and p != d.id]
                        for d in site.docs.values()})
    if cycle:
        first = site.docs[cycle[0]]
        report.error(first.source.path, first.source.line_of("prerequisites"),
                     "prerequisites form a cycle: " + " -> ".join(cycle + [cycle[0]]), rule="prerequisite-cycle")


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One cycle of a directed graph as a list of nodes, or None (iterative DFS, no recursion limit)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {n: WHITE for n in graph}
    for start in graph:
        if colour[start] != WHITE:
            continue
        stack = [(start, iter(graph[start]))]
        path = [start]
        colour[start] = GREY
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = BLACK
                stack.pop()
                path.pop()
            elif colour.get(nxt, BLACK) == GREY:
                return path[path.index(nxt):]
            elif colour.get(nxt) == WHITE:
                colour[nxt] = GREY
                stack.append((nxt, iter(graph.get(nxt, []))))
                path.append(nxt)
    return None


def nearest_prerequisites(graph: dict[str, list[str]], root: str, limit: int = 20) -> list[str]:
    """Up to `limit` transitive prerequisites of `root`, nearest first (breadth-first), in study order
    (dependencies first). Bounded so that a long chain of notes does not make every page quadratic."""
    from collections import deque
    near, queue = [], deque(graph.get(root, []))
    seen = {root}
    while queue and len(near) < limit:
        n = queue.popleft()
        if n in seen:
            continue
        seen.add(n)
        near.append(n)
        queue.extend(graph.get(n, []))
    keep = set(near)
    sub = {n: [p for p in graph.get(n, []) if p in keep] for n in near}
    return topological_order({**sub, root: [n for n in graph.get(root, []) if n in keep]}, [root])


def topological_order(graph: dict[str, list[str]], roots: list[str]) -> list[str]:
    """Prerequisites of `roots` (transitively), dependencies first; the roots themselves excluded."""
    seen: set[str] = set()
    out: list[str] = []

    def visit(n: str, depth: int = 0) -> None:
        stack = [(n, iter(graph.get(n, [])))]
        seen.add(n)
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                out.append(node)
            elif nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(graph.get(nxt, []))))

    for r in roots:
        if r not in seen:
            visit(r)
    return [n for n in out if n not in roots]


def _check_references(site: Site, report: Report) -> None:
    targets: dict[str, set[str]] = {}  # target id -> anchor_ids of its body, computed once per resolve
    for doc_id, p in site.parsed.items():
        doc = site.docs.get(doc_id)
        intro = site.intros.get(doc_id)
        if doc is None and intro is None:
            continue
        path = doc.source.path if doc is not None else intro.source.path
        for target, anchor, line, col in p.links:
            if target == "#":  # an anchor of this body
                ids = anchor_ids(p) | {"references", "further-reading"} | {f"ref-{k}" for k, _ in p.citations}
                if anchor not in ids:
                    report.error(path, line, col=col, message=f"link to '#{anchor}' but this page has no heading or label with "
                                 f"that id{_hint(anchor, ids, 0.4)}", rule="broken-anchor")
                continue
            shown = target
            if target.startswith("file:"):
                shown = target[5:]
                target = site.doc_at(path.parent / shown) or ""
                if not target and site.place_at(path.parent / shown) is not None:
                    continue  # a module's, part's or series' own file: its page
                if not target:
                    report.error(path, line, col=col, message=f"link to '{shown}' but no note, article or page is that file "
                                 f"(looked for {report.relative((path.parent / shown).resolve())})",
                                 rule="broken-link")
                    continue
            other = site.docs.get(target)
            if other is None and target in site.content.unreadable:
                continue  # the file with that id failed to load, and that error is what to fix
            if other is None and target in site.content.drafts_left_out:
                report.error(path, line, col=col, message=f"link to '{target}', which is a draft (status: draft) and is not built: "
                             "build with --drafts to see it, or publish it before linking", rule="draft-link")
                continue
            if other is None and site.place(target) is not None:
                continue  # a module, part or series page
            if other is None:
                report.error(path, line, col=col, message=f"link to '{target}' but no note, article, page, module, "
                             "part or series has that id"
                             f"{_hint(target, site.docs)}", rule="broken-link")
                continue
            if target != doc_id and doc is not None:
                backs = site.backlinks.setdefault(target, [])
                if doc_id not in backs:
                    backs.append(doc_id)
            if anchor and other.has_page and target in site.parsed:
                ids = targets.get(target)
                if ids is None:
                    ids = targets[target] = anchor_ids(site.parsed[target])
                if anchor not in ids:
                    report.error(path, line, col=col, message=f"link to '{shown}#{anchor}' but '{target}' has no heading or label "
                                 f"with id '{anchor}'{_hint(anchor, ids, 0.4)}", rule="broken-anchor")
        for label, line in p.eqrefs:
            target = label.partition(":")[0]
            if target in site.docs and target != doc_id and label not in p.labels and doc is not None:
                backs = site.backlinks.setdefault(target, [])
                if doc_id not in backs:
                    backs.append(doc_id)
            if site.resolve_label(doc_id, label) is None:
                owners = site._label_owners().get(label, ())
                if len(owners) > 1:
                    report.error(path, line, f"label '{label}' is defined in several notes ("
                                 + ", ".join(owners[:4]) + f"): name the one you mean, e.g. '{owners[0]}:{label}'",
                                 rule="broken-ref")
                    continue
                report.error(path, line, f"unknown label '{label}': no equation, theorem-like block or figure has "
                             f"it{_nearest_labels(site, doc_id, label)}", rule="broken-ref")
