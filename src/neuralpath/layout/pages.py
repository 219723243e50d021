"""Page contexts for every page type, rendered with Jinja2. Returns (output path, HTML) pairs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from neuralpath.content.loader import slugify
from neuralpath.content.model import Doc, Series
from neuralpath.graph import Site, nearest_prerequisites

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Page:
    path: str  # output path relative to the site root, e.g. "notes/svd/index.html"
    html: str


@lru_cache(maxsize=1)
def jinja_env() -> Environment:
    """One environment per process: templates compile once and recompile when their file changes."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, auto_reload=True)
    env.filters["tagslug"] = lambda t: slugify(t) or "tag"
    return env


def fmt_date(d: dt.date) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


class Layout:
    def __init__(self, site: Site, bodies: dict[str, str], extras: dict[str, dict] | None = None,
                 css: str = "", katex_css: str = ""):
        self.site = site
        self.bodies = bodies  # id -> rendered HTML (docs, and "part:<slug>", "module:<slug>", "series:<id>")
        self.extras = extras or {}  # id -> extra context (execution summary, ...)
        cfg = site.config
        self.root = cfg.base_path
        self.env = jinja_env()
        self.build_date = dt.date.today().isoformat()
        about = site.docs.get("about")
        self.globals = dict(
            site=cfg.site, root=self.root, build_date=self.build_date, fmt_date=fmt_date,
            minutes=lambda d: site.reading_minutes.get(d.id, 1), first_member=self.first_member,
            written_in=lambda m: sum(1 for n in m.notes if n.has_page),
            part_note_count=lambda p: sum(len(m.notes) for m in p.modules),
            written_ids=lambda mods: [n.id for m in mods for n in m.notes if n.has_page],
            nav_pages=[p for p in site.pages() if p.has_page], asset=lambda n: f"{self.root}assets/{n}",
            about=about if about and about.has_page else None, needs_math=False, current_id="",
            description=cfg.site["description"], inline_css=Markup(css), katex_css=Markup(katex_css),
        )

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
        html = self.env.get_template(template).render(**{**self.globals, **ctx})
        return Page(out, html)

    def _title(self, t: str) -> str:
        return f"{t} · {self.site.config.site['title']}"

    def all_pages(self) -> list[Page]:
        s = self.site
        pages = [self.home(), *[self.part(p) for p in s.parts], *[self.module(m) for m in s.modules]]
        pages += [self.doc(d) for d in s.docs.values() if d.has_page]
        pages += [self.series_index(), *[self.series(x) for x in s.series.values()]]
        pages += [self.journal(), self.essays(), self.tags(), *[self.tag(t) for t in s.tags]]
        from neuralpath.layout.curriculum_map import render_map
        if s.modules:
            pages.append(self._render("map.html", "map/index.html", page_kind="map", svg=Markup(render_map(s, self.root)),
                                      page_title=self._title("Curriculum map")))
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
                            series=list(s.series.values()), latest=s.articles()[:6],
                            page_title=f"{s.config.site['title']}" + (f" — {s.config.site['tagline']}" if s.config.site['tagline'] else ""))

    def part(self, part) -> Page:
        return self._render("part.html", part.url + "index.html", page_kind="part", part=part,
                            body=Markup(self.bodies.get(f"part:{part.slug}", "")), page_title=self._title(part.title),
                            description=part.summary or self.site.config.site["description"])

    def module(self, m) -> Page:
        return self._render("module.html", m.url + "index.html", page_kind="module", module=m,
                            body=Markup(self.bodies.get(f"module:{m.slug}", "")),
                            page_title=self._title(f"{m.label}: {m.title}"),
                            description=m.summary or self.site.config.site["description"])

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
            "doc.html", d.url + "index.html", page_kind=d.kind, doc=d, body=Markup(self.bodies.get(d.id, "")),
            toc=toc if len(toc) >= 2 else [], prev=prev, next=nxt, series_nav=series_nav,
            prerequisites=[s.docs[p] for p in d.prerequisites if p in s.docs],
            study_order=[s.docs[i] for i in nearest_prerequisites(self.prereq_graph, d.id)] if d.prerequisites else [],
            backlinks=[s.docs[b] for b in s.backlinks.get(d.id, []) if s.docs[b].has_page],
            minutes=s.reading_minutes.get(d.id, 1), page_title=self._title(d.title), current_id=d.id,
            description=d.summary or s.config.site["description"],
            needs_math=bool(parsed and (parsed.display_math or "katex" in self.bodies.get(d.id, ""))),
            exec_summary=extra.get("summary", ""), skipped=extra.get("skipped", False),
            missing_vars=extra.get("missing", []))

    def series_index(self) -> Page:
        return self._render("series_index.html", "series/index.html", page_kind="series-index",
                            series=list(self.site.series.values()), page_title=self._title("Series"))

    def series(self, ser: Series) -> Page:
        members = [self.site.docs[m] for m in ser.members if m in self.site.docs]
        return self._render("series.html", ser.url + "index.html", page_kind="series", series=ser, members=members,
                            body=Markup(self.bodies.get(f"series:{ser.id}", "")), page_title=self._title(ser.title),
                            description=ser.summary)

    def journal(self) -> Page:
        arts = self.site.articles()
        by_year = [(y, list(items)) for y, items in groupby(arts, key=lambda a: a.date.year if a.date else 0)]
        return self._render("journal.html", "journal/index.html", page_kind="journal", by_year=by_year,
                            page_title=self._title("Journal"))

    def essays(self) -> Page:
        return self._render("essays.html", "essays/index.html", page_kind="essays", articles=self.site.articles(),
                            page_title=self._title("Every essay"))

    def tags(self) -> Page:
        tags = sorted(self.site.tags.items())
        return self._render("tags.html", "tags/index.html", page_kind="tags", tags=tags, tag=None, docs=[],
                            page_title=self._title("Tags"))

    def tag(self, t: str) -> Page:
        return self._render("tags.html", f"tags/{slugify(t) or 'tag'}/index.html", page_kind="tag", tags=[], tag=t,
                            docs=self.site.tags[t], page_title=self._title(f"Tagged {t}"))
