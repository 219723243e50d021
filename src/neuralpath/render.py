"""Render stage: every body -> HTML, through one path.

A body is a page's document (note, article, page) or the introduction of a part, module or series.
Each gets the same treatment: links and equation references resolved (and checked by the resolve
stage), images checked and copied into the output, math rendered by KaTeX, code highlighted and
its build output placed. A body whose render key (`incremental.body_key`) matches the cached one is
not rendered again; its warnings are reported again from the cache.

Many bodies are rendered by forked workers (`workers.py`): first every distinct expression is sent to
KaTeX once, split across the workers; then the bodies, in chunks. Workers return packed HTML, which
the parent stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from neuralpath import incremental, workers
from neuralpath.bibliography import Bibliography
from neuralpath.cache import BuildCache, pack, pack_math, unpack_bytes
from neuralpath.content.model import Source
from neuralpath.errors import Report
from neuralpath.execute.site import Executed
from neuralpath.graph import Site
from neuralpath.markdown import highlight
from neuralpath.markdown.katex import Katex
from neuralpath.markdown.parser import parse_document, thaw_tokens
from neuralpath.markdown.render import RenderContext, math_requests, render_tokens
from neuralpath.parse import ParseResult

CHUNK = 16  # bodies per worker task: a worker's results (~0.2 MB of HTML a note) are held twice until stored
SERIAL_CHUNK = 100  # bodies per batch of KaTeX calls in one process


class Bodies:
    """Rendered bodies by id, read from the cache when a page is rendered (so a build holds one body at a
    time). `keys` holds each body's render key."""

    def __init__(self, cache: BuildCache):
        self.cache = cache
        self.keys: dict[str, str] = {}

    def key(self, body_id: str) -> str:
        return self.keys.get(body_id, "")

    def html(self, body_id: str) -> str:
        return self.cache.body_html(body_id) if body_id in self.keys else ""

    def search(self, body_id: str) -> str:
        return self.cache.body_search(body_id) if body_id in self.keys else ""


@dataclass
class Rendered:
    bodies: Bodies
    copies: dict[str, Path] = field(default_factory=dict)  # output path -> image file to copy there
    summaries: dict[str, str] = field(default_factory=dict)  # summary text with math -> its HTML
    rendered: int = 0  # bodies rendered by this build
    math: int = 0  # KaTeX results made by this build


def sources_of(site: Site) -> dict[str, Source]:
    """Body id -> source of every body to render: documents with a page, then introductions."""
    out = {d.id: d.source for d in site.docs.values() if d.id in site.parsed}
    out.update((i.id, i.source) for i in site.intros.values())
    return out


def link_resolver(site: Site, source: Source | None = None):
    """(target, anchor) -> (url, title, has_page, summary) or None: what a link of the body read from
    `source` shows. Targets are as `parser.link_target` gives them: a document id, 'file:<path relative
    to the body's folder>', or '#' (an anchor of the body itself, left as written)."""
    base = site.config.base_path

    def resolve_link(target: str, anchor: str):
        place = None
        if target.startswith("file:"):
            path = source.path.parent / target[5:] if source is not None else None
            target = site.doc_at(path) if path is not None else None
            if not target and path is not None:
                place = site.place_at(path)
        doc = site.docs.get(target) if target else None
        if doc is None:
            place = place or (site.place(target) if target else None)
            if place is None:
                return None
            return base + place.url + (f"#{anchor}" if anchor else ""), _place_title(place), True, place.summary
        if doc.has_page:
            return base + doc.url + (f"#{anchor}" if anchor else ""), doc.title, True, doc.summary
        if doc.module is not None:
            return f"{base}{doc.module.url}#note-{doc.id}", doc.title, False, doc.summary
        return base, doc.title, False, doc.summary

    return resolve_link


def _place_title(place) -> str:
    """How a link to a module, part or series reads in its preview: 'Module 03: Linear Algebra ...'."""
    label = getattr(place, "label", None)
    return f"{label}: {place.title}" if label else place.title


def asset_resolver(source: Source, site: Site, copies: dict[str, Path], report: Report):
    """(src, line in the body) -> the image's URL in the site, registering the file to copy; or None
    after reporting why the image cannot be published."""
    content_root = site.config.content_dir
    folder = source.path.parent

    def asset_url(src: str, line_rel: int) -> str | None:
        line = source.body_line + line_rel
        parsed = urlparse(src)
        if parsed.scheme in ("http", "https"):
            report.warning(source.path, line, f"image {src} is loaded from another site; "
                           "put the file beside the note so the site stays self-contained", rule="external-image")
            return src
        if parsed.scheme == "data":
            return src
        plain_absolute = src.startswith("/") and not src.startswith("//") and not site.config.has_file
        if parsed.scheme or (src.startswith("/") and not plain_absolute) or "\\" in src:
            report.error(source.path, line, f"image path '{src}' must be relative to the note "
                         "(absolute paths and file: URLs are refused)", rule="image-path")
            return None
        # in a plain folder (a Jekyll or MkDocs site), "/img/a.png" means the folder's own img/a.png
        base = content_root if plain_absolute else folder
        target = (base / unquote(parsed.path).lstrip("/")).resolve()
        if content_root not in target.parents:
            report.error(source.path, line, f"image path '{src}' points outside the content folder; "
                         "it was not copied", rule="image-path")
            return None
        if not target.is_file():
            report.error(source.path, line, f"image '{src}' does not exist "
                         f"(looked for {report.relative(target)})", rule="missing-image")
            return None
        rel = target.relative_to(content_root).as_posix()
        copies[f"assets/content/{rel}"] = target
        return f"{site.config.base_path}assets/content/{rel}"

    return asset_url


def check_images(site: Site, report: Report) -> None:
    """Images without alt text (the renderer checks paths; this is about readers of screen readers)."""
    sources = sources_of(site)
    for body_id, parsed in site.parsed.items():
        src = sources.get(body_id)
        if src is None:
            continue
        for image, alt, line in parsed.images:
            if not alt.strip():
                report.warning(src.path, line, f"image '{image}' has no alt text: write ![what it shows]({image})",
                               rule="image-alt")


def summary_texts(site: Site) -> list[str]:
    """Summaries (of documents, modules, parts and series) that contain math: the layout shows them as
    HTML with the math rendered, and as plain text where HTML cannot go (<meta>, previews)."""
    texts = [d.summary for d in site.docs.values()] + [m.summary for m in site.modules]
    texts += [p.summary for p in site.parts] + [s.summary for s in site.series.values()]
    return sorted({t for t in texts if t and "$" in t})


def _summary_tokens(md, text: str):
    return md.parse(text.replace("\n", " "), {})


def render_summaries(site: Site, md, katex: Katex, report: Report) -> dict[str, str]:
    """Each summary with math as inline HTML (one paragraph's content); a TeX error in a summary is
    reported at the file whose front matter holds it."""
    out = {}
    where = {d.summary: d.source for d in site.docs.values()}
    for text in summary_texts(site):
        source = where.get(text)
        sub = Report(report.root)
        ctx = RenderContext(path=source.path if source else site.config.root, body_line=1, report=sub,
                            katex=katex, resolve_link=lambda t, a: None, resolve_label=lambda label: None)
        html = render_tokens(md, _summary_tokens(md, text), ctx).strip()
        if html.startswith("<p>") and html.endswith("</p>"):
            html = html[3:-4]
        for f in sub.findings:  # the summary's line in the front matter
            report.error(f.path, source.line_of("summary") if source else 1, f"in the summary: {f.message}",
                         rule=f.rule)
        out[text] = html
    return out


def render_bodies(site: Site, md, katex: Katex, executed: Executed, parse: ParseResult, cache: BuildCache,
                  report: Report, jobs: int = 0, progress=None, bib: Bibliography | None = None) -> Rendered:
    """Render every body whose key changed; return the keys of all of them and the images to copy.
    `bib` resolves citations and makes each body's References section (none without it)."""
    bib = bib if bib is not None else Bibliography(site.config.bib_path)
    result = Rendered(Bodies(cache))
    keys = result.bodies.keys
    fixed = incremental.render_fixed(katex, site.config)
    quiet = Report(report.root)  # the key's image lookups; rendering reports them with their lines
    sources = sources_of(site)
    todo = []
    cached = cache.body_entries()
    memo: dict = {}  # resolutions shared by the keys of this build's bodies (see body_key)
    for body_id, source in sources.items():
        parsed = site.parsed[body_id]
        assets = asset_resolver(source, site, result.copies, quiet) if parsed.images else None
        key = keys[body_id] = incremental.body_key(
            fixed, source.key, parsed, link_resolver(site, source), lambda lab, b=body_id: site.resolve_label(b, lab),
            lambda src: assets(src, 0), executed.outputs.get(body_id) or {}, bib.body_key(site, body_id), memo)
        hit = cached.get(body_id)
        if hit and hit[0] == key:
            if hit[1]:  # a body taken from the cache reports what rendering it reported
                report.findings.extend(cache.body_findings(body_id))
            continue
        todo.append((body_id, key))
    state = dict(site=site, md=md, katex=katex, executed=executed, frozen=parse.frozen,
                 sources=sources, root=report.root, cache_path=cache.path, bib=bib)
    with workers.state(**state):
        if workers.can_fork(len(todo), jobs, cache.path is not None):
            _prerender_math(site, md, katex, todo, sources, parse, cache, result, progress, jobs)
            cache.save()  # the worker processes read the math cache through their own connections
            chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
            with workers.pool(jobs, _worker_init) as pool:
                _collect(pool.imap_unordered(_render_chunk, chunks), cache, report, result, progress, len(todo))
        else:
            katex.cache = cache.math
            highlight.STORE = cache.code
            try:
                _collect((_render_chunk(todo[i:i + SERIAL_CHUNK]) for i in range(0, len(todo), SERIAL_CHUNK)),
                         cache, report, result, progress, len(todo))
            finally:
                highlight.STORE = None
    katex.cache = cache.math
    result.summaries = render_summaries(site, md, katex, report)
    _store_fresh(*_fresh_results(katex), cache, result)
    return result


def _store_fresh(math: dict, code: dict, cache: BuildCache, result: Rendered) -> None:
    """Store new KaTeX results and highlighted code, as rows made by `_fresh_results` in the worker."""
    for k, row in math.items():
        cache.math.put(k, row)
    for k, row in code.items():
        cache.code.put(k, row)
    result.math += len(math)


def _collect(chunks, cache: BuildCache, report: Report, result: Rendered, progress, total: int) -> None:
    """Store the rendered bodies of each chunk (see `_render_chunk`) as it arrives."""
    task = progress.task("rendering bodies", total) if progress and total else None
    for rows, math, code in chunks:
        _store_fresh(math, code, cache, result)
        for body_id, key, html, search, findings, copies in rows:
            report.findings.extend(findings)
            result.copies.update(copies)
            result.rendered += 1
            # a body with errors is kept for this build's pages (--keep-going writes them) under a key no
            # later build will match: its errors may come from outside the body (a missing image), so it is
            # always rendered again
            failed = any(f.severity == "error" for f in findings)
            cache.put_body(body_id, f"failed:{key}" if failed else key, html, search, findings)
            if task:
                task.advance()
        cache.save()  # short write transactions: another build on this site waits briefly
    if task:
        task.done()


def _prerender_math(site: Site, md, katex: Katex, todo, sources: dict[str, Source], parse: ParseResult,
                    cache: BuildCache, result: Rendered, progress, jobs: int) -> None:
    """Render every distinct expression of the bodies to render once, split across processes (bodies
    share many expressions; rendering per body would repeat them in each worker)."""
    wanted: dict[str, tuple[str, bool]] = {}
    summary_math = [req for text in summary_texts(site) for req in math_requests(_summary_tokens(md, text), None)]
    for tex, display in [*parse.math, *summary_math]:
        if len(tex) <= katex.MAX_TEX:
            wanted.setdefault(katex.key(tex, display), (tex, display))
    for body_id, _ in todo:  # bodies parsed by an earlier build, rendered again (a linked title changed)
        parsed = site.parsed[body_id]
        if body_id in parse.fresh or parsed.tokens is None:
            continue  # already collected, or their worker parses them again and renders their math
        source = sources[body_id]
        ctx = RenderContext(path=source.path, body_line=source.body_line, report=Report(site.config.root),
                            katex=katex, resolve_link=link_resolver(site, source),
                            resolve_label=(lambda lab, b=body_id: site.resolve_label(b, lab)))
        for tex, display in math_requests(parsed.tokens, ctx):
            if len(tex) <= katex.MAX_TEX:
                wanted.setdefault(katex.key(tex, display), (tex, display))
    math = cache.math
    missing = [req for k, req in wanted.items() if k not in math]
    if not missing:
        return
    task = progress.task("rendering math", len(missing)) if progress else None
    chunks = [missing[i:i + katex.BATCH] for i in range(0, len(missing), katex.BATCH)]
    with workers.pool(jobs, _worker_init) as pool:
        for fresh in pool.imap_unordered(_math_chunk, chunks):
            _store_fresh(fresh, {}, cache, result)
            if task:
                task.advance(len(fresh))
    if task:
        task.done()


# -- in the workers (or, one chunk at a time, in the parent) ------------------------------------------

def _worker_init() -> None:
    """A forked worker opens a cache connection of its own and reads earlier results through it."""
    state = workers.job()
    cache = BuildCache(state["cache_path"])
    state["katex"].cache = cache.math
    highlight.STORE = cache.code


def _math_chunk(requests: list[tuple[str, bool]]) -> dict:
    katex = workers.job()["katex"]
    katex.cache = {}
    katex.fresh.clear()
    katex.prerender(requests)
    return _fresh_results(katex)[0]


def _fresh_results(katex: Katex) -> tuple[dict, dict]:
    """KaTeX results and highlighted code made by this process since the last call, as table rows."""
    math = {k: pack_math(v) for k, v in katex.fresh.items()}
    code = {k: (pack(html),) for k, html in highlight.FRESH.items()}
    katex.fresh.clear()
    highlight.FRESH.clear()
    return math, code


def _render_chunk(items: list[tuple[str, str]]) -> tuple[list[tuple], dict, dict]:
    """Render the bodies of (id, render key) pairs: rows of (id, key, html, search text, findings, image
    copies), and the math results and highlighted code made on the way (for the parent to store)."""
    state = workers.job()
    site, md, katex, executed = state["site"], state["md"], state["katex"], state["executed"]
    allow = site.config.build["allow_raw_html"]
    keys = dict(items)
    bodies = []
    for body_id, _ in items:
        source, parsed = state["sources"][body_id], site.parsed[body_id]
        tokens = parsed.tokens
        if tokens is None:
            frozen = state["frozen"].get(body_id)
            tokens = (thaw_tokens(unpack_bytes(frozen)) if frozen is not None
                      else parse_document(md, source.body, source.body_line).tokens)
        sub = Report(state["root"])
        copies: dict[str, Path] = {}
        ctx = RenderContext(
            path=source.path, body_line=source.body_line, report=sub, katex=katex,
            resolve_link=link_resolver(site, source),
            resolve_label=(lambda lab, b=body_id: site.resolve_label(b, lab)),
            outputs=executed.outputs.get(body_id) or {}, asset_url=asset_resolver(source, site, copies, sub),
            allow_raw_html=allow, source_lines=source.body.split("\n"), cite=state["bib"].cite)
        bodies.append((body_id, tokens, sub, copies, ctx))
    katex.fresh.clear()
    katex.loaded.clear()  # what the last chunk fetched from the cache: memory stays bounded by a chunk
    katex.prerender(req for (_, tokens, _, _, ctx) in bodies for req in math_requests(tokens, ctx))
    rows = []
    for body_id, tokens, sub, copies, ctx in bodies:
        html = render_tokens(md, tokens, ctx) + state["bib"].body_section(site, body_id)  # + References
        site.parsed[body_id].tokens = None  # rendered: a body's tree is not kept (about 1 MB a note)
        rows.append((body_id, keys[body_id], pack(html), pack(ctx.search_text), sub.findings, copies))
    katex.loaded.clear()
    return (rows, *_fresh_results(katex))
