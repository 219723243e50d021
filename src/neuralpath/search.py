"""Full-text search with Pagefind, indexed from the build's own data rather than from the written pages.

Each document with a page becomes one small HTML record (`templates/search_record.html`): its title,
part and module as metadata, its type, part and module as filters, and its body with each equation as
its TeX source (never KaTeX's markup), so Pagefind reads a few kilobytes per page instead of the page's
full HTML. Each definition and theorem-like result of a body is a record of its own too (type
"definition" or "theorem", linking to its anchor). Pagefind comes from PyPI (`pagefind[extended]`,
which ships the binary); should it fail to run, the site is still written and the build warns.

Pagefind cannot update an index, and it holds a whole index in memory (about 0.5 MB a record). So the
records are split into shards of at most `[build] search_shard_size` (250) by a stable hash of the
document id: shard 0 is `pagefind/`, shard i is `pagefind-i/`; the browser merges them (Pagefind's
`mergeIndex`). The shards are the *base* index. A build that changes at most `DELTA_MAX` documents
since the base was indexed leaves the base as it is and indexes just those documents into one small
extra bundle, `pagefind-delta/` (a one-note build indexes one record, about 10 ms of Pagefind);
`search/bundles.json` lists the bundles and the base URLs the delta supersedes, whose base results the
search UI drops. A build that changes more re-indexes the shards that changed and drops the delta
(the base is consolidated).

Each bundle also holds `np-words.json`: every word of its records with its Snowball stem (Pagefind
stems with the same algorithm). The search UI (`static/search.js`) keeps a result only when each query
word really occurs in it (see docs/search.md for the rule and the measurements behind it) and suggests
the nearest indexed words when nothing does.
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

from neuralpath.cache import digest
from neuralpath.errors import Report
from neuralpath.incremental import search_shard_key
from neuralpath.markdown.search_text import blocks, record_html, words  # noqa: F401 - record_html: interface

DELTA = "pagefind-delta"
DELTA_MAX = 32  # documents changed since the base index that a delta bundle takes; more: re-index shards
BUNDLES = "search/bundles.json"
WORDS = "np-words.json"


def pagefind_available() -> bool:
    from importlib.util import find_spec  # not an import of pagefind: its service module brings asyncio

    return find_spec("pagefind") is not None


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


def doc_records(base: str, d, body: str) -> list[tuple[str, dict]]:
    """The records of one document: its page, then each definition and result in it (linked to its
    anchor; the record's own URL only names a file for Pagefind, the UI links to `target`)."""
    module = f"{d.module.label} · {d.module.title}" if d.module else ""
    part = d.module.part.title if d.module and d.module.part else ""
    kind = {"note": "note", "article": "essay"}.get(d.kind, "page")
    recs = [(base + d.url, dict(title=d.title, type=kind, module=module, part=part, summary=d.summary, body=body,
                                note="", target=""))]
    for typ, anchor, title, inner in blocks(body):
        recs.append((f"{base}{d.url}{anchor}/", dict(title=title, type=typ, module=module, part=part, note=d.title,
                                                     target=f"{base}{d.url}#{anchor}", summary="", body=inner)))
    return recs


def search_records(site, docs, bodies, env, delta: bool = False):
    """Yields (url, html, words) for each record of the searchable documents; bodies are read one at a
    time. Records of the delta bundle say so (the UI drops the base's results they supersede, and
    Pagefind gives a result no other mark of the bundle it came from)."""
    template = env.get_template("search_record.html")
    base = site.config.base_path
    for d in docs:
        for url, rec in doc_records(base, d, bodies.search(d.id)):
            yield url, template.render(rec=rec, site=site.config.site, delta=delta), words(" ".join(
                (rec["title"], rec["summary"] or "", rec["body"])))


_STEMMERS = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian",
             "pt": "portuguese", "nl": "dutch", "sv": "swedish", "no": "norwegian", "da": "danish",
             "fi": "finnish", "ru": "russian", "hu": "hungarian", "ro": "romanian", "tr": "turkish"}


def words_file(found: set[str], language: str) -> str:
    """`np-words.json`: the bundle's words, each with its Snowball stem where that differs."""
    import snowballstemmer

    algo = _STEMMERS.get((language or "en").split("-")[0].lower())
    ordered = sorted(found)
    stems = snowballstemmer.stemmer(algo).stemWords(ordered) if algo else ordered
    return json.dumps({"words": [w for w, t in zip(ordered, stems) if w == t],
                       "stems": {w: t for w, t in zip(ordered, stems) if w != t}},
                      ensure_ascii=False, separators=(",", ":"))


# Pagefind writes several front ends into every bundle; the site has its own (static/search.js) and
# loads only Pagefind's API, its pagefind.js, worker and wasm, from the first bundle that
# search/bundles.json lists; the other bundles are merged into that instance (`mergeIndex`), which reads
# their entry, metadata, filters, index chunks and fragments and searches them with the first bundle's
# wasm (Pagefind merges with `load_wasm: false`; checked in Chromium: no other bundle's script or wasm
# is requested).
OTHER_UIS = {"pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-modular-ui.js",
             "pagefind-modular-ui.css", "pagefind-highlight.js", "pagefind-ui.js", "pagefind-ui.css"}
FIRST_ONLY = {"pagefind.js", "pagefind-worker.js"}


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
    if os.environ.get("PAGEFIND_BINARY_PATH"):  # as pagefind.service.get_executable honours it
        return (os.environ["PAGEFIND_BINARY_PATH"],)
    for binary in ("pagefind_bin_extended", "pagefind_bin"):  # what pagefind.service.get_executable tries
        try:  # first, without importing the service module (and asyncio with it: 30 ms of a one-note build)
            exe = __import__(binary).get_executable()
            if exe is not None and Path(exe).is_file():
                return (str(exe),)
        except Exception:  # noqa: BLE001 - not installed, or packaged otherwise
            pass
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

    def __init__(self, report: Report, out: Path, progress=None, language: str = "en"):
        self.report, self.out, self.progress, self.language = report, out, progress, language
        self.shards: list[tuple[Path, Path, bool, object, set]] = []  # (records, dest, first?, on success, words)
        self.count = 0
        self.failures: list[str] = []
        self.succeeded: list = []  # on_success callbacks of shards indexed, run by finish()
        self.queue: queue.Queue = queue.Queue()
        self.threads: list[threading.Thread] = []
        self.procs: list[subprocess.Popen] = []
        self.cancelled = self.closed = False

    def add_shard(self, records, dest: Path, first: bool, on_success=None) -> None:
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.search-", dir=self.out.parent))
        found: set[str] = set()
        shard = (tmp, dest, first, on_success, found)
        self.shards.append(shard)
        for url, html, record_words in records:
            page = tmp / url.lstrip("/") / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(html, encoding="utf-8")
            found |= record_words
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

    def _index(self, tmp: Path, dest: Path, first: bool, on_success, found: set) -> None:
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
            (dest / WORDS).write_text(words_file(found, self.language), encoding="utf-8")
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


def start_index(site, layout, bodies, output, record, new, plan, report: Report, *, search: bool, reuse: bool,
                progress=None) -> tuple[IndexJob | None, dict | None]:
    """The index stage: start indexing what changed and return (the running job or None, the contents of
    `search/bundles.json` or None when the output will have no index).

    `record` is the output folder's `OutputRecord` (its `search*` fields describe the index now there),
    `new` the one this build fills in as the job succeeds; `plan` is `plan_shards(...)`."""
    shards, groups = plan
    if not search:  # with `reuse`, the index of the last build that made one is carried over as it is
        kept = False
        for i in range(shards):
            if reuse and output.keep_dir(shard_dir(i)):
                kept = True
                if i in record.search:
                    new.search[i] = record.search[i]
            else:
                output.drop_dir(shard_dir(i))
        if not (reuse and output.keep_dir(DELTA)):
            output.drop_dir(DELTA)
        if kept and record.search_bundles:
            new.search_docs, new.search_delta, new.search_layout = (record.search_docs, record.search_delta,
                                                                    record.search_layout)
            return None, record.search_bundles
        return None, None
    if not pagefind_available():
        report.info(output.out, 1, "search index not built: install the 'search' extra (pagefind)", rule="search")
        return None, None
    job = IndexJob(report, output.out, progress, site.config.site.get("language", "en"))
    first = min(groups, default=0)  # the shard that carries Pagefind's script (see prune_bundle)
    base = site.config.base_path
    entries: dict[str, tuple[str, str]] = {}  # document id -> (its record's key, its URL)
    keys: dict[int, str] = {}
    fp = layout.fingerprint
    for i, group in groups.items():
        # each entry is (fingerprint, body key), hashed as its repr (see Fingerprint.text)
        ents = [f"({fp.text(fp(d))}, {bodies.key(d.id)!r})" for d in group]
        keys[i] = search_shard_key(shards, i == first, ("[" + ", ".join(ents) + "]").encode())
        entries.update((d.id, (digest(e.encode()), base + d.url)) for d, e in zip(group, ents))
    new.search_layout = [shards, first]
    try:
        bundles = (_index_delta(site, layout, bodies, output, record, new, entries, job)
                   if _base_usable(record, new.search_layout, output.out) else None)
        if bundles is None:
            bundles = _index_shards(site, layout, bodies, output, record, new, plan, keys, entries, job)
        i = shards
        while (output.out / shard_dir(i)).is_dir():  # shards of a bigger site before
            output.drop_dir(shard_dir(i))
            i += 1
    except BaseException:
        job.cancel()
        raise
    job.close()
    return (job if job.shards else None), bundles


def _base_usable(record, layout: list, out: Path) -> bool:
    """Whether the base index in the output was made with this shard layout and is all there."""
    return (bool(record.search) and record.search_layout == layout
            and all((out / shard_dir(i) / "pagefind-entry.json").is_file() for i in record.search))


def _bundle_list(base: str, shards, first: int) -> list[str]:
    return [f"{base}{shard_dir(i)}/" for i in sorted(shards, key=lambda i: (i != first, i))]


def _index_delta(site, layout, bodies, output, record, new, entries, job) -> dict | None:
    """Keep the base index; index the documents changed since it was made into the delta bundle (or
    re-index every changed shard when there are more than `DELTA_MAX`)."""
    base_docs = record.search_docs
    changed = sorted(i for i, (e, _) in entries.items() if base_docs.get(i, [None])[0] != e)
    gone = sorted(i for i in base_docs if i not in entries)
    if len(changed) + len(gone) > DELTA_MAX:
        return None
    for i in record.search:
        output.keep_dir(shard_dir(i))
    new.search = dict(record.search)
    new.search_docs = base_docs
    superseded = sorted(base_docs[i][1] for i in changed + gone if i in base_docs)
    delta = None
    if changed:
        key = digest([(i, entries[i][0]) for i in changed])
        delta = site.config.base_path + DELTA + "/"
        if record.search_delta == key and (output.out / DELTA / "pagefind-entry.json").is_file():
            output.keep_dir(DELTA)
            new.search_delta = key
        else:
            docs = [site.docs[i] for i in changed]
            job.add_shard(search_records(site, docs, bodies, layout.env, delta=True), output.replace_dir(DELTA), first=False,
                          on_success=lambda: setattr(new, "search_delta", key))
    else:
        output.drop_dir(DELTA)
    return {"bundles": _bundle_list(site.config.base_path, record.search, record.search_layout[1]),
            "delta": delta, "superseded": superseded}


def _index_shards(site, layout, bodies, output, record, new, plan, keys, entries, job) -> dict:
    """Consolidate: re-index each shard whose records changed (or whose index is missing), keep the
    others, drop the delta."""
    shards, groups = plan
    first = new.search_layout[1]
    output.drop_dir(DELTA)
    for i in range(shards):
        group = groups.get(i)
        if not group:  # an empty shard (the hash left it empty) has no index
            output.drop_dir(shard_dir(i))
            continue
        docs = {d.id: list(entries[d.id]) for d in group}
        if record.search.get(i) == keys[i] and (output.out / shard_dir(i) / "pagefind-entry.json").is_file():
            output.keep_dir(shard_dir(i))
            new.search[i] = keys[i]
            new.search_docs.update(docs)
            continue

        def indexed(i=i, docs=docs):
            new.search[i] = keys[i]
            new.search_docs.update(docs)

        job.add_shard(search_records(site, group, bodies, layout.env), output.replace_dir(shard_dir(i)),
                      first=(i == first), on_success=indexed)
    return {"bundles": _bundle_list(site.config.base_path, groups, first), "delta": None, "superseded": []}


def bundles_json(bundles: dict, new) -> str:
    """`search/bundles.json` once the job is done: a delta that failed to index is left out, and with it
    the supersession of the base's results (stale results rather than none)."""
    if bundles.get("delta") and not new.search_delta:
        bundles = dict(bundles, delta=None, superseded=[])
    return json.dumps(bundles, separators=(",", ":"))
