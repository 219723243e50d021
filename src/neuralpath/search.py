"""Full-text search with Pagefind, indexed from the build's own data rather than from the written pages.

Each document with a page becomes one small HTML record (`templates/search_record.html`): its title,
part and module as metadata, its type and part as filters, and its body with every KaTeX result
removed, so math markup never reaches the index and Pagefind reads a few kilobytes per page instead
of the page's full HTML. Pagefind comes from PyPI (`pagefind[extended]`, which ships the binary);
without pagefind installed the site still builds and the search page says that search is unavailable.

Pagefind cannot update an index, and it holds a whole index in memory (about 0.5 MB a record). So the
records are split into shards of at most `[build] search_shard_size` (250) by a stable hash of the
document id: shard 0 is `pagefind/`, shard i is `pagefind-i/`; the browser merges them (Pagefind's
`mergeIndex`). A build re-indexes only the shards whose records changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from neuralpath.errors import Report


def pagefind_available() -> bool:
    try:
        import pagefind  # noqa: F401
        return True
    except ImportError:
        return False


def shard_count(records: int, shard_size: int) -> int:
    return max(1, math.ceil(records / max(1, shard_size)))


def shard_of(doc_id: str, shards: int) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big") % shards


def plan_shards(docs, shard_size: int) -> tuple[int, dict[int, list]]:
    """(number of shards, shard -> its documents); a shard the hash leaves empty has no entry."""
    shards = shard_count(len(docs), shard_size)
    groups: dict[int, list] = {}
    for d in docs:
        groups.setdefault(shard_of(d.id, shards), []).append(d)
    return shards, groups


def shard_dir(i: int) -> str:
    return "pagefind" if i == 0 else f"pagefind-{i}"


def search_records(site, docs, bodies, env):
    """Yields (url, html) for each searchable document; bodies are read one at a time."""
    template = env.get_template("search_record.html")
    base = site.config.base_path
    for d in docs:
        yield base + d.url, template.render(doc=d, body=bodies.search(d.id), site=site.config.site)


# Pagefind writes several front ends into every bundle; the site loads pagefind-ui.js/.css from the first
# non-empty shard only (the pages' data-search), and every shard's pagefind.js, worker, wasm for its languages, metadata, index and fragments.
OTHER_UIS = {"pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-modular-ui.js",
             "pagefind-modular-ui.css", "pagefind-highlight.js"}
DEFAULT_UI = {"pagefind-ui.js", "pagefind-ui.css"}


def prune_bundle(dest: Path, first: bool) -> None:
    """Delete the files of a Pagefind bundle that the site never loads (about 0.45 MB a shard);
    `first`: the bundle of the first non-empty shard, whose pagefind-ui.js the pages load."""
    entry = json.loads((dest / "pagefind-entry.json").read_text(encoding="utf-8"))
    wasm = {f"wasm.{lang.get('wasm') or 'unknown'}.pagefind" for lang in entry.get("languages", {}).values()}
    unused = OTHER_UIS | (set() if first else DEFAULT_UI)
    for f in dest.iterdir():
        if f.name in unused or (f.name.startswith("wasm.") and f.name not in wasm):
            f.unlink()


class IndexJob:
    """Pagefind's CLI over records written to temporary folders beside the output, one run per shard
    (its Python API sends every file through a JSON pipe, which measured 40x slower). `start` writes
    the records and returns while Pagefind runs in a thread, so the build writes its pages meanwhile;
    `finish` waits and reports."""

    TIMEOUT = 1800

    def __init__(self, report: Report, out: Path, progress=None):
        self.report, self.out, self.progress = report, out, progress
        self.shards: list[tuple[Path, Path, bool, object]] = []  # (records, destination, first?, on success)
        self.count = 0
        self.failures: list[str] = []
        self.succeeded: list = []  # on_success callbacks of shards indexed, run by finish()
        self.thread = None
        self.procs: list[subprocess.Popen] = []
        self.cancelled = False

    def add_shard(self, records, dest: Path, first: bool, on_success=None) -> None:
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.search-", dir=self.out.parent))
        self.shards.append((tmp, dest, first, on_success))
        for url, html in records:
            page = tmp / url.lstrip("/") / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(html, encoding="utf-8")
            self.count += 1

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for tmp, dest, first, on_success in self.shards:
            if self.cancelled:
                return
            proc = subprocess.Popen([sys.executable, "-m", "pagefind", "--site", str(tmp), "--output-path",
                                     str(dest), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.procs.append(proc)
            try:
                out, err = proc.communicate(timeout=self.TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                self.failures.append(f"pagefind ran longer than {self.TIMEOUT} s")
                continue
            if proc.returncode != 0 or not (dest / "pagefind-entry.json").is_file():
                self.failures.append(((err or out).strip().splitlines()[-1:] or ["pagefind wrote no index"])[0])
            else:
                prune_bundle(dest, first)
                if on_success:
                    self.succeeded.append(on_success)

    def _cleanup(self) -> None:
        for tmp, *_ in self.shards:
            shutil.rmtree(tmp, ignore_errors=True)

    def finish(self) -> bool:
        if self.thread is not None:
            self.thread.join()
        self._cleanup()
        for msg in self.failures:
            self.report.warning(self.out, 1, f"search index failed: {msg}", rule="search")
        for on_success in self.succeeded:  # in the caller's thread: they write to the build cache
            on_success()
        if self.failures:
            return False
        if self.progress:
            self.progress.line(f"search index built for {self.count} pages in {len(self.shards)} shard(s)")
        return True

    def cancel(self) -> None:
        self.cancelled = True
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        if self.thread is not None:
            self.thread.join()
        self._cleanup()
