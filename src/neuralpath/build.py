"""The build: one stage after the other.

    config -> load -> parse -> resolve -> execute -> render -> layout -> write (+ index) -> swap in

Where each stage lives: config.py, content/loader.py, parse.py, graph.py (resolve), execute/,
render.py, layout/pages.py, write.py, search.py (index). What may be skipped because it is already
done is decided in incremental.py; worker processes are started by workers.py. This module only runs
the stages in order and hands each one's output to the next.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from neuralpath import incremental
from neuralpath.bibliography import bibliography_intros, check_citations, load_bibliography
from neuralpath.cache import BuildCache, digest
from neuralpath.config import load_config
from neuralpath.content.loader import load_content_cached
from neuralpath.content.model import intros_of
from neuralpath.errors import BuildFailed, Report, UsageError
from neuralpath.execute import execute_site
from neuralpath.graph import Site, resolve
from neuralpath.history import last_changed
from neuralpath.incremental import OutputRecord
from neuralpath.indexes import check_notation, index_intros
from neuralpath.layout import assets
from neuralpath.layout.pages import Layout, use_bytecode_cache
from neuralpath.markdown.katex import Katex, katex_dir
from neuralpath.markdown.parser import create_markdown
from neuralpath.markdown.render import install_rules
from neuralpath.notebook_export import site_notebooks
from neuralpath.parse import parse_bodies, parse_intros
from neuralpath.render import check_images, render_bodies
from neuralpath.search import BUNDLES, bundles_json, pagefind_available, plan_shards, shard_dir, start_index
from neuralpath.write import Output, PageWriter, atom_feed, check_output_dir, put_site_files, recover


@dataclass(frozen=True)
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
    reuse_search: bool = False  # without search: carry the output's index over (the dev server)
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


def build(root: Path, options: BuildOptions | None = None) -> BuildResult:
    """Build the site in `root` (or, with `options.write` False, run every stage and write nothing).
    Raises BuildFailed with the located findings when the content has errors."""
    t0 = time.perf_counter()
    opts = options or BuildOptions()
    root = Path(root).resolve()
    if not root.is_dir():  # a mistyped path must not turn into a new, empty site
        raise UsageError(f"{root}: no such folder; give the site folder (the one with neuralpath.toml) "
                         "or a folder of Markdown notes")
    report = Report(root)
    config = load_config(root, report)
    if report.errors:  # a broken neuralpath.toml first, not after the errors it causes elsewhere
        raise BuildFailed(report)
    out = (opts.output or config.output_dir).resolve()
    if opts.write:
        check_output_dir(out, config.content_dir, config.root)
        recover(out)
    cache = opts.cache if opts.cache is not None else BuildCache.load(config.cache_dir)
    if opts.clean:
        cache.clear()
    if cache.path is not None:  # compiled templates kept beside the cache: ~0.1 s less per build
        use_bytecode_cache(cache.path.parent / "templates")
    result = BuildResult(report=report, output=out, stats={"parsed": 0, "bodies_rendered": 0, "math_rendered": 0,
                                                           "written": 0, "kept": 0, "removed": 0})
    try:
        _run(config, opts, cache, out, result)
        if report.errors:  # written under --keep-going, or unchanged since a build that was: still a failure
            failed = BuildFailed(report)
            failed.written = out if opts.write else None
            raise failed
    finally:
        try:
            cache.save()
        except Exception as e:  # noqa: BLE001 - a cache that cannot be saved costs time, not correctness
            report.warning(config.cache_dir, 1, f"could not save the build cache: {e}", rule="cache")
    result.seconds = time.perf_counter() - t0
    return result


def _say(opts: BuildOptions, msg: str) -> None:
    if opts.progress is not None:
        opts.progress.line(msg)


def _run(config, opts: BuildOptions, cache: BuildCache, out: Path, result: BuildResult) -> None:
    report, stats = result.report, result.stats
    record = OutputRecord.load(cache, out) if opts.write and not opts.clean else OutputRecord()
    manifest = incremental.manifest(config, opts, record.env_vars) if opts.write else None
    if opts.write and not opts.rerun and incremental.nothing_changed(record, manifest, cache, out):
        report.findings.extend(record.findings)
        result.pages = record.pages
        stats.update(docs=record.docs, kept=len(cache.pages(str(out))), unchanged=True)
        _say(opts, "nothing changed since the last build")
        return

    # load, parse, resolve
    content = load_content_cached(config, report, cache, drafts=opts.drafts)
    bib = load_bibliography(config, report)
    _say(opts, f"loaded {len(content.docs)} documents in {len(content.modules)} modules")
    md = install_rules(create_markdown(allow_html=True))
    intros = intros_of(content)
    parsed = parse_bodies(content.docs, intros, md, cache, report, opts.jobs)
    stats["parsed"] = parsed.count
    indexes = index_intros(content, parsed.parsed, config.root, cache)  # Results and Notation pages
    indexes += bibliography_intros(content, parsed.parsed, bib, config.root)  # Bibliography page
    parse_intros(parsed, indexes, md, report, cache)
    check_notation(content, parsed.parsed, report, cache)
    site = resolve(config, content, parsed.parsed, intros + indexes, report)
    check_citations(site, bib, report)
    result.site = site
    check_images(site, report)

    # execute, render
    executed = execute_site(site, config, report, enabled=opts.execute and config.build["execute"],
                            rerun=opts.rerun, keep_going=opts.keep_going)
    ex = executed.stats
    if any(ex.values()):
        _say(opts, f"code: {ex['executed']} notes executed, {ex['cached']} from cache, "
                   f"{ex['skipped']} skipped for missing environment variables"
                   + (f", {ex['not_run']} blocks not run (--no-execute, code changed)" if ex["not_run"] else ""))
    katex = Katex(config.macros)
    katex.cache = cache.math
    rendered = render_bodies(site, md, katex, executed, parsed, cache, report, opts.jobs, opts.progress, bib=bib)
    docs = sum(1 for d in site.docs.values() if d.id in site.parsed)
    stats.update(bodies_rendered=rendered.rendered, math_rendered=rendered.math, docs=docs, **ex)
    _say(opts, f"rendered {rendered.rendered} bodies ({rendered.math} new equations)")
    if report.errors and not opts.keep_going:  # --keep-going writes the site anyway (and still fails)
        raise BuildFailed(report)

    # layout
    bodies = rendered.bodies
    sheets = assets.stylesheets(cache)
    plan = plan_shards([d for d in site.docs.values() if d.has_page], config.build["search_shard_size"])
    used = sorted(plan[1]) or [0]
    # whether the output will have a search index: built now, or (dev server) kept from an earlier build
    search_built = ((opts.search and pagefind_available())
                    or (opts.reuse_search and (out / shard_dir(used[0]) / "pagefind-entry.json").is_file()))
    notebooks = site_notebooks(site, executed.results, config)
    layout = Layout(site, bodies, executed.extras, css=sheets["css"][0], katex_css=sheets["katex_css"][0],
                    summaries=rendered.summaries,
                    changed=last_changed(config.content_dir,
                                         {d.id: d.source.path for d in site.docs.values() if d.has_page}),
                    engine=incremental.tool_versions(),
                    search_built=search_built,
                    notebooks={i: n.path for i, n in notebooks.items()})
    structure = layout.structure_key()
    reuse = incremental.reusable_pages(record, structure, cache, out) if opts.write and not opts.clean else None
    pages = layout.all_pages(reuse, incremental.changed_bodies(record, bodies.keys) if reuse is not None else set())
    result.pages = len(pages)
    if not opts.write:
        return

    # write (and index), then swap the new files in
    new = OutputRecord(manifest=None, structure=structure, bodies=dict(bodies.keys), pages=len(pages), docs=docs,
                       env_vars=sorted({v for d in site.docs.values() for v in d.all_requires}))
    output = Output(out, {} if opts.clean else cache.pages(str(out)), full=opts.clean)
    writer = job = None
    try:
        writer = PageWriter(output, pages, bodies, opts.jobs, opts.progress)  # forks before search threads
        job, bundles = start_index(site, layout, bodies, output, record, new, plan, report,
                                   search=opts.search, reuse=opts.reuse_search, progress=opts.progress)
        writer.finish()
        articles = [d for d in site.articles() if d.has_page]
        feed = (incremental.feed_key(config.site, [(layout.fingerprint(d), bodies.key(d.id)) for d in articles]),
                lambda: atom_feed(config.site, [(d, bodies.html(d.id)) for d in articles]))
        put_site_files(output, config=config, pages=pages, copies=rendered.copies, figures=executed.files,
                       sheets=sheets, static=assets.STATIC, fonts=katex_dir() / "fonts", feed=feed,
                       notebooks=[(n.path, n.key, n.render) for n in notebooks.values()])
        if job is not None:
            job.finish()
        if bundles is not None:  # where the search UI finds the index (after the job: a failed delta is left out)
            text = bundles_json(bundles, new)
            output.put(BUNDLES, digest(text), text)
            new.search_bundles = bundles
        OutputRecord.forget(cache, out)
        output.commit()
    except BaseException:
        if writer is not None:
            writer.close()
        if job is not None:
            job.cancel()
        output.discard()
        raise
    cache.set_pages(str(out), output.files)
    stats.update(written=output.written, kept=output.kept, removed=len(output.removed))
    _say(opts, f"wrote {output.written} files, kept {output.kept} unchanged")
    new.findings = list(report.findings)
    # the manifest taken before loading (an edit made during this build makes the next one differ); when
    # the notes now require other environment variables it did not cover them: none, so the next build
    # takes the full path
    new.manifest = manifest if new.env_vars == record.env_vars else None
    new.save(cache, out)
