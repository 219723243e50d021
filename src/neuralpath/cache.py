"""Build caches keyed by content hashes, in one SQLite file (`.neuralpath/build-cache.sqlite`).

Tables, each read row by row when a build needs it (nothing is loaded wholesale, so memory stays
bounded by what one build touches, not by the size of the site):

- sources: source path -> (size, mtime, front matter, body hash)  skip reading unchanged files
- yaml:    hash of a front-matter block -> (mapping, key lines)   skip YAML parsing of unchanged files
- parsed:  source path -> (hash of the text, Parsed)              skip parsing unchanged files
- bodies:  doc id -> (render key, html, search text, findings)     skip rendering unchanged bodies
- math:    hash of (TeX, mode, macros, version) -> KaTeX result    skip KaTeX
- code:    hash of (code, language, Pygments version) -> HTML       skip highlighting
- pages:   (output folder, path) -> (page key, size, mtime)       skip templating and writing unchanged pages
- meta:    engine fingerprint, the last build's input manifest and findings

HTML (bodies, search text, KaTeX output, highlighted code) is stored Zstandard-compressed (`pack`,
level 1): a body shrinks about eight times, which keeps the file and the writes of a cold build small;
packing happens in the render workers. Zstandard rather than zlib: at 1,000 notes a cold build packs
about 15,000 KaTeX results and 2,000 bodies, and zlib took 3-4 times as long for each (about 0.5 ms a
body to pack, 0.2 ms to unpack), with a worse ratio.

A render key covers everything a body depends on (its text, the titles/URLs of what it links to,
equation numbers it cites, its code output, macros and engine version); a page key covers everything
its template reads. Nothing is invalidated by time. The dev server uses the same tables in memory.
"""

from __future__ import annotations

import hashlib
import marshal
import pickle
import sqlite3
import threading
from pathlib import Path

import zstandard

from neuralpath import __version__
from neuralpath.markdown.katex import MathResult

FILE = "build-cache.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB);
CREATE TABLE IF NOT EXISTS yaml (k TEXT PRIMARY KEY, v BLOB);
CREATE TABLE IF NOT EXISTS sources (path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER, data BLOB);
CREATE TABLE IF NOT EXISTS parsed (path TEXT PRIMARY KEY, key TEXT, data BLOB);
CREATE TABLE IF NOT EXISTS bodies (id TEXT PRIMARY KEY, key TEXT, html BLOB, search BLOB, findings BLOB,
                                   nfindings INTEGER);
CREATE TABLE IF NOT EXISTS math (k TEXT PRIMARY KEY, html BLOB, error TEXT, position INTEGER);
CREATE TABLE IF NOT EXISTS code (k TEXT PRIMARY KEY, html BLOB);
CREATE TABLE IF NOT EXISTS pages (out TEXT, path TEXT, key TEXT, size INTEGER, mtime INTEGER,
                                  PRIMARY KEY (out, path));
"""


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


def _dumps(obj) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


_CODECS = threading.local()  # a (compressor, decompressor) per thread: reusing them halves the cost of small items


def _codecs() -> tuple:
    codecs = getattr(_CODECS, "pair", None)
    if codecs is None:
        codecs = _CODECS.pair = (zstandard.ZstdCompressor(level=1), zstandard.ZstdDecompressor())
    return codecs


def pack(text: str) -> bytes:
    return pack_bytes(text.encode("utf-8", "surrogatepass"))


def unpack(data: bytes | None) -> str:
    return unpack_bytes(data).decode("utf-8", "surrogatepass") if data else ""


def pack_bytes(data: bytes) -> bytes:
    return _codecs()[0].compress(data)


def unpack_bytes(data: bytes) -> bytes:
    return _codecs()[1].decompress(data)


def pack_math(res: MathResult) -> tuple:
    """A KaTeX result as the row the math table stores (made in the worker that rendered it)."""
    return (pack(res.html) if res.html is not None else None, res.error, res.position)


class RowTable:
    """A table of rows by key whose writes (`put`) are buffered and flushed in batches; `get` returns the
    row as stored, or what `load` makes of it."""

    FLUSH = 2000

    def __init__(self, cache: "BuildCache", table: str, columns: tuple[str, ...]):
        self.cache, self.table, self.columns = cache, table, columns
        self.pending: dict[str, tuple] = {}
        self._select = f"SELECT {', '.join(columns)} FROM {table} WHERE k=?"
        self._insert = (f"INSERT OR REPLACE INTO {table} (k, {', '.join(columns)}) "
                        f"VALUES (?{', ?' * len(columns)})")

    def load(self, row: tuple):
        return row

    def get(self, k: str, default=None):
        row = self.pending.get(k) or self.cache.db.execute(self._select, (k,)).fetchone()
        return default if row is None else self.load(row)

    def __contains__(self, k: str) -> bool:
        return k in self.pending or self.cache.db.execute(
            f"SELECT 1 FROM {self.table} WHERE k=?", (k,)).fetchone() is not None

    def put(self, k: str, row: tuple) -> None:
        self.pending[k] = row
        if len(self.pending) >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.cache.db.executemany(self._insert, [(k, *row) for k, row in self.pending.items()])
            self.pending.clear()


class PickledTable(RowTable):
    """Values of any kind by key, pickled (front matter: `memo[k] = v`, `memo.get(k)`)."""

    def __init__(self, cache: "BuildCache", table: str):
        super().__init__(cache, table, ("v",))

    def load(self, row: tuple):
        return pickle.loads(row[0])

    def __setitem__(self, k: str, v) -> None:
        self.put(k, (_dumps(v),))


class MathTable(RowTable):
    """KaTeX results by key, read as `MathResult`s; rows come from `pack_math`."""

    def __init__(self, cache: "BuildCache"):
        super().__init__(cache, "math", ("html", "error", "position"))

    def get_many(self, keys: list[str]) -> dict[str, MathResult]:
        """The results stored for any of `keys`, in a few queries."""
        found = {k: self.load(self.pending[k]) for k in keys if k in self.pending}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            rows = self.cache.db.execute(f"SELECT k, {', '.join(self.columns)} FROM {self.table} WHERE k IN "
                                         f"({','.join('?' * len(part))})", part)
            found.update((k, self.load(row)) for k, *row in rows)
        return found

    def load(self, row: tuple) -> MathResult:
        return MathResult(unpack(row[0]) if row[0] is not None else None, row[1], row[2])


class CodeTable(RowTable):
    """Highlighted code by `highlight.code_key`, read as HTML; rows are `(pack(html),)`."""

    def __init__(self, cache: "BuildCache"):
        super().__init__(cache, "code", ("html",))

    def load(self, row: tuple) -> str:
        return unpack(row[0])


class BuildCache:
    """Open with `BuildCache.load(folder)` (on disk) or `BuildCache()` (in memory, for tests and
    the dev server). Changes become durable on `save()`; a build that fails saves nothing new
    except what is safe to keep (results keyed by content hashes)."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.db = self._open(path)
        self.math = MathTable(self)
        self.code = CodeTable(self)
        self.yaml = PickledTable(self, "yaml")

    @staticmethod
    def _connect(path: Path | None) -> sqlite3.Connection:
        db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False, timeout=60)
        if path is not None:  # readers (render workers) and the build's one writer do not block each other
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        return db

    def _open(self, path: Path | None) -> sqlite3.Connection:
        try:
            db = self._connect(path)
            row = db.execute("SELECT v FROM meta WHERE k='engine'").fetchone()
        except sqlite3.DatabaseError:  # a damaged or foreign file: start again
            if path is None:
                raise
            BuildCache._unlink(path)
            db = self._connect(path)
            row = None
        if row is not None and row[0] != ENGINE and path is not None:
            db.close()  # another engine's cache: a new file is much faster than dropping big tables
            self._unlink(path)
            db = self._connect(path)
            row = None
        if row is None or row[0] != ENGINE:
            self._reset(db)
        return db

    @staticmethod
    def _unlink(path: Path) -> None:
        for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            f.unlink(missing_ok=True)

    @staticmethod
    def _reset(db: sqlite3.Connection) -> None:
        for table in ("meta", "sources", "yaml", "parsed", "bodies", "math", "code", "pages"):
            db.execute(f"DROP TABLE IF EXISTS {table}")  # the schema may differ between engine versions
        db.executescript(SCHEMA)
        db.execute("INSERT INTO meta (k, v) VALUES ('engine', ?)", (ENGINE,))
        db.commit()

    @classmethod
    def load(cls, folder: Path) -> "BuildCache":
        try:
            folder.mkdir(parents=True, exist_ok=True)
            old = folder / "build-cache.pickle"  # the format of engine 0.1.0 before this one
            if old.exists():
                old.unlink()
            return cls(folder / FILE)
        except (OSError, sqlite3.Error):  # read-only or full disk: build without a persistent cache
            return cls()

    def clear(self) -> None:
        for table in (self.math, self.code, self.yaml):
            table.pending.clear()
        if self.path is None:
            self._reset(self.db)
            return
        self.db.close()
        self._unlink(self.path)
        self.db = self._connect(self.path)
        self._reset(self.db)

    # -- meta ----------------------------------------------------------------------------------
    def get_meta(self, k: str, default=None):
        row = self.db.execute("SELECT v FROM meta WHERE k=?", (k,)).fetchone()
        return pickle.loads(row[0]) if row else default

    def set_meta(self, k: str, v) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (k, _dumps(v)))

    # -- sources -------------------------------------------------------------------------------
    def source_entries(self) -> dict[str, tuple[int, int, bytes]]:
        return {p: (s, m, d) for p, s, m, d in self.db.execute("SELECT path, size, mtime, data FROM sources")}

    def put_sources(self, rows: list[tuple[str, int, int, bytes]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO sources (path, size, mtime, data) VALUES (?, ?, ?, ?)", rows)

    def drop_sources(self, paths) -> None:
        self.db.executemany("DELETE FROM sources WHERE path=?", [(p,) for p in paths])

    # -- parsed documents ------------------------------------------------------------------------
    def parsed_entries(self) -> dict[str, tuple[str, bytes]]:
        """source path -> (key, stored data) of every parsed document, in one query (`load_parsed`)."""
        return {p: (k, d) for p, k, d in self.db.execute("SELECT path, key, data FROM parsed")}

    def parsed_keys(self) -> dict[str, str]:
        """source path -> key of every parsed document, in one query (the data: `parsed_data`)."""
        return dict(self.db.execute("SELECT path, key FROM parsed"))

    def parsed_data(self, path: str, key: str) -> bytes | None:
        """The stored parse of `path` if it is still the one under `key`, else None."""
        row = self.db.execute("SELECT data FROM parsed WHERE path=? AND key=?", (path, key)).fetchone()
        return row[0] if row else None

    def parsed_entry(self, path: str) -> tuple[str, bytes] | None:
        """(key, stored data) of one parsed body, or None."""
        return self.db.execute("SELECT key, data FROM parsed WHERE path=?", (path,)).fetchone()

    @staticmethod
    def load_parsed(data: bytes):
        from neuralpath.markdown.parser import Parsed

        if data is None:
            return None
        try:
            return Parsed.from_row(marshal.loads(data))
        except (ValueError, TypeError, EOFError):  # written by another engine: parse again
            return None

    def put_parsed(self, path: str, key: str, parsed) -> None:
        self.db.execute("INSERT OR REPLACE INTO parsed (path, key, data) VALUES (?, ?, ?)",
                        (path, key, marshal.dumps(parsed.to_row())))

    # -- rendered bodies ---------------------------------------------------------------------------
    def body_entries(self) -> dict[str, tuple[str, bool]]:
        """doc id -> (render key, whether rendering it reported findings) of every cached body."""
        return {i: (k, n) for i, k, n in self.db.execute("SELECT id, key, nfindings FROM bodies")}

    def body_entry(self, body_id: str) -> tuple[str, bool] | None:
        row = self.db.execute("SELECT key, nfindings FROM bodies WHERE id=?", (body_id,)).fetchone()
        return (row[0], bool(row[1])) if row else None

    def body_findings(self, doc_id: str) -> list:
        row = self.db.execute("SELECT findings FROM bodies WHERE id=?", (doc_id,)).fetchone()
        return pickle.loads(row[0]) if row else []

    def body_html(self, body_id: str) -> str:
        row = self.db.execute("SELECT html FROM bodies WHERE id=?", (body_id,)).fetchone()
        return unpack(row[0]) if row else ""

    def body_search(self, body_id: str) -> str:
        row = self.db.execute("SELECT search FROM bodies WHERE id=?", (body_id,)).fetchone()
        return unpack(row[0]) if row else ""

    def put_body(self, doc_id: str, key: str, html: str | bytes, search: str | bytes, findings: list) -> None:
        """Store a rendered body; html and search text as text, or already `pack`ed (by a worker)."""
        html, search = (v if isinstance(v, bytes) else pack(v) for v in (html, search))
        self.db.execute("INSERT OR REPLACE INTO bodies (id, key, html, search, findings, nfindings) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (doc_id, key, html, search, _dumps(findings), len(findings)))

    # -- pages of an output folder ---------------------------------------------------------------
    def pages(self, out: str) -> dict[str, tuple[str, int, int]]:
        return {p: (k, s, m) for p, k, s, m in
                self.db.execute("SELECT path, key, size, mtime FROM pages WHERE out=?", (out,))}

    def set_pages(self, out: str, rows: dict[str, tuple[str, int, int]]) -> None:
        self.db.execute("DELETE FROM pages WHERE out=?", (out,))
        self.db.executemany("INSERT INTO pages (out, path, key, size, mtime) VALUES (?, ?, ?, ?, ?)",
                            [(out, p, k, s, m) for p, (k, s, m) in rows.items()])

    def save(self) -> None:
        for table in (self.math, self.code, self.yaml):
            table.flush()
        self.db.commit()
