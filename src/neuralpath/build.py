"""The build pipeline, one stage after the other:

load (files -> records) -> parse -> resolve (graph, located errors) -> execute (code in notes)
-> render (Markdown + math -> HTML) -> layout (templates) -> write (atomic swap, sitemap, feed).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

from neuralpath.cache import ENGINE, BuildCache, digest, pack, pack_bytes, pack_math, unpack_bytes
from neuralpath.config import Config, load_config
from neuralpath.content import frontmatter
from neuralpath.content.loader import load_content
from neuralpath.content.model import Doc
from neuralpath.errors import BuildFailed, Report, UsageError
from neuralpath.graph import Site, resolve
from neuralpath.layout.pages import Layout, jinja_env, use_bytecode_cache
from neuralpath.markdown import highlight as highlight_module
from neuralpath.markdown import katex as katex_module
from neuralpath.markdown.highlight import pygments_css
from neuralpath.markdown.katex import Katex, katex_dir
from neuralpath.markdown.parser import create_markdown, freeze_tokens, parse_document, thaw_tokens
from neuralpath.markdown.render import RenderContext, install_rules, math_requests, render_tokens
from neuralpath.search import IndexJob, pagefind_available, plan_shards, search_records, shard_dir
from neuralpath.write import MARKER, Output, as_recorded, atom_feed, check_output_dir, recover, robots, sitemap

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
    cache: BuildCache | None = None  # a cache to use instead of .neuralpath/build-cache.sqlite (tests)
    search: bool = True  # build the Pagefind index when pagefind is installed
    reuse_search: bool = False  # without search: carry the previous output's index over (dev server)
    progress: object = None  # a Progress (see progress.py), or None
    jobs: int = 0  # worker processes for parsing, math, bodies and pages; 0 = one per core


@dataclass
class BuildResult:
    report: Report
    site: Site | None = None
    output: Path | None = None
    pages: int = 0
    seconds: float = 0.0
    stats: dict = field(default_factory=dict)


class Bodies:
    """Rendered bodies by id: documents' from the cache (read when a page is rendered, so a build holds
    one body at a time), part/module/series introductions in memory."""

    def __init__(self, cache: BuildCache):
        self.cache = cache
        self.keys: dict[str, str] = {}
        self.small: dict[str, str] = {}

    def key(self, body_id: str) -> str:
        return self.keys.get(body_id, "")

    def html(self, body_id: str) -> str:
        if body_id in self.small:
            return self.small[body_id]
        return self.cache.body_html(body_id) if body_id in self.keys else ""

    def search(self, body_id: str) -> str:
        return self.cache.body_search(body_id) if body_id in self.keys else ""


class Builder:
    def __init__(self, root: Path, options: BuildOptions | None = None):
        self.root = Path(root).resolve()
        self.options = options or BuildOptions()
        self.report = Report(self.root)
        self.progress = self.options.progress

    def say(self, msg: str) -> None:
        if self.progress is not None:
            self.progress.line(msg)

    def run(self) -> BuildResult:
        t0 = time.perf_counter()
        report = self.report
        opts = self.options
        if not self.root.is_dir():  # a mistyped path must not turn into a new, empty site
            raise UsageError(f"{self.root}: no such folder; give the site folder (the one with neuralpath.toml) "
                             "or a folder of Markdown notes")
        config = load_config(self.root, report)
        out = (opts.output or config.output_dir).resolve()
        if opts.write:
            check_output_dir(out, config.content_dir, config.root)
            recover(out)
        cache = opts.cache if opts.cache is not None else BuildCache.load(config.cache_dir)
        if opts.clean:
            cache.clear()
        self.cache = cache
        highlight_module.STORE = cache.code
        if cache.path is not None:  # compiled templates kept beside the cache: ~0.1 s less per build
            use_bytecode_cache(cache.path.parent / "templates")
        try:
            return self._run(config, out, t0)
        finally:
            highlight_module.STORE = None
            try:
                cache.save()
            except Exception as e:  # noqa: BLE001 - a cache that cannot be saved costs time, not correctness
                report.warning(config.cache_dir, 1, f"could not save the build cache: {e}", rule="cache")

    def _manifest(self, config: Config) -> str:
        """Everything a build reads, by size and mtime: when it matches the last build, nothing changed."""
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
        env = {v: bool(os.environ.get(v)) for v in self.cache.get_meta("env_vars", [])}
        o = self.options
        return digest(ENGINE, dt.date.today().isoformat(), cfg_state, files, env, o.drafts, o.execute,
                      o.search, o.reuse_search, str(o.output))

    def _nothing_changed(self, manifest: str, out: Path) -> bool:
        if self.options.rerun or self.cache.get_meta("manifest") != manifest:
            return False
        return (out / MARKER).is_file() and as_recorded(out, self.cache.pages(str(out)))

    def _run(self, config: Config, out: Path, t0: float) -> BuildResult:
        report, cache, opts = self.report, self.cache, self.options
        stats = {"parsed": 0, "bodies_rendered": 0, "math_rendered": 0, "written": 0, "kept": 0}
        result = BuildResult(report=report, output=out, stats=stats)
        manifest = self._manifest(config) if opts.write else None
        if opts.write and self._nothing_changed(manifest, out):
            report.findings.extend(cache.get_meta("findings", []))
            result.pages = cache.get_meta("page_count", 0)
            result.stats.update(docs=cache.get_meta("doc_count", 0), kept=len(cache.pages(str(out))),
                                unchanged=True)
            self.say("nothing changed since the last build")
            result.seconds = time.perf_counter() - t0
            return result
        content = self._load(config)
        self.say(f"loaded {len(content.docs)} documents in {len(content.modules)} modules")
        md = install_rules(create_markdown(allow_html=True))
        parsed = self._parse(content.docs, md, stats)
        site = resolve(config, content, parsed, report)
        result.site = site
        self._check_images(site, report)
        outputs, extras = self._execute(site, config)
        ex = getattr(site, "exec_stats", {})
        if ex:
            self.say(f"code: {ex.get('executed', 0)} notes executed, {ex.get('cached', 0)} from cache, "
                     f"{ex.get('skipped', 0)} skipped for missing environment variables")
        katex = Katex(config.macros)
        katex.cache = cache.math
        bodies = self._render_bodies(site, md, katex, outputs, stats)
        self.say(f"rendered {stats['bodies_rendered']} bodies ({stats['math_rendered']} new equations)")
        stats.update(docs=len(parsed), **ex)
        if report.errors:
            raise BuildFailed(report)
        sheets = stylesheets(cache)
        self.shards, self.shard_docs = plan_shards([d for d in site.docs.values() if d.has_page],
                                                   config.build["search_shard_size"])
        used = sorted(self.shard_docs) or [0]
        layout = Layout(site, bodies, extras, css=sheets["css"][0], katex_css=sheets["katex_css"][0], engine=ENGINE,
                        search_base=f"{config.base_path}{shard_dir(used[0])}/",
                        search_merge=" ".join(f"{config.base_path}{shard_dir(i)}/" for i in used[1:]))
        structure = layout.structure_key()
        reuse = None
        if opts.write and not opts.clean and cache.get_meta(f"structure:{out}") == structure:
            previous = cache.pages(str(out))
            if as_recorded(out, previous, ".html"):  # a page changed by hand is rendered again: full path
                reuse = {path: key for path, (key, _, _) in previous.items()}
        pages = layout.all_pages(reuse, self.rendered_ids)
        result.pages = len(pages)
        if opts.write:
            self._write(site, config, layout, pages, bodies, out, sheets, stats)
            self.say(f"wrote {stats['written']} files, kept {stats['kept']} unchanged")
            env_vars = sorted({v for d in site.docs.values() for v in d.all_requires})
            cache.set_meta("env_vars", env_vars)
            cache.set_meta(f"structure:{out}", structure)
            cache.set_meta("manifest", self._manifest(config) if env_vars else manifest)
            cache.set_meta("findings", list(report.findings))
            cache.set_meta("page_count", len(pages))
            cache.set_meta("doc_count", len(parsed))
        result.seconds = time.perf_counter() - t0
        return result

    # -- load ----------------------------------------------------------------------------------
    def _load(self, config: Config):
        """Load the content; files unchanged since the last build (size and mtime) are not read, their
        front matter comes from the cache; what was read is stored for the next build."""
        cache = self.cache
        stored = cache.source_entries()
        frontmatter.YAML_MEMO, frontmatter.STORED = cache.yaml, stored
        frontmatter.FRESH.clear()
        frontmatter.SEEN.clear()
        try:
            content = load_content(config, self.report, drafts=self.options.drafts)
        finally:
            frontmatter.YAML_MEMO = frontmatter.STORED = None
        cache.put_sources([(str(p), size, mtime, frontmatter.stored_form(src))
                           for p, size, mtime, src in frontmatter.FRESH])
        cache.drop_sources([p for p in stored if p not in frontmatter.SEEN])
        frontmatter.FRESH.clear()
        frontmatter.SEEN.clear()
        return content

    # -- parse ---------------------------------------------------------------------------------
    def _parse(self, docs: list[Doc], md, stats: dict) -> dict:
        """Parsed documents by id, from the cache or parsed now: across processes when there are many
        (the workers send back what the parse found and the token tree frozen and compressed, which the
        render workers thaw: `self.frozen`), else here, keeping token trees for rendering up to a memory
        budget."""
        cache = self.cache
        self.source_keys: dict[str, str] = {}
        self.math_wanted: set[tuple[str, bool]] = set()  # math of newly parsed documents, for one batch
        self.math_docs: set[str] = set()
        self.frozen: dict[str, bytes] = {}  # doc id -> token tree from a parse worker (about 8 KB a note)
        parsed, todo = {}, []
        stored = cache.parsed_entries()
        for doc in docs:
            if doc.has_page and doc.id not in self.source_keys:
                key = self.source_keys[doc.id] = doc.source.key
                hit = stored.get(str(doc.source.path))
                parsed[doc.id] = cache.load_parsed(hit[1]) if hit and hit[0] == key else None
                if parsed[doc.id] is None:
                    todo.append(doc)
        if self._can_fork(len(todo)):
            global _PARSE
            _PARSE = (md, {d.id: d for d in todo})
            chunks = [[d.id for d in todo[i:i + 16]] for i in range(0, len(todo), 16)]
            try:
                with self._fork_pool() as pool:
                    for rows in pool.imap_unordered(_parse_chunk, chunks):
                        for doc_id, p, math, frozen in rows:
                            parsed[doc_id] = p
                            self.math_wanted.update(math)
                            if frozen is not None:
                                self.frozen[doc_id] = frozen
            finally:
                _PARSE = None
        else:
            budget = 8_000_000  # characters of source whose token trees stay in memory until rendered
            for doc in todo:
                p = parsed[doc.id] = parse_document(md, doc.source.body, doc.source.body_line)
                self.math_wanted.update(math_requests(p.tokens, None))
                budget -= len(doc.source.body)
                if budget < 0:
                    p.tokens = None  # parsed again when rendered: memory stays bounded on big sites
        for doc in todo:
            cache.put_parsed(str(doc.source.path), self.source_keys[doc.id], parsed[doc.id])
            self.math_docs.add(doc.id)
        stats["parsed"] += len(todo)
        by_id = {d.id: d for d in docs}
        for doc_id, p in parsed.items():
            for line, message, rule in p.warnings:
                add = self.report.error if rule == "duplicate-label" else self.report.warning
                add(by_id[doc_id].source.path, line, message, rule=rule)
        cache.save()
        return parsed

    def _jobs(self) -> int:
        return self.options.jobs or os.cpu_count() or 1

    def _can_fork(self, tasks: int) -> bool:
        """Worth and safe to fork workers: enough work, more than one core, V8 not running in this
        process (its threads do not survive a fork), and a cache on disk the workers can open."""
        return tasks >= 24 and self._jobs() > 1 and not katex_module.V8_STARTED and self.cache.path is not None

    def _fork_pool(self, initializer=None):
        """One worker process per job, forked from this one: workers see what the module globals _JOB,
        _PARSE and _PAGES hold at the fork. Call only when `_can_fork` says so."""
        import multiprocessing  # here: a build that forks nothing does not import it

        return multiprocessing.get_context("fork").Pool(self._jobs(), initializer=initializer)

    # -- execute -------------------------------------------------------------------------------
    def _execute(self, site: Site, config: Config) -> tuple[dict[str, dict[int, str]], dict[str, dict]]:
        from neuralpath.execute import execute_site
        return execute_site(site, config, self.report, enabled=self.options.execute and config.build["execute"],
                            rerun=self.options.rerun, keep_going=self.options.keep_going)

    # -- render --------------------------------------------------------------------------------
    def _asset_resolver(self, doc: Doc, site: Site, copies: dict[str, Path], report: Report):
        content_root = site.config.content_dir
        folder = doc.source.path.parent

        def asset_url(src: str, line_rel: int) -> str | None:
            line = doc.source.body_line + line_rel
            parsed = urlparse(src)
            if parsed.scheme in ("http", "https"):
                report.warning(doc.source.path, line, f"image {src} is loaded from another site; "
                               "put the file beside the note so the site stays self-contained",
                               rule="external-image")
                return src
            if parsed.scheme == "data":
                return src
            if parsed.scheme or src.startswith("/") or "\\" in src:
                report.error(doc.source.path, line, f"image path '{src}' must be relative to the note "
                             "(absolute paths and file: URLs are refused)", rule="image-path")
                return None
            target = (folder / unquote(parsed.path)).resolve()
            if content_root not in target.parents:
                report.error(doc.source.path, line, f"image path '{src}' points outside the content folder; "
                             "it was not copied", rule="image-path")
                return None
            if not target.is_file():
                report.error(doc.source.path, line, f"image '{src}' does not exist "
                             f"(looked for {report.relative(target)})", rule="missing-image")
                return None
            rel = target.relative_to(content_root).as_posix()
            copies[f"assets/content/{rel}"] = target
            return f"{site.config.base_path}assets/content/{rel}"

        return asset_url

    def _render_bodies(self, site: Site, md, katex: Katex, outputs: dict[str, dict[int, str]],
                       stats: dict) -> Bodies:
        self.copies: dict[str, Path] = {}
        self.rendered_ids: set[str] = set()
        bodies = Bodies(self.cache)
        allow = site.config.build["allow_raw_html"]
        link = self._link_resolver(site)
        fixed = (katex.version, katex.macros_json, allow, site.config.base_path)
        quiet = Report(self.report.root)  # the key's image lookups; rendering reports them with their lines
        todo = []
        cached = self.cache.body_entries()
        for doc_id, parsed in site.parsed.items():
            doc = site.docs.get(doc_id)
            if doc is None:
                continue
            own = parsed.labels  # a reference to the note's own label depends on its number only
            outs = outputs.get(doc_id) or {}
            assets = self._asset_resolver(doc, site, self.copies, quiet) if parsed.images else None
            key = digest(fixed, self.source_keys[doc_id],
                         [(t, a, link(t, a)) for t, a, _ in parsed.links],
                         [(lab, own[lab]) if lab in own else (lab, site.resolve_label(doc, lab))
                          for lab, _ in parsed.eqrefs],
                         [(src, assets(src, 0)) for src, _, _ in parsed.images],
                         sorted(outs.items()))
            bodies.keys[doc_id] = key
            hit = cached.get(doc_id)
            if hit and hit[0] == key:
                self._replay_findings(doc_id, hit[1])
                continue
            todo.append((doc_id, key))
        global _JOB
        _JOB = (self, site, md, katex, outputs, link, allow)
        try:
            if self._can_fork(len(todo)):
                self._prerender_math(site, katex, link, todo, stats)
                self.cache.save()  # the worker processes read the math cache through their own connections
                # small chunks: a worker's results (about 0.2 MB of HTML per note) are held twice, pickled
                # and unpickled, until the parent has stored them
                chunks = [todo[i:i + 16] for i in range(0, len(todo), 16)]
                with self._fork_pool(_worker_init) as pool:
                    self._collect(pool.imap_unordered(_render_chunk, chunks), stats, len(todo))
                self.frozen = {}
            else:
                self._collect((_render_chunk(todo[i:i + 100]) for i in range(0, len(todo), 100)), stats, len(todo))
        finally:
            _JOB = None
        no_labels = lambda label: None
        targets = None  # what an introduction's links can show: every document's title, summary and URL
        for key, src in ([(f"part:{p.slug}", p.source) for p in site.parts] +
                         [(f"module:{m.slug}", m.source) for m in site.modules] +
                         [(f"series:{s.id}", s.source) for s in site.series.values()]):
            if src.body.strip():
                if targets is None:
                    targets = digest([(d.id, d.title, d.summary, d.url, d.has_page) for d in site.docs.values()])
                render_key = digest(fixed, src.body, src.body_line, targets)
                hit = self.cache.body_entry(key)
                if hit and hit[0] == render_key:
                    self._replay_findings(key, hit[1])
                    bodies.small[key] = self.cache.body_html(key)
                    bodies.keys[key] = render_key
                    continue
                sub = Report(self.report.root)
                p = parse_document(md, src.body, src.body_line)
                html = render_tokens(md, p.tokens, RenderContext(
                    path=src.path, body_line=src.body_line, report=sub, katex=katex,
                    resolve_link=link, resolve_label=no_labels, asset_url=lambda s, l: s, allow_raw_html=allow,
                    source_lines=src.body.split("\n")))
                self.report.findings.extend(sub.findings)
                if not sub.errors:
                    self.cache.put_body(key, render_key, html, "", sub.findings)
                bodies.small[key] = html
                bodies.keys[key] = render_key
        self._store_fresh(*_fresh_results(katex), stats)
        return bodies

    def _replay_findings(self, body_id: str, has_findings: bool) -> None:
        """A body taken from the cache reports what rendering it reported (warnings such as alt text)."""
        if has_findings:
            self.report.findings.extend(self.cache.body_findings(body_id))

    def _store_fresh(self, math: dict, code: dict, stats: dict) -> None:
        """Store new KaTeX results and highlighted code as rows made by `_fresh_results` (in the worker
        that rendered them)."""
        for k, row in math.items():
            self.cache.math.put(k, row)
        for k, row in code.items():
            self.cache.code.put(k, row)
        stats["math_rendered"] += len(math)

    def _prerender_math(self, site: Site, katex: Katex, link, todo, stats: dict) -> None:
        """Render every distinct expression of the documents to render once, split across processes
        (documents share many expressions; rendering per document would repeat them in each worker)."""
        wanted: dict[str, tuple[str, bool]] = {}
        for tex, display in self.math_wanted:
            if len(tex) <= katex.MAX_TEX:
                wanted.setdefault(katex.key(tex, display), (tex, display))
        for doc_id, _ in todo:  # documents parsed by an earlier build, rendered again (a linked title changed)
            doc, parsed = site.docs[doc_id], site.parsed[doc_id]
            if doc_id in self.math_docs or parsed.tokens is None:
                continue  # already collected, or their worker parses them again and renders their math
            ctx = RenderContext(path=doc.source.path, body_line=doc.source.body_line, report=Report(self.report.root),
                                katex=katex, resolve_link=link,
                                resolve_label=(lambda lab, d=doc: site.resolve_label(d, lab)))
            for tex, display in math_requests(parsed.tokens, ctx):
                if len(tex) <= katex.MAX_TEX:
                    wanted.setdefault(katex.key(tex, display), (tex, display))
        missing = [req for k, req in wanted.items() if k not in katex.cache]
        if not missing:
            return
        task = self.progress.task("rendering math", len(missing)) if self.progress else None
        chunks = [missing[i:i + katex.BATCH] for i in range(0, len(missing), katex.BATCH)]
        with self._fork_pool() as pool:
            for fresh in pool.imap_unordered(_math_chunk, chunks):
                self._store_fresh(fresh, {}, stats)
                if task:
                    task.advance(len(fresh))
        if task:
            task.done()

    def _collect(self, chunks, stats: dict, total: int) -> None:
        """Store the rendered bodies of each chunk (see `_render_chunk`) as it arrives."""
        progress = self.progress
        task = progress.task("rendering bodies", total) if progress and total else None
        for rows, math, code in chunks:
            self._store_fresh(math, code, stats)
            for doc_id, key, html, search, findings, copies in rows:
                self.rendered_ids.add(doc_id)
                self.report.findings.extend(findings)
                self.copies.update(copies)
                stats["bodies_rendered"] += 1
                if not any(f.severity == "error" for f in findings):
                    self.cache.put_body(doc_id, key, html, search, findings)
                if task:
                    task.advance()
            self.cache.save()  # short write transactions: another build on this site waits briefly
        if task:
            task.done()

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
    def _write(self, site: Site, config: Config, layout: Layout, pages, bodies: Bodies, out: Path,
               sheets: dict[str, tuple[str, str]], stats: dict) -> None:
        global _PAGES
        previous = {} if self.options.clean else self.cache.pages(str(out))
        output = Output(out, previous, full=self.options.clean)
        progress = self.progress
        search = pool = staging = None
        try:
            todo = [p for p in pages if not output.unchanged(p.path, p.key)]
            if self._can_fork(len(todo)):  # before the search threads start: threads do not survive a fork
                _PAGES = (todo, output, bodies)
                pool = self._fork_pool(_page_worker_init)
                # the workers start on the pages while this process writes the search records
                staging = pool.imap_unordered(_stage_pages, [(i, min(i + 32, len(todo)))
                                                             for i in range(0, len(todo), 32)])
            search = self._search(site, layout, bodies, output)  # runs in the background while pages are written
            task = progress.task("writing pages", len(pages)) if progress else None
            if task:
                task.advance(len(pages) - len(todo))
            if staging is not None:
                for done in staging:
                    for i in done:
                        output.staged(todo[i].path, todo[i].key)
                    if task:
                        task.advance(len(done))
                pool.close()
                pool.join()
            else:
                for page in todo:
                    output.stage(page.path, page.render)
                    output.staged(page.path, page.key)
                    if task:
                        task.advance()
            if task:
                task.done()
            for rel, src in sorted(self.copies.items()):
                output.copy(src, rel)
            for rel, svg in getattr(site, "exec_files", {}).items():
                output.put(rel, digest(svg), svg)
            for name, text in sheets.values():
                output.put(f"assets/{name}", name, text)  # the name carries the content hash
            for f in STATIC.iterdir():
                if f.name != "site.css" and f.is_file():
                    output.copy(f, f"assets/{f.name}")
            for font in (katex_dir() / "fonts").iterdir():
                if font.suffix == ".woff2":
                    output.copy(font, f"assets/katex/fonts/{font.name}")
            urls = sorted(p.path[: -len("index.html")] for p in pages if p.path.endswith("index.html"))
            text = sitemap(config.site["base_url"], urls)
            output.put("sitemap.xml", digest(text), text)
            text = robots(config.site["base_url"])
            output.put("robots.txt", digest(text), text)
            arts = [d for d in site.articles() if d.has_page]
            feed_key = digest(config.site, [(layout.fingerprint(d), bodies.key(d.id)) for d in arts],
                              dt.date.today().isoformat() if not arts else "")
            output.put("feed.xml", feed_key, lambda: atom_feed(config.site, [(d, bodies.html(d.id)) for d in arts]))
            if search is not None:
                search.finish()
            output.commit()
        except BaseException:
            if pool is not None:
                pool.terminate()
            if search is not None:
                search.cancel()
            output.discard()
            raise
        finally:
            _PAGES = None
        self.cache.set_pages(str(out), output.files)
        stats.update(written=output.written, kept=output.kept)

    def _search(self, site: Site, layout: Layout, bodies: Bodies, output: Output):
        """Start indexing the search shards whose records changed (or whose index is missing); returns
        the running job, or None when every shard is kept or search is off."""
        opts = self.options
        if not opts.search:
            if opts.reuse_search:
                for i in range(self.shards):
                    output.keep_dir(shard_dir(i))
            else:
                for i in range(self.shards):
                    output.drop_dir(shard_dir(i))
                    self.cache.set_meta(f"search:{output.out}:{i}", None)
            return None
        if not pagefind_available():
            self.report.info(output.out, 1, "search index not built: install the 'search' extra (pagefind)",
                             rule="search")
            return None
        shards = self.shards
        job = IndexJob(self.report, output.out, self.progress)
        first = min(self.shard_docs, default=0)  # the shard that carries Pagefind's UI (see prune_bundle)
        try:
            for i in range(shards):
                group = self.shard_docs.get(i)
                if not group:  # an empty shard (the hash left it empty) has no index
                    output.drop_dir(shard_dir(i))
                    continue
                key = digest(shards, i == first, [(layout.fingerprint(d), bodies.key(d.id)) for d in group])
                meta_key = f"search:{output.out}:{i}"
                if (self.cache.get_meta(meta_key) == key
                        and (output.out / shard_dir(i) / "pagefind-entry.json").is_file()):
                    output.keep_dir(shard_dir(i))
                    continue
                self.cache.set_meta(meta_key, None)
                job.add_shard(search_records(site, group, bodies, jinja_env()), output.replace_dir(shard_dir(i)),
                              first=(i == first), on_success=lambda k=meta_key, v=key: self.cache.set_meta(k, v))
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


_JOB = None  # (builder, site, md, katex, outputs, link, allow): set in the parent, inherited by forked workers
_PARSE = None  # (md, docs by id): the same for the parse workers
_PAGES = None  # (pages to write, Output, Bodies): the same for the page writers


def _page_worker_init() -> None:
    bodies = _PAGES[2]
    bodies.cache = BuildCache(bodies.cache.path)  # a connection of this process's own


def _stage_pages(span: tuple[int, int]) -> list[int]:
    """Render pages todo[start:end] and write them into the staging folder; their indices back."""
    todo, output, _ = _PAGES
    for i in range(*span):
        output.stage(todo[i].path, todo[i].render)
    return list(range(*span))


def _parse_chunk(ids: list[str]) -> list[tuple]:
    """Parse documents: (id, Parsed without its token tree, the math it contains, the token tree frozen
    and packed or None) for each."""
    md, docs = _PARSE
    rows = []
    for doc_id in ids:
        doc = docs[doc_id]
        p = parse_document(md, doc.source.body, doc.source.body_line)
        math = set(math_requests(p.tokens, None))
        frozen = freeze_tokens(p.tokens)
        p.tokens = None
        rows.append((doc_id, p, math, pack_bytes(frozen) if frozen is not None else None))
    return rows


def _worker_init() -> None:
    builder = _JOB[0]
    builder.cache = BuildCache(builder.cache.path)  # a connection of this process's own
    _JOB[3].cache = builder.cache.math
    highlight_module.STORE = builder.cache.code


def _math_chunk(requests: list[tuple[str, bool]]) -> dict:
    katex = _JOB[3]
    katex.cache = {}
    katex.fresh.clear()
    katex.prerender(requests)
    return _fresh_results(katex)[0]


def _fresh_results(katex: Katex) -> tuple[dict, dict]:
    """KaTeX results and highlighted code made by this process since the last call, as table rows."""
    math = {k: pack_math(v) for k, v in katex.fresh.items()}
    code = {k: (pack(html),) for k, html in highlight_module.FRESH.items()}
    katex.fresh.clear()
    highlight_module.FRESH.clear()
    return math, code


def _render_chunk(items: list[tuple[str, str]]) -> tuple[list[tuple], dict, dict]:
    """Render the bodies of (id, render key) pairs: rows of (id, key, html, search text, findings, image
    copies), and the math results and highlighted code made on the way (for the parent to store)."""
    builder, site, md, katex, outputs, link, allow = _JOB
    keys = dict(items)
    docs = [(i, site.docs[i], site.parsed[i]) for i, _ in items]
    ctxs = []
    for doc_id, doc, parsed in docs:
        if parsed.tokens is None:
            frozen = builder.frozen.get(doc_id)
            parsed.tokens = (thaw_tokens(unpack_bytes(frozen)) if frozen is not None
                             else parse_document(md, doc.source.body, doc.source.body_line).tokens)
        sub = Report(builder.report.root)
        copies: dict[str, Path] = {}
        ctxs.append((sub, copies, RenderContext(
            path=doc.source.path, body_line=doc.source.body_line, report=sub, katex=katex, resolve_link=link,
            resolve_label=(lambda lab, d=doc: site.resolve_label(d, lab)), outputs=outputs.get(doc_id) or {},
            asset_url=builder._asset_resolver(doc, site, copies, sub), allow_raw_html=allow,
            source_lines=doc.source.body.split("\n"))))
    katex.fresh.clear()
    katex.loaded.clear()  # what the last chunk fetched from the cache: memory stays bounded by a chunk
    katex.prerender(req for (_, _, parsed), (_, _, ctx) in zip(docs, ctxs) for req in math_requests(parsed.tokens, ctx))
    rows = []
    for (doc_id, doc, parsed), (sub, copies, ctx) in zip(docs, ctxs):
        html = render_tokens(md, parsed.tokens, ctx)
        parsed.tokens = None
        rows.append((doc_id, keys[doc_id], pack(html), pack(ctx.search_text), sub.findings, copies))
    katex.loaded.clear()
    return (rows, *_fresh_results(katex))


def site_css() -> str:
    return _site_css((STATIC / "site.css").stat().st_mtime_ns)  # the dev server sees edits to site.css


@lru_cache(maxsize=2)
def _site_css(mtime_ns: int) -> str:
    return (STATIC / "site.css").read_text(encoding="utf-8") + "\n/* Pygments */\n" + pygments_css()


@lru_cache(maxsize=1)
def katex_css() -> str:
    """KaTeX's stylesheet, served from assets/ beside its fonts folder: only the woff2 sources are kept
    (every browser that runs this site reads woff2; the woff/ttf fallbacks only add bytes)."""
    css = (katex_dir() / "katex.min.css").read_text(encoding="utf-8")
    css = re.sub(r',url\(fonts/[^)]+\.woff\) format\("woff"\),url\(fonts/[^)]+\.ttf\) format\("truetype"\)', "", css)
    return css.replace("url(fonts/", "url(katex/fonts/")


def stylesheets(cache: BuildCache | None = None) -> dict[str, tuple[str, str]]:
    """The site's and KaTeX's stylesheets as (file name, text), each name carrying a hash of the text so
    browsers may cache them for good. The site's is kept in the cache by Pygments' version and
    site.css's mtime (making Pygments' palettes takes about 40 ms; the dev server sees site.css edits)."""
    import pygments

    stamp = (pygments.__version__, (STATIC / "site.css").stat().st_mtime_ns)
    hit = cache.get_meta("site_css") if cache is not None else None
    if hit is not None and hit[0] == stamp:
        site = hit[1]
    else:
        site = site_css()
        if cache is not None:
            cache.set_meta("site_css", (stamp, site))
    katex = katex_css()
    return {"css": (f"site.{digest(site)[:10]}.css", site), "katex_css": (f"katex.{digest(katex)[:10]}.css", katex)}


def build(root: Path, options: BuildOptions | None = None) -> BuildResult:
    return Builder(root, options).run()
