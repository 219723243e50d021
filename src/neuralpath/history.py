"""When each source file last changed: the date of the last commit that touched it where the site is a
git repository and the file is committed unchanged, else the file's modification date (uncommitted edits,
untracked files, sites outside git). One `git log` and one `git status` per build, whatever the size."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode("utf-8", "surrogateescape") if out.returncode == 0 else None


def repo_state(root: Path) -> str | None:
    """The commit checked out in the repository holding `root` (None outside git): part of what a
    build reads, since committing changes the dates shown."""
    head = _git(root, "rev-parse", "HEAD")
    return head.strip() if head else None


def _resolver():
    """Path.resolve with each folder resolved once (a thousand notes sit in a few dozen folders, and
    resolving walks every component of a path)."""
    folders: dict[Path, Path] = {}

    def resolve(p: Path) -> Path:
        parent = folders.get(p.parent)
        if parent is None:
            parent = folders[p.parent] = p.parent.resolve()
        return parent / p.name
    return resolve


def last_changed(root: Path, paths: dict[str, Path]) -> dict[str, dt.date]:
    """Date each file of `paths` (key -> absolute path under `root`) last changed, by the same keys."""
    committed: dict[Path, dt.date] = {}
    resolve = _resolver()
    top = _git(root, "rev-parse", "--show-toplevel")
    if top and paths:
        top_path = Path(top.strip()).resolve()
        log = _git(root, "log", "--format=%x00%cs", "--name-only", "--no-renames", "--", str(root))
        dirty = _git(root, "status", "--porcelain", "-z", "--untracked-files=all", "--", str(root))
        if log is not None and dirty is not None:
            stale = {resolve(top_path / e[3:]) for e in dirty.split("\0") if len(e) > 3}
            day = None
            for line in log.splitlines():
                if line.startswith("\0"):
                    day = dt.date.fromisoformat(line[1:].strip())
                elif line and day is not None:
                    p = resolve(top_path / line)
                    if p not in committed and p not in stale:
                        committed[p] = day
    dates = {}
    for key, p in paths.items():
        if not committed:  # outside git (or nothing committed): the file's own date, by its path as given
            try:
                dates[key] = dt.date.fromtimestamp(os.stat(p).st_mtime)
            except OSError:
                pass
            continue
        p = resolve(p)
        if p in committed:
            dates[key] = committed[p]
        else:
            try:
                dates[key] = dt.date.fromtimestamp(os.stat(p).st_mtime)
            except OSError:
                continue
    return dates
