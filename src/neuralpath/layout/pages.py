"""Page contexts for every page type, rendered with Jinja2.

`Layout.all_pages()` yields one `Page` per output page without rendering it: a page carries a key (a
hash of everything its template reads: the context with each document, module, part and series reduced
to the fields templates show, and each body to its render key) and a `render()` that runs the template.
The write stage renders only pages whose key differs from the last build's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable
from itertools import groupby
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from neuralpath.cache import digest
from neuralpath.content.loader import slugify
from neuralpath.content.model import Doc, Series
from neuralpath.graph import Site, nearest_prerequisites
from neuralpath.bibliography import BIBLIOGRAPHY
from neuralpath.indexes import NOTATION, RESULTS

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Page:
    path: str  # output path relative to the site root, e.g. "notes/svd/index.html"
    key: str  # changes whenever the rendered HTML could change
    render: Callable[[], str]


class Body:
    """A rendered body in a page context, loaded only when the page is actually rendered."""

    def __init__(self, bodies, key: str):
        self.bodies, self.id = bodies, key

    def __html__(self) -> str:
        return self.bodies.html(self.id)

    def __str__(self) -> str:
        return self.__html__()

    def __bool__(self) -> bool:
        return bool(self.bodies.key(self.id))


class Fingerprint:
    """Reduces page contexts to plain, hashable data; one instance per build memoises per object."""

    def __init__(self, site: Site, bodies):
        self.site, self.bodies = site, bodies
        self.memo: dict[int, object] = {}
        self.texts: dict[int, str] = {}  # id of a document's fingerprint (kept alive by memo) -> its repr

    def text(self, value) -> str:
        """`repr(value)` for a fingerprint, character for character, with each document's fingerprint
        written out once per build: the structure key, the search records' keys and the search shards'
        keys all hash every document's fingerprint (pass `text(...).encode()` to `digest`, which hashes
        `repr` of anything but bytes, so the keys are the same as with the values themselves)."""
        if type(value) is not tuple:
            return repr(value)
        known = self.texts.get(id(value))
        if known is not None:
            return known
        if not any(type(x) is tuple for x in value):
            return repr(value)
        inner = ", ".join([self.text(x) for x in value])
        return f"({inner},)" if len(value) == 1 else f"({inner})"

    def doc(self, d: Doc):
        m = d.module
        return ("doc", d.id, d.kind, d.title, d.summary, d.status, d.url, d.has_page, d.date, tuple(d.tags),
                tuple(d.prerequisites), tuple(d.all_requires), self.site.reading_minutes.get(d.id, 1),
                (m.slug, m.label, m.title, m.url, m.part.title if m.part else None, m.part.url if m.part else None)
                if m else None)

    def module(self, m):
        return ("module", m.slug, m.label, m.title, m.summary, m.url, tuple(getattr(m, "requires", []) or []),
                (m.part.title, m.part.url) if m.part else None, self.bodies.key(f"module:{m.slug}"),
                tuple(self(n) for n in m.notes))

    def part(self, p):
        return ("part", p.slug, p.title, p.summary, p.url, self.bodies.key(f"part:{p.slug}"),
                tuple(self(m) for m in p.modules))

    def series(self, s: Series):
        return ("series", s.id, s.title, s.summary, s.url, tuple(s.members), self.bodies.key(f"series:{s.id}"),
                tuple(self(self.site.docs[m]) for m in s.members if m in self.site.docs))

    def __call__(self, obj):
        if obj is None or isinstance(obj, (str, int, float, bool, dt.date)):
            return obj
        if isinstance(obj, Body):
            return ("body", obj.id, self.bodies.key(obj.id))
        if isinstance(obj, (list, tuple)):
            return tuple(self(x) for x in obj)
        if isinstance(obj, dict):
            return tuple((k, self(v)) for k, v in obj.items())
        if callable(obj):  # template helpers: pure functions of the data fingerprinted elsewhere
            return None
        key = id(obj)
        hit = self.memo.get(key)
        if hit is None:
            if isinstance(obj, Doc):
                hit = self.doc(obj)
                self.texts[id(hit)] = repr(hit)
            elif isinstance(obj, Series):
                hit = self.series(obj)
            elif hasattr(obj, "modules"):
                hit = self.part(obj)
            elif hasattr(obj, "notes"):
                hit = self.module(obj)
            else:
                hit = repr(obj)
            self.memo[key] = hit
        return hit


@lru_cache(maxsize=1)
def jinja_env() -> Environment:
    """One environment per process: templates compile once and recompile when their file changes."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, auto_reload=True)
    env.filters["tagslug"] = lambda t: slugify(t) or "tag"
    env.filters["count"] = lambda n, word, plural=None: f"{n} {word if n == 1 else plural or word + 's'}"
    return env


def use_bytecode_cache(folder: Path) -> None:
    """Keep compiled templates in `folder` (Jinja checks each against its template's source)."""
    env = jinja_env()
    if env.bytecode_cache is None or env.bytecode_cache.directory != str(folder):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        env.bytecode_cache = FileSystemBytecodeCache(str(folder))


def plain(text: str) -> str:
    """A summary where HTML cannot go (<meta>): its math as TeX, without the dollar signs."""
    return text.replace("$", "") if text else text


def _unreachable() -> str:
    raise AssertionError("a page kept from the last build was asked to render")


def fmt_date(d: dt.date) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


class Layout:
    def __init__(self, site: Site, bodies, extras: dict[str, dict] | None = None,
                 css: str = "", katex_css: str = "", engine: str = "",
                 search_built: bool = True, summaries: dict[str, str] | None = None,
                 notebooks: dict[str, str] | None = None, changed: dict[str, dt.date] | None = None):
        self.site = site
        self.changed = changed or {}  # doc id -> date its source last changed (history.py)
        self.notebooks = notebooks or {}  # doc id -> output path of its notebook (notebook_export.py)
        # bodies.key(id) / bodies.html(id) for docs, and "part:<slug>", "module:<slug>", "series:<id>"
        self.bodies = bodies
        self.fingerprint = Fingerprint(site, bodies)
        self.extras = extras or {}  # id -> extra context (execution summary, ...)
        cfg = site.config
        self.root = cfg.base_path
        self.env = jinja_env()
        self.summaries = summaries or {}  # summary text with math -> HTML (render stage)
        self.build_date = dt.date.today().isoformat()
        about = site.docs.get("about")
        self.globals = dict(
            site=cfg.site, root=self.root, build_date=self.build_date, fmt_date=fmt_date,
            minutes=lambda d: site.reading_minutes.get(d.id, 1), first_member=self.first_member,
            written_in=lambda m: sum(1 for n in m.notes if n.has_page),
            written_members=lambda ser: sum(1 for i in ser.members if i in site.docs and site.docs[i].has_page),
            part_note_count=lambda p: sum(len(m.notes) for m in p.modules),
            written_ids=lambda mods: [n.id for m in mods for n in m.notes if n.has_page],
            nav_pages=[p for p in site.pages() if p.has_page], asset=lambda n: f"{self.root}assets/{n}",
            about=about if about and about.has_page else None, needs_math=False, current_id="",
            description=cfg.site["description"], css=css, katex_css=katex_css,
            search_built=search_built,
            has_results=RESULTS in site.intros, has_notation=NOTATION in site.intros,
            summary=lambda text: Markup(self.summaries[text]) if text in self.summaries else text,
            has_bibliography=BIBLIOGRAPHY in site.intros,
            # sections a site without them does not get (no empty page, no navigation entry)
            has_series=bool(site.series), has_journal=any(d.kind == "article" for d in site.docs.values()),
            has_map=bool(site.modules) and any(d.prerequisites for d in site.docs.values()),
        )
        data_globals = {k: v for k, v in self.globals.items() if not callable(v)}
        self.globals_key = digest(engine, cfg.site, sorted(cfg.build.items()), self.fingerprint(data_globals),
                                  sorted(self.summaries.items()))

    @property
    def prereq_graph(self) -> dict[str, list[str]]:
        if not hasattr(self, "_graph"):
            self._graph = {d.id: [p for p in d.prerequisites if p in self.site.docs] for d in self.site.docs.values()}
        return self._graph

    def first_member(self, s: Series) -> Doc | None:
        for m in s.members:
            d = self.site.docs.get(m)
            if d and d.has_page:
                return d
        return None

    def _render(self, template: str, out: str, **ctx) -> Page:
        url = out[: -len("index.html")] if out.endswith("index.html") else out
        ctx.setdefault("page_title", self.site.config.site["title"])
        ctx.setdefault("canonical", self.site.config.site["base_url"].rstrip("/") + "/" + url)
        key = digest(self.globals_key, template, out, self.fingerprint(ctx))
        return Page(out, key, lambda: self.env.get_template(template).render(**{**self.globals, **ctx}))

    def _title(self, t: str) -> str:
        return f"{t} · {self.site.config.site['title']}"

    def structure_key(self) -> str:
        """A hash of everything pages read except documents' own bodies: when it is unchanged since the
        last build, only the pages of documents whose body changed can differ."""
        s, fp = self.site, self.fingerprint
        text = fp.text
        return digest(self.globals_key, text(fp(s.parts)).encode(),
                      ("[" + ", ".join([text(fp(d)) for d in s.docs.values()]) + "]").encode(),
                      text(fp(list(s.series.values()))).encode(),
                      sorted((k, tuple(v)) for k, v in s.backlinks.items()), sorted(self.extras.items()),
                      sorted(self.notebooks.items()), sorted((i, d.isoformat()) for i, d in self.changed.items()),
                      sorted((t, tuple(d.id for d in docs)) for t, docs in s.tags.items()),
                      [(i, self.bodies.key(i)) for i in sorted(s.intros)])

    def all_pages(self, reuse: dict[str, str] | None = None, changed_docs: set[str] = frozenset()) -> list[Page]:
        """Every page. With `reuse` (path -> key of the last build, passed when the structure key is
        unchanged), pages other than those of `changed_docs` keep their last key without building a context."""
        s = self.site
        if reuse is not None:
            pages = []
            for path, key in reuse.items():
                if path.endswith(".html"):
                    pages.append(Page(path, key, _unreachable))
            doc_pages = {d.url + "index.html": d for d in s.docs.values() if d.has_page}
            fresh = {d.url + "index.html" for i, d in s.docs.items() if i in changed_docs and d.has_page}
            if set(doc_pages) <= {p.path for p in pages} | fresh:  # no page appeared: patch the changed ones
                pages = [p for p in pages if p.path not in fresh] + [self.doc(doc_pages[p]) for p in sorted(fresh)]
                return pages
        pages = [self.home(), *[self.part(p) for p in s.parts], *[self.module(m) for m in s.modules]]
        pages += [self.doc(d) for d in s.docs.values() if d.has_page]
        g = self.globals
        if g["has_series"]:
            pages += [self.series_index(), *[self.series(x) for x in s.series.values()]]
        if g["has_journal"]:
            pages += [self.journal(), self.essays()]
        pages += [self.tags(), *[self.tag(t) for t in s.tags]]
        from neuralpath.layout.curriculum_map import render_map
        if g["has_map"]:
            pages.append(self._render("map.html", "map/index.html", page_kind="map", svg=Markup(render_map(s, self.root)),
                                      page_title=self._title("Curriculum map")))
        if RESULTS in s.intros:
            pages.append(self._render("index_page.html", "results/index.html", page_kind="results",
                                      body=Body(self.bodies, RESULTS), heading="Results", needs_math=True,
                                      lede="Every definition and every named theorem, lemma, proposition and "
                                           "corollary, by part and module.", page_title=self._title("Results")))
        if NOTATION in s.intros:
            pages.append(self._render("index_page.html", "notation/index.html", page_kind="notation",
                                      body=Body(self.bodies, NOTATION), heading="Notation", needs_math=True,
                                      lede="Every symbol the notes define in their notation tables, with what it "
                                           "means in each note.", page_title=self._title("Notation")))
        if BIBLIOGRAPHY in s.intros:
            pages.append(self._render("index_page.html", "bibliography/index.html", page_kind="bibliography",
                                      body=Body(self.bodies, BIBLIOGRAPHY), heading="Bibliography",
                                      needs_math=False, lede="Every work the notes cite or recommend, by author "
                                      "and year, with the notes that cite it.", page_title=self._title("Bibliography")))
        pages.append(self._render("search.html", "search/index.html", page_kind="search", page_title=self._title("Search")))
        pages.append(self._render("404.html", "404.html", page_kind="404", page_title=self._title("Page not found")))
        return pages

    def counts(self) -> dict:
        notes = self.site.notes()
        written = sum(1 for n in notes if n.has_page)
        return dict(notes=len(notes), written=written, planned=len(notes) - written,
                    modules=len(self.site.modules), parts=len(self.site.parts))

    def home(self) -> Page:
        s = self.site
        return self._render("home.html", "index.html", page_kind="home", parts=s.parts, counts=self.counts(),
                            series=list(s.series.values()), latest=[a for a in s.articles() if a.has_page][:6],
                            page_title=f"{s.config.site['title']}" + (f" — {s.config.site['tagline']}" if s.config.site['tagline'] else ""))

    def part(self, part) -> Page:
        return self._render("part.html", part.url + "index.html", page_kind="part", part=part,
                            body=Body(self.bodies, f"part:{part.slug}"), page_title=self._title(part.title),
                            description=plain(part.summary) or self.site.config.site["description"])

    def module(self, m) -> Page:
        return self._render("module.html", m.url + "index.html", page_kind="module", module=m,
                            body=Body(self.bodies, f"module:{m.slug}"),
                            page_title=self._title(f"{m.label}: {m.title}"),
                            description=plain(m.summary) or self.site.config.site["description"])

    def doc(self, d: Doc) -> Page:
        s = self.site
        parsed = s.parsed.get(d.id)
        toc = [(lvl, hid, text) for (lvl, hid, text, _) in (parsed.headings if parsed else []) if lvl in (2, 3)]
        prev, nxt = s.neighbours(d)
        series_nav = []
        for ser, pos in s.series_of.get(d.id, []):
            members = [s.docs[m] for m in ser.members if m in s.docs]
            written = [m for m in members if m.has_page]
            i = written.index(d) if d in written else -1
            series_nav.append(dict(series=ser, pos=pos + 1, total=len(ser.members),
                                   prev=written[i - 1] if i > 0 else None,
                                   next=written[i + 1] if 0 <= i < len(written) - 1 else None))
        extra = self.extras.get(d.id, {})
        return self._render(
            "doc.html", d.url + "index.html", page_kind=d.kind, doc=d, body=Body(self.bodies, d.id),
            toc=toc if len(toc) >= 2 else [], prev=prev, next=nxt, series_nav=series_nav,
            prerequisites=[s.docs[p] for p in d.prerequisites if p in s.docs],
            study_order=[s.docs[i] for i in nearest_prerequisites(self.prereq_graph, d.id)] if d.prerequisites else [],
            backlinks=[s.docs[b] for b in s.backlinks.get(d.id, []) if s.docs[b].has_page],
            minutes=s.reading_minutes.get(d.id, 1), page_title=self._title(d.title), current_id=d.id,
            description=plain(d.summary) or s.config.site["description"],
            needs_math=bool(parsed and (parsed.display_math or parsed.inline_math)),
            exec_summary=extra.get("summary", ""), skipped=extra.get("skipped", False),
            missing_vars=extra.get("missing", []),
            notebook_url=f"{self.root}{self.notebooks[d.id]}" if d.id in self.notebooks else "",
            changed=self.changed.get(d.id), report_url=self.report_url(d))

    def report_url(self, d: Doc) -> str:
        """[site] report_error_url with the document's {path}, {id}, {title} and {url} filled in, or ""."""
        template = self.site.config.site.get("report_error_url", "")
        if not template:
            return ""
        cfg = self.site.config
        try:
            path = d.source.path.resolve().relative_to(cfg.root).as_posix()
        except ValueError:
            path = d.source.path.name
        values = dict(path=path, id=d.id, title=d.title, url=cfg.site["base_url"].rstrip("/") + "/" + d.url)
        return template.format_map({k: quote(v, safe="") for k, v in values.items()})

    def series_index(self) -> Page:
        return self._render("series_index.html", "series/index.html", page_kind="series-index",
                            series=list(self.site.series.values()), page_title=self._title("Series"))

    def series(self, ser: Series) -> Page:
        members = [self.site.docs[m] for m in ser.members if m in self.site.docs]
        return self._render("series.html", ser.url + "index.html", page_kind="series", series=ser, members=members,
                            body=Body(self.bodies, f"series:{ser.id}"), page_title=self._title(ser.title),
                            description=plain(ser.summary))

    def journal(self) -> Page:
        # the dated stream holds what can be read; planned entries go under "Coming", without dates
        arts = self.site.articles()
        readable = [a for a in arts if a.has_page]
        by_year = [(y, list(items)) for y, items in groupby(readable, key=lambda a: a.date.year if a.date else 0)]
        coming = sorted((a for a in arts if not a.has_page), key=lambda a: a.title.lower())
        return self._render("journal.html", "journal/index.html", page_kind="journal", by_year=by_year,
                            coming=coming, page_title=self._title("Journal"))

    def essays(self) -> Page:
        arts = self.site.articles()
        written = [a for a in arts if a.has_page]
        return self._render("essays.html", "essays/index.html", page_kind="essays",
                            articles=written + [a for a in arts if not a.has_page], written=len(written),
                            page_title=self._title("Every essay"))

    def tags(self) -> Page:
        tags = sorted(self.site.tags.items())
        return self._render("tags.html", "tags/index.html", page_kind="tags", tags=tags, tag=None, docs=[],
                            page_title=self._title("Tags"))

    def tag(self, t: str) -> Page:
        return self._render("tags.html", f"tags/{slugify(t) or 'tag'}/index.html", page_kind="tag", tags=[], tag=t,
                            docs=self.site.tags[t], page_title=self._title(f"Tagged {t}"))
