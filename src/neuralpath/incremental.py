"""Incremental builds: every cache key, and the decision of what to redo.

Two kinds of state are kept in the build cache (`cache.py`, `.neuralpath/build-cache.sqlite`):

1. Results by content. Parsed notes, rendered bodies, KaTeX output and highlighted code are stored
   under keys that cover everything they depend on (`body_key`, `intro_key`, ...). Any process may
   add to them: `check`, the dev server, a build into another folder, a build that fails later on.
   A result is reused only when its key matches, so sharing them can make a build faster, never wrong.

2. What one output folder holds. `OutputRecord` is kept per output folder and says from which
   inputs the files now in that folder were made: the manifest of source files, the structure key
   of the pages, the render key of each body shown, the key of each search shard, and each file's
   key, size and mtime (the `pages` table). It is written only after a build has swapped its files
   into that folder, and forgotten just before the swap, so it never describes a folder other than
   as it is. Every shortcut that skips work on an output folder compares against this record, never
   against what some other process happened to render:
   - `nothing_changed`: the manifest matches and every file is as recorded -> do nothing;
   - `reusable_pages`: the structure key matches and every page is as recorded -> only the pages of
     documents whose body key differs from the recorded one are rendered again (`changed_bodies`).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from neuralpath.cache import ENGINE, BuildCache, digest
from neuralpath.history import repo_state
from neuralpath.write import MARKER, as_recorded


def tool_versions() -> tuple[str, ...]:
    """Versions of the libraries whose output ends up in the HTML: an upgrade renders everything again."""
    import markdown_it
    import mdit_py_plugins
    import pygments

    return (ENGINE, markdown_it.__version__, mdit_py_plugins.__version__, pygments.__version__)


# -- keys of results by content ----------------------------------------------------------------------

def render_fixed(katex, config) -> str:
    """What every body's HTML depends on besides its own inputs (as one digest: it is part of every
    body's key, and digesting it once is cheaper than once per body)."""
    return digest(tool_versions(), katex.version, katex.macros_json, config.build["allow_raw_html"],
                  config.base_path)


def body_key(fixed: str, source_key: str, parsed, link, label, asset, outputs: dict[int, str],
             citations: tuple = (), memo: dict | None = None) -> str:
    """The render key of a body: its text, what each of its links and equation references resolves to,
    where each image is published, its code output, and what its citations and References section show
    (`bibliography.Bibliography.body_key`: the formatted entries, so editing one in the .bib file
    renders again the bodies that cite it). `link(target, anchor)`, `label(label)` and `asset(src)` are
    the resolvers the renderer uses, so the key sees exactly what rendering will.

    `memo` (one dict for all the bodies of one build, with the same `site` behind the resolvers) keeps
    what a link or reference resolves to, written out, where that cannot depend on the body asking:
    a link to a document id (not `file:`, which is relative to the body's folder), and a reference to
    a label the body does not define itself (`Site.resolve_label` answers it the same for every body
    that does not own it). The key's value is the same with or without it."""
    own = parsed.labels  # a reference to the body's own label depends on its number only
    if memo is None:
        memo = {}
    links_seen = memo.setdefault("links", {})
    labels_seen = memo.setdefault("labels", {})
    links = []
    for t, a, _line, _col in parsed.links:
        r = links_seen.get((t, a))
        if r is None:
            r = repr((t, a, link(t, a)))
            if not t.startswith("file:"):
                links_seen[t, a] = r
        links.append(r)
    refs = []
    for lab, _ in parsed.eqrefs:
        if lab in own:
            refs.append(repr((lab, own[lab])))
            continue
        r = labels_seen.get(lab)
        if r is None:
            r = labels_seen[lab] = repr((lab, label(lab)))
        refs.append(r)
    return digest(fixed, source_key, ("[" + ", ".join(links) + "]").encode(),
                  ("[" + ", ".join(refs) + "]").encode(),
                  [(src, asset(src)) for src, _, _ in parsed.images] if parsed.images else [],
                  sorted(outputs.items()) if outputs else [], citations)


def stylesheet_stamp(site_css: Path) -> tuple:
    """When the cached site stylesheet (site.css plus Pygments' palettes) must be made again."""
    import pygments

    return (pygments.__version__, site_css.stat().st_mtime_ns)


def search_shard_key(shards: int, first: bool, entries: list | bytes) -> str:
    """A search shard's index depends on the shard count, whether it carries the UI, and the
    fingerprint and body key of each of its documents (a list of those pairs, or its repr as bytes)."""
    return digest(shards, first, entries)


def feed_key(site_cfg: dict, entries: list) -> str:
    """The Atom feed: the site's settings and each article's fingerprint and body key (with no
    articles, the feed's updated date is the build date)."""
    return digest(site_cfg, entries, dt.date.today().isoformat() if not entries else "")


def manifest(config, options, env_vars: list[str]) -> str:
    """Everything a build reads, by size and mtime (content files, neuralpath.toml, the environment
    variables notes require, the options, the date, the git commit, which dates the notes): when it
    matches an output folder's record, that folder is already what this build would write."""
    files = []
    for folder, dirs, names in os.walk(config.content_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for n in sorted(names):
            try:
                st = os.stat(os.path.join(folder, n))
            except OSError:
                continue
            files.append((folder, n, st.st_size, st.st_mtime_ns))
    cfg = config.root / "neuralpath.toml"
    cfg_state = (cfg.stat().st_size, cfg.stat().st_mtime_ns) if cfg.is_file() else None
    bib = config.bib_path  # outside the content folder by default
    bib_state = (str(bib), bib.stat().st_size, bib.stat().st_mtime_ns) if bib.is_file() else None
    env = {v: bool(os.environ.get(v)) for v in env_vars}
    o = options
    return digest(ENGINE, tool_versions(), dt.date.today().isoformat(), cfg_state, bib_state, files, env, o.drafts,
                  o.execute, o.search, o.reuse_search, repo_state(config.content_dir))


# -- what an output folder holds ---------------------------------------------------------------------

@dataclass
class OutputRecord:
    """What the files in one output folder were made from (see the module docstring)."""

    manifest: str | None = None
    env_vars: list[str] = field(default_factory=list)  # environment variables the notes require
    structure: str | None = None  # Layout.structure_key() of the pages written
    bodies: dict[str, str] = field(default_factory=dict)  # body id -> render key of the HTML in the pages
    search: dict[int, str] = field(default_factory=dict)  # shard -> search_shard_key of its index (the base)
    search_layout: list = field(default_factory=list)  # [shard count, first shard] of the base index
    search_docs: dict[str, list] = field(default_factory=dict)  # document id -> [record key, URL] in the base
    search_delta: str = ""  # key of the documents the delta bundle holds ("" when there is none)
    search_bundles: dict | None = None  # search/bundles.json as written
    findings: list = field(default_factory=list)  # warnings of that build, repeated when nothing changed
    pages: int = 0
    docs: int = 0

    @staticmethod
    def meta_key(out: Path) -> str:
        return f"output:{out}"

    @classmethod
    def load(cls, cache: BuildCache, out: Path) -> "OutputRecord":
        data = cache.get_meta(cls.meta_key(out))
        return cls(**data) if isinstance(data, dict) else cls()

    def save(self, cache: BuildCache, out: Path) -> None:
        cache.set_meta(self.meta_key(out), self.__dict__)

    @classmethod
    def forget(cls, cache: BuildCache, out: Path) -> None:
        """Called (and saved) before files are swapped into `out`: should the build stop between the
        swap and saving the new record, the next build finds no record and checks every file."""
        cache.set_meta(cls.meta_key(out), None)
        cache.set_pages(str(out), {})
        cache.save()


def env_vars(cache: BuildCache, out: Path) -> list[str]:
    return OutputRecord.load(cache, out).env_vars


def nothing_changed(record: OutputRecord, manifest_key: str, cache: BuildCache, out: Path) -> bool:
    """The folder was built from exactly these inputs and nobody has touched its files since."""
    return (record.manifest is not None and record.manifest == manifest_key and (out / MARKER).is_file()
            and as_recorded(out, cache.pages(str(out))))


def reusable_pages(record: OutputRecord, structure: str, cache: BuildCache, out: Path) -> dict[str, str] | None:
    """Path -> key of the pages in `out` when everything but documents' bodies is as when they were
    written (and no page was changed by hand since), else None: render every page's context."""
    if record.structure != structure:
        return None
    previous = cache.pages(str(out))
    if not previous or not as_recorded(out, previous, ".html"):
        return None
    return {path: key for path, (key, _, _) in previous.items()}


def changed_bodies(record: OutputRecord, keys: dict[str, str]) -> set[str]:
    """Bodies whose render key differs from the one their pages in the folder were made with."""
    return {body_id for body_id, key in keys.items() if record.bodies.get(body_id) != key}
