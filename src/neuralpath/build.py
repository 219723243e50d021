"""The build pipeline, one stage after the other:

load (files -> records) -> parse -> resolve (graph, located errors) -> execute (code in notes)
-> render (Markdown + math -> HTML) -> layout (templates) -> write (atomic swap, sitemap, feed).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from neuralpath.cache import BuildCache, digest
from neuralpath.config import Config, load_config
from neuralpath.content.loader import load_content
from neuralpath.content.model import Doc
from neuralpath.errors import BuildFailed, Report
from neuralpath.graph import Site, resolve
from neuralpath.layout.pages import Layout
from neuralpath.markdown.highlight import pygments_css
from neuralpath.markdown.katex import Katex, katex_dir
from neuralpath.markdown.parser import create_markdown, parse_document
from neuralpath.markdown.render import RenderContext, install_rules, math_requests, render_tokens
from neuralpath.write import Staging, atom_feed, check_output_dir, robots, sitemap

STATIC = Path(__file__).parent / "layout" / "static"


@dataclass
class BuildOptions:
    output: Path | None = None
    drafts: bool = False
    execute: bool = True
    rerun: bool = False
    keep_going: bool = False
    write: bool = True  # False for `check`: run every stage but write nothing
    clean: bool = False  # ignore caches (parsed notes, rendered math and bodies); code results too with rerun
    cache: BuildCache | None = None  # the dev server passes one to keep between rebuilds
    search: bool = True  # build the Pagefind index when pagefind is installed
    reuse_search: bool = False  # without search: carry the previous output's index over (dev server)
    progress: object = None  # callable(str) for stage lines, or None
    persist: bool = True  # save the cache under .neuralpath/ (the dev server keeps it in memory)


@dataclass
class BuildResult:
    report: Report
    site: Site | None = None
    output: Path | None = None
    pages: int = 0
    seconds: float = 0.0
    stats: dict = field(default_factory=dict)


class Builder:
    def __init__(self, root: Path, options: BuildOptions | None = None):
        self.root = Path(root).resolve()
        self.options = options or BuildOptions()
        self.report = Report(self.root)

    def run(self) -> BuildResult:
        t0 = time.perf_counter()
        report = self.report
        config = load_config(self.root, report)
        out = (self.options.output or config.output_dir).resolve()
        if self.options.write:
            check_output_dir(out, config.content_dir, config.root)
        cache = self.options.cache
        if cache is None:
            cache = BuildCache() if self.options.clean else BuildCache.load(config.cache_dir)
        elif self.options.clean:
            cache.__init__()
        self.cache = cache
        say = self.options.progress or (lambda msg: None)
        content = load_content(config, report, drafts=self.options.drafts)
        say(f"loaded {len(content.docs)} documents in {len(content.modules)} modules")
        md = install_rules(create_markdown(allow_html=True))
        parsed = {}
        stats = {"parsed": 0, "bodies_rendered": 0}
        for doc in content.docs:
            if doc.has_page and doc.id not in parsed:
                key = digest(doc.source.body, doc.source.body_line)
                hit = cache.parsed.get(str(doc.source.path))
                if hit and hit[0] == key:
                    p = hit[1]
                else:
                    p = parse_document(md, doc.source.body, doc.source.body_line)
                    cache.parsed[str(doc.source.path)] = (key, p)
                    stats["parsed"] += 1
                parsed[doc.id] = p
                for line, message, rule in p.warnings:
                    add = report.error if rule == "duplicate-label" else report.warning
                    add(doc.source.path, line, message, rule=rule)
        site = resolve(config, content, parsed, report)
        self._check_images(site, report)
        outputs, extras = self._execute(site, config)
        ex = getattr(site, "exec_stats", {})
        if ex:
            say(f"code: {ex.get('executed', 0)} notes executed, {ex.get('cached', 0)} from cache, "
                f"{ex.get('skipped', 0)} skipped for missing environment variables")
        katex = Katex(config.macros)
        katex.cache = cache.math
        bodies = self._render_bodies(site, md, katex, outputs, stats)
        say(f"rendered {stats['bodies_rendered']} bodies ({katex.rendered} new equations)")
        result = BuildResult(report=report, site=site, output=out)
        result.stats = {"math_rendered": katex.rendered, "docs": len(parsed), **stats, **ex}
        if report.errors:
            raise BuildFailed(report)
        layout = Layout(site, bodies, extras, css=site_css(), katex_css=katex_css(config.base_path))
        pages = layout.all_pages()
        result.pages = len(pages)
        if self.options.write:
            written, linked = self._write(site, config, pages, bodies, out)
            result.stats.update(written=written, linked=linked)
            say(f"wrote {written} files, kept {linked} unchanged")
            try:
                if self.options.persist:
                    cache.save(config.cache_dir)
            except OSError as e:
                report.warning(config.cache_dir, 1, f"could not save the build cache: {e.strerror}", rule="cache")
        result.seconds = time.perf_counter() - t0
        return result

    # -- execute -------------------------------------------------------------------------------
    def _execute(self, site: Site, config: Config) -> tuple[dict[str, dict[int, str]], dict[str, dict]]:
        from neuralpath.execute import execute_site
        return execute_site(site, config, self.report, enabled=self.options.execute and config.build["execute"],
                            rerun=self.options.rerun, keep_going=self.options.keep_going)

    # -- render --------------------------------------------------------------------------------
    def _asset_resolver(self, doc: Doc, site: Site, copies: dict[str, Path]):
        content_root = site.config.content_dir
        folder = doc.source.path.parent

        def asset_url(src: str, line_rel: int) -> str | None:
            line = doc.source.body_line + line_rel
            parsed = urlparse(src)
            if parsed.scheme in ("http", "https"):
                self.report.warning(doc.source.path, line, f"image {src} is loaded from another site; "
                                    "put the file beside the note so the site stays self-contained",
                                    rule="external-image")
                return src
            if parsed.scheme == "data":
                return src
            if parsed.scheme or src.startswith("/") or "\\" in src:
                self.report.error(doc.source.path, line, f"image path '{src}' must be relative to the note "
                                  "(absolute paths and file: URLs are refused)", rule="image-path")
                return None
            target = (folder / unquote(parsed.path)).resolve()
            if content_root not in target.parents:
                self.report.error(doc.source.path, line, f"image path '{src}' points outside the content folder; "
                                  "it was not copied", rule="image-path")
                return None
            if not target.is_file():
                self.report.error(doc.source.path, line, f"image '{src}' does not exist "
                                  f"(looked for {self.report._rel(target)})", rule="missing-image")
                return None
            rel = target.relative_to(content_root).as_posix()
            copies[f"assets/content/{rel}"] = target
            return f"{site.config.base_path}assets/content/{rel}"

        return asset_url

    def _render_bodies(self, site: Site, md, katex: Katex, outputs: dict[str, dict[int, str]],
                       stats: dict) -> dict[str, str]:
        self.copies: dict[str, Path] = {}
        bodies: dict[str, str] = {}
        allow = site.config.build["allow_raw_html"]
        link = self._link_resolver(site)
        fixed = (katex.version, katex.macros_json, allow, site.config.base_path)

        def ctx_for(doc: Doc | None, source, resolve_label, asset_url, outs=None, report=None) -> RenderContext:
            return RenderContext(
                path=source.path, body_line=source.body_line, report=report or self.report, katex=katex,
                resolve_link=link, resolve_label=resolve_label,
                outputs=outs or {}, asset_url=asset_url, allow_raw_html=allow,
                source_lines=source.body.split("\n"))

        todo = []
        for doc_id, parsed in site.parsed.items():
            doc = site.docs.get(doc_id)
            if doc is None:
                continue
            label = (lambda lab, d=doc: site.resolve_label(d, lab))
            assets = self._asset_resolver(doc, site, self.copies)
            outs = outputs.get(doc_id) or {}
            src_key = self.cache.parsed.get(str(doc.source.path), (doc.source.body,))[0]
            key = digest(fixed, src_key,
                         [(t, a, link(t, a)) for t, a, _ in parsed.links],
                         [(lab, label(lab)) for lab, _ in parsed.eqrefs],
                         [(src, assets(src, 0) if not src.startswith(("http:", "https:")) else src)
                          for src, _, _ in parsed.images],
                         sorted(outs.items()))
            hit = self.cache.bodies.get(doc_id)
            if hit and hit[0] == key:
                bodies[doc_id] = hit[1]
                self.report.findings.extend(hit[2])
                continue
            sub = Report(self.report.root)
            todo.append((doc_id, parsed, key, sub, ctx_for(doc, doc.source, label, assets, outs, report=sub)))
        for doc_id, parsed, _key, _sub, _ctx in todo:
            if parsed.tokens is None:  # tokens are not kept between builds: parse again to render
                doc = site.docs[doc_id]
                parsed.tokens = parse_document(md, doc.source.body, doc.source.body_line).tokens
        katex.prerender(req for _, parsed, _, _, ctx in todo for req in math_requests(parsed.tokens, ctx))
        for doc_id, parsed, key, sub, ctx in todo:
            bodies[doc_id] = html = render_tokens(md, parsed.tokens, ctx)
            parsed.tokens = None  # free them: memory stays bounded by one document's tokens at a time
            self.report.findings.extend(sub.findings)
            stats["bodies_rendered"] += 1
            if not sub.errors:
                self.cache.bodies[doc_id] = (key, html, list(sub.findings))
        no_labels = lambda label: None
        for key, src in ([(f"part:{p.slug}", p.source) for p in site.parts] +
                         [(f"module:{m.slug}", m.source) for m in site.modules] +
                         [(f"series:{s.id}", s.source) for s in site.series.values()]):
            if src.body.strip():
                p = parse_document(md, src.body, src.body_line)
                bodies[key] = render_tokens(md, p.tokens, ctx_for(None, src, no_labels, lambda s, l: s))
        return bodies

    def _link_resolver(self, site: Site):
        base = site.config.base_path

        def resolve_link(target: str, anchor: str):
            doc = site.docs.get(target)
            if doc is None:
                return None
            if doc.has_page:
                return base + doc.url + (f"#{anchor}" if anchor else ""), doc.title, True, doc.summary
            if doc.module is not None:
                return f"{base}{doc.module.url}#note-{doc.id}", doc.title, False, doc.summary
            return base, doc.title, False, doc.summary

        return resolve_link

    def _check_images(self, site: Site, report: Report) -> None:
        for doc_id, parsed in site.parsed.items():
            doc = site.docs[doc_id] if doc_id in site.docs else None
            if doc is None:
                continue
            for src, alt, line in parsed.images:
                if not alt.strip():
                    report.warning(doc.source.path, line, f"image '{src}' has no alt text: write ![what it shows]({src})",
                                   rule="image-alt")

    # -- write ---------------------------------------------------------------------------------
    def _write(self, site: Site, config: Config, pages, bodies: dict[str, str], out: Path) -> tuple[int, int]:
        staging = Staging(out, previous=self.cache.pages if self.cache.output == str(out) else {})
        try:
            for page in pages:
                staging.write(page.path, page.html)
            for rel, src in self.copies.items():
                staging.copy(src, rel)
            for rel, svg in getattr(site, "exec_files", {}).items():
                staging.write(rel, svg)
            staging.write("assets/site.css", site_css())
            for f in STATIC.iterdir():
                if f.name != "site.css" and f.is_file():
                    staging.copy(f, f"assets/{f.name}")
            kd = katex_dir()
            staging.copy(kd / "katex.min.css", "assets/katex/katex.min.css")
            fonts = kd / "fonts"
            for font in fonts.iterdir():
                if font.suffix == ".woff2":
                    staging.copy(font, f"assets/katex/fonts/{font.name}")
            urls = [p.path[: -len("index.html")] for p in pages if p.path.endswith("index.html")]
            staging.write("sitemap.xml", sitemap(config.site["base_url"], urls))
            staging.write("robots.txt", robots(config.site["base_url"]))
            arts = [(d, bodies.get(d.id, "")) for d in site.articles() if d.has_page]
            staging.write("feed.xml", atom_feed(config.site, arts))
            html_changed = any(rel.endswith(".html") and staging.previous.get(rel) != h
                               for rel, h in staging.hashes.items()) or set(staging.previous) != set(staging.hashes)
            have_index = (out / "pagefind" / "pagefind-entry.json").is_file()
            if self.options.search and (html_changed or not have_index):
                self._search_index(staging)
            elif (self.options.search or self.options.reuse_search) and have_index:
                staging.link_tree(out / "pagefind", "pagefind")  # no page changed: the index still holds
            staging.commit()
        except BaseException:
            staging.discard()
            raise
        self.cache.pages = staging.hashes
        self.cache.output = str(out)
        return staging.written, staging.linked

    def _search_index(self, staging: Staging) -> None:
        from neuralpath.search import build_index
        build_index(staging, self.report, self.options.progress)


def site_css() -> str:
    return (STATIC / "site.css").read_text(encoding="utf-8") + "\n/* Pygments */\n" + pygments_css()


def katex_css(base_path: str) -> str:
    """KaTeX's stylesheet for inlining: font URLs made absolute, and only the woff2 sources kept
    (every browser that runs this site reads woff2; the woff/ttf fallbacks only add bytes)."""
    css = (katex_dir() / "katex.min.css").read_text(encoding="utf-8")
    css = re.sub(r',url\(fonts/[^)]+\.woff\) format\("woff"\),url\(fonts/[^)]+\.ttf\) format\("truetype"\)', "", css)
    return css.replace("url(fonts/", f"url({base_path}assets/katex/fonts/")


def build(root: Path, options: BuildOptions | None = None) -> BuildResult:
    return Builder(root, options).run()
