"""Write stage: the whole site goes to a temporary folder beside the output, then is swapped in.

A failed or interrupted build leaves the previous site untouched. The engine only ever replaces a
folder that it created itself (it carries a marker file), and refuses dangerous output locations.
Also writes the site-wide files: assets, sitemap.xml, the Atom feed and robots.txt.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from html import escape as _html_escape
from pathlib import Path

from neuralpath.errors import UsageError

MARKER = ".neuralpath-output"


def escape(text: str) -> str:
    """XML text: &, < and > (xml.sax.saxutils.escape, whose import pulls in urllib and ssl)."""
    return _html_escape(text, quote=False)


def check_output_dir(out: Path, content: Path, root: Path) -> None:
    out, content = out.resolve(), content.resolve()
    home = Path.home().resolve()
    if out == Path(out.anchor) or out == home:
        raise UsageError(f"refusing to write the site to {out}: choose a dedicated folder such as ./public")
    if out == content or out in content.parents:
        raise UsageError(f"refusing to write the site to {out}: it is (or contains) the content folder {content}")
    if out == root.resolve() or out in root.resolve().parents:
        raise UsageError(f"refusing to write the site to {out}: it contains the site folder {root}")
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"output path {out} exists and is not a folder")
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise UsageError(f"refusing to replace {out}: it was not created by neuralpath (no {MARKER} file) "
                             "and is not empty; remove it or choose another output folder")


def file_state(path: Path) -> tuple[int, int] | None:
    """(size, mtime in ns) of a file, or None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def as_recorded(out: Path, recorded: dict[str, tuple[str, int, int]], suffix: str = "") -> bool:
    """True when every recorded file of the output (those ending with `suffix`) still has the size and
    mtime the last build recorded: nothing was deleted or edited by hand since."""
    base = str(out)  # joined as text: a Path per file cost more than its stat
    return all(file_state(os.path.join(base, rel)) == (size, mtime) for rel, (_, size, mtime) in recorded.items()
               if rel.endswith(suffix))


class Output:
    """Writes one build into the output folder so that readers never see a half-written site.

    Every file is announced with `put(rel, key, data)`, where `key` identifies its content (a hash or a
    page key). A file whose key and on-disk size/mtime match the previous build is left alone; others
    are written into a staging folder beside the output. `commit()` then either

    - swaps the whole staging folder in (first build, `--clean`, or an output folder the cache does
      not describe: unchanged files are hard-linked into staging first), or
    - moves just the changed files into place, following a journal: staging is renamed to
      `.<name>.commit` (the point of no return) and a build that is interrupted while moving files
      finishes the moves the next time any build starts.

    Files of the previous build that were not announced again are deleted on commit.
    """

    def __init__(self, out: Path, previous: dict[str, tuple[str, int, int]] | None = None, full: bool = False):
        self.out = out.resolve()
        self._base = str(self.out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        recover(self.out)
        self.previous = previous or {}  # rel -> (key, size, mtime_ns) of what the output holds
        self.full = full or not self.previous or not (self.out / MARKER).is_file()
        self.dir = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.building-", dir=self.out.parent))
        self.files: dict[str, tuple[str, int, int] | None] = {}  # rel -> state; None until written
        self.changed: list[str] = []  # rel paths written into staging
        self.replaced_dirs: list[str] = []  # folders (such as pagefind/) replaced as a whole
        self.dropped_dirs: list[str] = []  # folders of the current output that this build no longer has
        self.written = 0
        self.kept = 0

    def _dest(self, rel: str) -> Path:
        path = (self.dir / rel).resolve()
        if self.dir not in path.parents:
            raise ValueError(f"refusing to write outside the output folder: {rel}")
        return path

    def unchanged(self, rel: str, key: str) -> bool:
        """True (and the file kept) when the output already holds `rel` with this key."""
        prev = self.previous.get(rel)
        if prev is None or prev[0] != key:
            return False
        if file_state(os.path.join(self._base, rel)) != prev[1:]:
            return False  # missing, or changed by hand since: write it again
        if self.full:
            dest = self._dest(rel)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(self.out / rel, dest)
            except OSError:
                return False
        self.files[rel] = prev
        self.kept += 1
        return True

    def put(self, rel: str, key: str, data) -> None:
        """`data`: str, bytes, or a callable returning either (called only when the file must be written)."""
        if self.unchanged(rel, key):
            return
        self.stage(rel, data)
        self.staged(rel, key)

    def stage(self, rel: str, data) -> None:
        """Write a file into the staging folder (a worker process may do this; the parent then calls
        `staged`)."""
        if callable(data):
            data = data()
        if isinstance(data, str):
            data = data.encode("utf-8")
        dest = self._dest(rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)

    def staged(self, rel: str, key: str) -> None:
        """Record a file written by `stage` as part of this build."""
        self._written(rel, key, self._dest(rel))

    def copy(self, src: Path, rel: str) -> None:
        st = src.stat()
        key = f"file:{st.st_size}:{st.st_mtime_ns}"
        if self.unchanged(rel, key):
            return
        dest = self._dest(rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        self._written(rel, key, dest)

    def _written(self, rel: str, key: str, dest: Path) -> None:
        st = os.stat(dest)
        self.files[rel] = (key, st.st_size, st.st_mtime_ns)
        self.changed.append(rel)
        self.written += 1

    def replace_dir(self, rel: str) -> Path:
        """A folder to fill completely (it replaces the output's folder of that name on commit)."""
        self.replaced_dirs.append(rel)
        return self._dest(rel)

    def keep_dir(self, rel: str) -> bool:
        """Carry a folder of the current output over unchanged (hard links in a full swap)."""
        src = self.out / rel
        if not src.is_dir():
            return False
        if self.full:
            for f in src.rglob("*"):
                if f.is_file():
                    dest = self.dir / rel / f.relative_to(src)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.link(f, dest)
                    except OSError:
                        shutil.copyfile(f, dest)
        return True

    def drop_dir(self, rel: str) -> None:
        """The output's folder `rel` is not part of this build (a full swap leaves it out anyway)."""
        if not self.full and (self.out / rel).is_dir():
            self.dropped_dirs.append(rel)

    @property
    def removed(self) -> list[str]:
        return [rel for rel in self.previous if rel not in self.files]

    def commit(self) -> None:
        if self.full:
            (self.dir / MARKER).write_text(MARKER_TEXT)
            old = None
            if self.out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-", dir=self.out.parent))
                os.rmdir(old)
                os.rename(self.out, old)
            os.rename(self.dir, self.out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            return
        journal = {"moves": self.changed, "dirs": self.replaced_dirs, "deletes": self.removed,
                   "drop": self.dropped_dirs}
        (self.dir / JOURNAL).write_text(json.dumps(journal))
        final = _commit_dir(self.out)
        os.rename(self.dir, final)  # from here on the build counts as done; recover() completes it
        recover(self.out)

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


JOURNAL = ".neuralpath-journal.json"
MARKER_TEXT = "This folder is generated by `neuralpath build`; it is replaced on every build.\n"


def _commit_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.commit"


def recover(out: Path) -> None:
    """Finish a commit that was interrupted, and remove staging folders of builds that never committed."""
    final = _commit_dir(out)
    if final.is_dir():
        try:
            journal = json.loads((final / JOURNAL).read_text())
        except (OSError, ValueError):
            journal = {"moves": [], "dirs": [], "deletes": []}
        for rel in journal["dirs"]:
            src, dest = final / rel, out / rel
            if src.is_dir():
                if dest.exists():
                    trash = final / (".old-" + rel.replace("/", "-"))
                    os.rename(dest, trash)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.rename(src, dest)
        for rel in journal.get("drop", []):
            if (out / rel).is_dir():
                os.rename(out / rel, final / (".old-" + rel.replace("/", "-")))
        for rel in journal["moves"]:
            src = final / rel
            if src.is_file():
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, out / rel)
        for rel in journal["deletes"]:
            target = out / rel
            try:
                target.unlink()
            except OSError:
                continue
            parent = target.parent  # drop folders the deletion left empty, up to the output root
            while parent != out and out in parent.parents:
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent
        shutil.rmtree(final, ignore_errors=True)
    # folders left by builds that were killed (a build that fails or is interrupted removes its own);
    # recent ones may belong to a build running right now
    old = time.time() - 3600
    for stale in [*out.parent.glob(f".{out.name}.building-*"), *out.parent.glob(f".{out.name}.search-*")]:
        try:
            if stale.is_dir() and stale.stat().st_mtime < old:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            continue


def sitemap(base_url: str, urls: list[str]) -> str:
    base = base_url.rstrip("/") + "/"
    items = "".join(f"  <url><loc>{escape(base + u)}</loc></url>\n" for u in urls)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + items + "</urlset>\n")


def robots(base_url: str) -> str:
    """robots.txt; it names the sitemap only when the site's address is known (a Sitemap line must be an
    absolute URL)."""
    sitemap = f"Sitemap: {base_url.rstrip('/')}/sitemap.xml\n" if "://" in base_url else ""
    return f"User-agent: *\nAllow: /\n{sitemap}"


def atom_feed(site_cfg: dict, articles) -> str:
    """articles: iterable of (Doc, html body or '') for published articles, newest first."""
    base = site_cfg["base_url"].rstrip("/") + "/"
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    entries = []
    latest = None
    for doc, body in articles:
        updated = datetime(doc.date.year, doc.date.month, doc.date.day, tzinfo=timezone.utc).isoformat()
        latest = latest or updated
        entries.append(
            "  <entry>\n"
            f"    <title>{escape(doc.title)}</title>\n"
            f'    <link href="{escape(base + doc.url)}"/>\n'
            f"    <id>{escape(base + doc.url)}</id>\n"
            f"    <updated>{updated}</updated>\n"
            f"    <summary>{escape(doc.summary)}</summary>\n"
            f'    <content type="html">{escape(body)}</content>\n'
            "  </entry>\n")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
            f"  <title>{escape(site_cfg['title'])}</title>\n"
            f'  <link href="{escape(base)}"/>\n  <link rel="self" href="{escape(base)}feed.xml"/>\n'
            f"  <id>{escape(base)}</id>\n  <updated>{latest or now}</updated>\n"
            f"  <author><name>{escape(site_cfg['author'])}</name></author>\n"
            + "".join(entries) + "</feed>\n")


# -- the write stage ---------------------------------------------------------------------------------

class PageWriter:
    """Writes the pages whose key changed into the output's staging folder: by forked workers when there
    are many (`workers.py`; started first, since threads such as the search indexer's do not survive a
    fork, and they work while this process does other things), else in this process by `finish`."""

    def __init__(self, output: Output, pages, bodies, jobs: int = 0, progress=None):
        from contextlib import ExitStack

        from neuralpath import workers

        self.output, self.progress, self.total = output, progress, len(pages)
        self.todo = [p for p in pages if not output.unchanged(p.path, p.key)]
        self.staging = None
        self._workers = ExitStack()  # the workers' state and pool, until `close`
        if workers.can_fork(len(self.todo), jobs, bodies.cache.path is not None):
            self._workers.enter_context(workers.state(todo=self.todo, output=output, bodies=bodies))
            # leaving the pool's context terminates it (after `finish` has joined it, a no-op)
            self.pool = self._workers.enter_context(workers.pool(jobs, _page_worker_init))
            spans = [(i, min(i + 32, len(self.todo))) for i in range(0, len(self.todo), 32)]
            self.staging = self.pool.imap_unordered(_stage_pages, spans)

    def finish(self) -> None:
        task = self.progress.task("writing pages", self.total) if self.progress else None
        if task:
            task.advance(self.total - len(self.todo))
        try:
            if self.staging is not None:
                for done in self.staging:
                    for i in done:
                        self.output.staged(self.todo[i].path, self.todo[i].key)
                    if task:
                        task.advance(len(done))
                self.pool.close()
                self.pool.join()
            else:
                for page in self.todo:
                    self.output.stage(page.path, page.render)
                    self.output.staged(page.path, page.key)
                    if task:
                        task.advance()
        finally:
            self.close()
        if task:
            task.done()

    def close(self) -> None:
        """Stop the workers (if still running) and forget their state."""
        self._workers.close()


def _page_worker_init() -> None:
    from neuralpath import workers
    from neuralpath.cache import BuildCache

    bodies = workers.job()["bodies"]
    bodies.cache = BuildCache(bodies.cache.path)  # a connection of this process's own


def _stage_pages(span: tuple[int, int]) -> list[int]:
    """In a worker: render pages todo[start:end] into the staging folder; their indices back."""
    from neuralpath import workers

    state = workers.job()
    for i in range(*span):
        state["output"].stage(state["todo"][i].path, state["todo"][i].render)
    return list(range(*span))


def put_site_files(output: Output, *, config, pages, copies: dict[str, Path], figures: dict[str, str],
                   sheets: dict[str, tuple[str, str]], static: Path, fonts: Path, feed: tuple[str, object],
                   notebooks=()) -> None:
    """Everything but the pages: images and figures of the notes, stylesheets and static assets, KaTeX's
    fonts, the sitemap, robots.txt, the Atom feed (`feed`: its key and a function that writes it) and
    the documents' notebooks (`notebooks`: (path, key, function that writes it) each)."""
    from neuralpath.cache import digest

    for rel, src in sorted(copies.items()):
        output.copy(src, rel)
    for rel, svg in figures.items():
        output.put(rel, digest(svg), svg)
    for rel, key, make in notebooks:
        output.put(rel, key, make)
    for name, text in sheets.values():
        output.put(f"assets/{name}", name, text)  # the name carries the content hash
    for f in static.iterdir():
        if f.name != "site.css" and f.is_file():
            output.copy(f, f"assets/{f.name}")
    for font in fonts.iterdir():
        if font.suffix == ".woff2":
            output.copy(font, f"assets/katex/fonts/{font.name}")
    urls = sorted(p.path[: -len("index.html")] for p in pages if p.path.endswith("index.html"))
    text = sitemap(config.site["base_url"], urls)
    output.put("sitemap.xml", digest(text), text)
    text = robots(config.site["base_url"])
    output.put("robots.txt", digest(text), text)
    output.put("feed.xml", *feed)
