"""Plain records for the content model: parts -> modules -> notes, articles, series and pages.

Records are created by the loader and not mutated by later stages, except for the derived fields the
resolve stage fills (backlinks, prev/next, series positions), which are kept in `graph.Site`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

STATUSES = ("published", "draft", "planned")


class Source:
    """A text file as read from disk: its front matter (`meta`, and the line of each key), and its body,
    normalised, from line `body_line`. A source restored from the build cache (the file's size and
    mtime unchanged) reads its body only when something asks for it, through `reader`; `key` is a
    hash of the body and its first line, given by the cache or computed once."""

    __slots__ = ("path", "meta", "body_line", "meta_lines", "_body", "_key", "_reader")

    def __init__(self, path: Path, meta: dict, body: str | None, body_line: int,
                 meta_lines: dict[str, int] | None = None, key: str | None = None, reader=None):
        self.path, self.meta, self.body_line = path, meta, body_line
        self.meta_lines = meta_lines if meta_lines is not None else {}
        self._body, self._key, self._reader = body, key, reader

    @property
    def body(self) -> str:
        if self._body is None:
            self._body = self._reader() if self._reader is not None else ""
        return self._body

    @property
    def key(self) -> str:
        if self._key is None:
            import hashlib

            h = hashlib.blake2b(self.body.encode("utf-8", "surrogatepass"), digest_size=16)
            h.update(f"\0{self.body_line}".encode())
            self._key = h.hexdigest()
        return self._key

    def line_of(self, key: str) -> int:
        return self.meta_lines.get(key, 1)

    def __repr__(self) -> str:
        return f"Source({str(self.path)!r}, body_line={self.body_line})"


@dataclass
class Part:
    id: str
    slug: str
    title: str
    summary: str
    order: tuple
    source: Source
    modules: list["Module"] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"parts/{self.slug}/"


@dataclass
class Module:
    id: str
    slug: str
    number: int
    title: str
    summary: str
    order: tuple
    requires: list[str]
    source: Source
    part: Part | None = None
    notes: list["Doc"] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"modules/{self.slug}/"

    @property
    def label(self) -> str:
        return f"Module {self.number:02d}"


@dataclass
class Doc:
    """A note, an article or a free page: anything with a body and an id in the global namespace."""

    kind: str  # "note" | "article" | "page"
    id: str
    title: str
    summary: str
    status: str
    source: Source
    order: tuple = (0, "")
    prerequisites: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    date: dt.date | None = None
    module: Module | None = None
    further_reading: list[str] = field(default_factory=list)  # BibTeX keys listed after the References

    @property
    def url(self) -> str:
        if self.kind == "note":
            return f"notes/{self.id}/"
        if self.kind == "article":
            return f"journal/{self.id}/"
        return f"{self.id}/"

    @property
    def has_page(self) -> bool:
        return self.status != "planned"

    @property
    def all_requires(self) -> list[str]:
        seen = list(self.requires)
        if self.module:
            seen += [r for r in self.module.requires if r not in seen]
        return seen


@dataclass
class Series:
    id: str
    title: str
    summary: str
    members: list[str]
    source: Source

    @property
    def url(self) -> str:
        return f"series/{self.id}/"


@dataclass(frozen=True)
class Intro:
    """The introduction of a part, module or series: the body of its `_index.md` or series file."""

    id: str  # "part:<slug>", "module:<slug>" or "series:<id>": the body id its HTML is kept under
    source: Source


def intros_of(content) -> list[Intro]:
    """Every non-empty introduction, in a fixed order."""
    items = ([(f"part:{p.slug}", p.source) for p in content.parts] +
             [(f"module:{m.slug}", m.source) for m in content.modules] +
             [(f"series:{s.id}", s.source) for s in content.series])
    return [Intro(i, src) for i, src in items if src is not None and src.body.strip()]
