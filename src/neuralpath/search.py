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
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from neuralpath.errors import Report
from neuralpath.incremental import search_shard_key
from neuralpath.markdown.search_text import record_html  # noqa: F401 - part of this module's interface


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


# Pagefind writes several front ends into every bundle. The site loads Pagefind's default UI, its
# pagefind.js, worker and wasm from the first non-empty shard only (the pages' data-search); the other
# shards are merged into that instance (`mergeIndex`), which reads their entry, metadata, filters, index
# chunks and fragments and searches them with the first shard's wasm (Pagefind merges with
# `load_wasm: false`; checked in Chromium: no other shard's script or wasm is requested).
OTHER_UIS = {"pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-modular-ui.js",
             "pagefind-modular-ui.css", "pagefind-highlight.js"}
FIRST_ONLY = {"pagefind-ui.js", "pagefind-ui.css", "pagefind.js", "pagefind-worker.js"}


def prune_bundle(dest: Path, first: bool) -> None:
    """Delete the files of a Pagefind bundle that the site never loads (about 0.45 MB a shard, 0.6 MB
    for a merged one); `first`: the bundle of the first non-empty shard, which the pages load."""
    entry = json.loads((dest / "pagefind-entry.json").read_text(encoding="utf-8"))
    wasm = {f"wasm.{lang.get('wasm') or 'unknown'}.pagefind" for lang in entry.get("languages", {}).values()}
    unused = OTHER_UIS | (set() if first else FIRST_ONLY)
    for f in dest.iterdir():
        if f.name in unused or (f.name.startswith("wasm.") and (not first or f.name not in wasm)):
            f.unlink()


@lru_cache(maxsize=1)
def pagefind_command() -> tuple[str, ...]:
    """Pagefind's binary (from the pagefind_bin package), run directly rather than through
    `python -m pagefind`, which starts an interpreter per shard only to exec it."""
    try:
        from pagefind.service import get_executable

        exe = get_executable()
        if exe is not None:
            return (str(exe),)
    except Exception:  # noqa: BLE001 - another packaging of pagefind: its module knows the way
        pass
    return (sys.executable, "-m", "pagefind")


class IndexJob:
    """Pagefind's CLI over records written to temporary folders beside the output, one run per shard
    (its Python API sends every file through a JSON pipe, which measured 40x slower). Each shard is
    indexed as soon as its records are written (`add_shard`), by up to `RUNNERS` Pagefind processes at
    once, while the build goes on writing its pages; `finish` waits and reports."""

    TIMEOUT = 1800
    RUNNERS = min(2, os.cpu_count() or 1)  # Pagefind itself keeps about 1.5 cores busy

    def __init__(self, report: Report, out: Path, progress=None):
        self.report, self.out, self.progress = report, out, progress
        self.shards: list[tuple[Path, Path, bool, object]] = []  # (records, destination, first?, on success)
        self.count = 0
        self.failures: list[str] = []
        self.succeeded: list = []  # on_success callbacks of shards indexed, run by finish()
        self.queue: queue.Queue = queue.Queue()
        self.threads: list[threading.Thread] = []
        self.procs: list[subprocess.Popen] = []
        self.cancelled = self.closed = False

    def add_shard(self, records, dest: Path, first: bool, on_success=None) -> None:
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.search-", dir=self.out.parent))
        shard = (tmp, dest, first, on_success)
        self.shards.append(shard)
        for url, html in records:
            page = tmp / url.lstrip("/") / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(html, encoding="utf-8")
            self.count += 1
        if not self.threads:
            self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(self.RUNNERS)]
            for t in self.threads:
                t.start()
        self.queue.put(shard)

    def close(self) -> None:
        """No more shards: the runners stop once the queue is empty."""
        if not self.closed:
            self.closed = True
            for _ in self.threads:
                self.queue.put(None)

    def _work(self) -> None:
        while (shard := self.queue.get()) is not None:
            if not self.cancelled:
                self._index(*shard)

    def _index(self, tmp: Path, dest: Path, first: bool, on_success) -> None:
        proc = subprocess.Popen([*pagefind_command(), "--site", str(tmp), "--output-path", str(dest), "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        try:
            out, err = proc.communicate(timeout=self.TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            self.failures.append(f"pagefind ran longer than {self.TIMEOUT} s")
            return
        if proc.returncode != 0 or not (dest / "pagefind-entry.json").is_file():
            if not self.cancelled:
                self.failures.append(((err or out).strip().splitlines()[-1:] or ["pagefind wrote no index"])[0])
        else:
            prune_bundle(dest, first)
            if on_success:
                self.succeeded.append(on_success)

    def _cleanup(self) -> None:
        for tmp, *_ in self.shards:
            shutil.rmtree(tmp, ignore_errors=True)

    def _join(self) -> None:
        self.close()
        for t in self.threads:
            t.join()

    def finish(self) -> bool:
        self._join()
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
        for proc in list(self.procs):
            if proc.poll() is None:
                proc.kill()
        self._join()
        for proc in list(self.procs):  # one started between the kill above and the runners' stop
            if proc.poll() is None:
                proc.kill()
        self._cleanup()


def start_index(site, layout, bodies, output, previous: dict[int, str], indexed: dict[int, str], plan,
                report: Report, *, search: bool, reuse: bool, progress=None) -> IndexJob | None:
    """The index stage: start indexing the shards whose records changed (or whose index is missing) and
    return the running job, or None when every shard is kept or search is off.

    `plan` is `plan_shards(...)`; `previous` holds the key of each shard's index now in the output
    folder; `indexed` receives the key of each shard that the output will hold once the job
    finishes (a shard whose indexing fails gets none, so the next build indexes it again)."""
    shards, groups = plan
    if not search:
        for i in range(shards):
            if reuse and output.keep_dir(shard_dir(i)):  # the dev server: the last full build's index
                if i in previous:
                    indexed[i] = previous[i]
            else:
                output.drop_dir(shard_dir(i))
        return None
    if not pagefind_available():
        report.info(output.out, 1, "search index not built: install the 'search' extra (pagefind)", rule="search")
        return None
    job = IndexJob(report, output.out, progress)
    first = min(groups, default=0)  # the shard that carries Pagefind's UI (see prune_bundle)
    env = layout.env
    try:
        for i in range(shards):
            group = groups.get(i)
            if not group:  # an empty shard (the hash left it empty) has no index
                output.drop_dir(shard_dir(i))
                continue
            key = search_shard_key(shards, i == first, [(layout.fingerprint(d), bodies.key(d.id)) for d in group])
            if previous.get(i) == key and (output.out / shard_dir(i) / "pagefind-entry.json").is_file():
                output.keep_dir(shard_dir(i))
                indexed[i] = key
                continue
            job.add_shard(search_records(site, group, bodies, env), output.replace_dir(shard_dir(i)),
                          first=(i == first), on_success=lambda i=i, key=key: indexed.__setitem__(i, key))
        i = shards
        while (output.out / shard_dir(i)).is_dir():  # shards of a bigger site before
            output.drop_dir(shard_dir(i))
            i += 1
    except BaseException:
        job.cancel()
        raise
    if not job.shards:
        return None
    job.close()
    return job
