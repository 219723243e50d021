"""Execution results cached under `.neuralpath/exec/`, keyed by what can change them: the note's code
blocks and options, the engine version, the Python version and the versions of packages it imports."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from functools import lru_cache
from pathlib import Path

from neuralpath import __version__

IMPORT_RE = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)", re.M)
DIST_OF = {"sklearn": "scikit-learn", "yaml": "PyYAML", "PIL": "Pillow"}
ALWAYS = ("numpy", "matplotlib")  # imported by the runner itself


def package_versions(codes: list[str]) -> dict[str, str]:
    names = set(ALWAYS)
    for code in codes:
        names.update(IMPORT_RE.findall(code))
    return {name: _version(name) for name in sorted(names) if name not in sys.stdlib_module_names}


@lru_cache(maxsize=None)
def _version(name: str) -> str:
    from importlib import metadata  # ~9 ms: only when a note has code to run

    try:
        return metadata.version(DIST_OF.get(name, name))
    except metadata.PackageNotFoundError:
        return "?"


@lru_cache(maxsize=1)
def runner_fingerprint() -> str:
    """A hash of the code that runs notes' blocks (what a result means changes with it)."""
    here = Path(__file__).parent
    return hashlib.sha256(b"".join((here / f).read_bytes() for f in ("child.py", "zygote.py"))).hexdigest()[:16]


def cache_key(blocks: list[dict], settings: dict) -> str:
    h = hashlib.sha256()
    payload = {"engine": __version__, "runner": runner_fingerprint(), "python": sys.version.split()[0],
               "packages": package_versions([b["code"] for b in blocks]), "settings": settings,
               "blocks": [[b["code"], sorted(b["options"].items())] for b in blocks]}
    h.update(json.dumps(payload, sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


class ExecCache:
    def __init__(self, folder: Path):
        self.folder = folder / "exec"

    def get(self, key: str) -> dict | None:
        p = self.folder / f"{key}.json"
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def latest_for(self, note_id: str) -> dict | None:
        p = self.folder / f"latest-{note_id}.json"
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, note_id: str, result: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = json.dumps(result)
        for name in (f"{key}.json", f"latest-{note_id}.json"):
            tmp = self.folder / f".{name}.tmp"
            tmp.write_text(data, encoding="utf-8")
            tmp.replace(self.folder / name)
