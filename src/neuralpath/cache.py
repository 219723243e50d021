"""Build caches keyed by content hashes, kept in memory by the dev server and on disk between builds.

- parsed: source path -> (hash of the text, Parsed)           skip parsing unchanged files
- bodies: doc id -> (render key, html, findings)              skip rendering unchanged bodies
- math:   KaTeX results by hash of (TeX, mode, macros, version) skip KaTeX
- pages:  output path -> hash of the bytes written last time  hard-link unchanged files
A render key covers everything a body depends on: its text, the titles/URLs of what it links to,
equation numbers it cites, its code output, macros and engine version. Nothing is invalidated by time.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from neuralpath import __version__

FILE = "build-cache.pickle"


def _engine_fingerprint() -> str:
    """Version plus the size and mtime of the engine's own files: a changed engine never reuses a cache."""
    pkg = Path(__file__).parent
    parts = [__version__]
    for f in sorted(pkg.rglob("*")):
        if f.suffix in (".py", ".html", ".css", ".js") and "__pycache__" not in f.parts:
            st = f.stat()
            parts.append(f"{f.relative_to(pkg)}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()


ENGINE = _engine_fingerprint()


def digest(*parts) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p if isinstance(p, bytes) else repr(p).encode())
        h.update(b"\0")
    return h.hexdigest()


@dataclass
class BuildCache:
    version: str = ENGINE
    parsed: dict = field(default_factory=dict)
    bodies: dict = field(default_factory=dict)
    math: dict = field(default_factory=dict)
    pages: dict = field(default_factory=dict)
    output: str = ""

    @classmethod
    def load(cls, folder: Path) -> "BuildCache":
        try:
            with open(folder / FILE, "rb") as f:
                obj = pickle.load(f)
            if isinstance(obj, cls) and obj.version == ENGINE:
                return obj
        except Exception:  # noqa: BLE001 - a missing, old or damaged cache is simply rebuilt
            pass
        return cls()

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{FILE}.tmp"
        with open(tmp, "wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(folder / FILE)
