"""Plain records for the content model: parts -> modules -> notes, articles, series and pages.

Records are created by the loader and not mutated by later stages, except for the derived fields the
resolve stage fills (backlinks, prev/next, series positions), which are kept in `graph.Site`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

STATUSES = ("published", "draft", "planned")


@dataclass
class Source:
    """A text file as read from disk: normalised text plus where the body starts."""

    path: Path
    meta: dict
    body: str
    body_line: int  # 1-based line in the file where `body` starts
    meta_lines: dict[str, int] = field(default_factory=dict)  # front matter key -> line in the file

    def line_of(self, key: str) -> int:
        return self.meta_lines.get(key, 1)


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
