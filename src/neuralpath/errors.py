"""The one located finding type, and how findings are collected and printed.

Every problem the engine reports about content is a `Finding` with a path, a line and a column, so an
author can jump straight to it. Stages append findings to a `Report`; a stage that cannot go on raises
`BuildFailed` carrying the report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    col: int
    severity: str
    message: str
    rule: str = "content"

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message} ({self.rule})"


@dataclass
class Report:
    """Findings collected across stages. `root` makes paths relative for printing."""

    root: Path | None = None
    findings: list[Finding] = field(default_factory=list)
    ignored_keys: dict = field(default_factory=dict)  # other tools' front-matter keys -> files (loader.py)

    def relative(self, path: Path | str) -> str:
        p = Path(path)
        if self.root is not None:
            try:
                return str(p.resolve().relative_to(self.root.resolve()))
            except ValueError:
                pass
        return str(p)

    def add(self, path, line: int, message: str, *, col: int = 1, severity: str = "error",
            rule: str = "content") -> None:
        self.findings.append(Finding(self.relative(path), max(1, int(line)), max(1, int(col)), severity,
                                     message, rule))

    def error(self, path, line: int, message: str, **kw) -> None:
        self.add(path, line, message, severity="error", **kw)

    def warning(self, path, line: int, message: str, **kw) -> None:
        self.add(path, line, message, severity="warning", **kw)

    def info(self, path, line: int, message: str, **kw) -> None:
        self.add(path, line, message, severity="info", **kw)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def sorted(self) -> list[Finding]:
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        return sorted(set(self.findings), key=lambda f: (rank[f.severity], f.path, f.line, f.col, f.message))

    def as_text(self) -> str:
        return "\n".join(f.format() for f in self.sorted())

    def as_json(self) -> str:
        return json.dumps({"findings": [asdict(f) for f in self.sorted()],
                           "errors": len(self.errors), "warnings": len(self.warnings)}, indent=2)


class BuildFailed(Exception):
    """Raised when content errors stop a build; the report holds the located findings."""

    def __init__(self, report: Report):
        super().__init__(f"{len(report.errors)} error(s)")
        self.written = None  # the output folder, when the site was written despite the errors (--keep-going)
        self.report = report


class UsageError(Exception):
    """A problem with how the command was called (bad path, bad option): exit code 2."""
