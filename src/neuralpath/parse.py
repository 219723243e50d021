"""Parse stage: the Markdown of every body -> `Parsed` (headings, labels, links, code, math, token tree).

Bodies are the pages' documents and the introductions of parts, modules and series. A document whose
text is unchanged since it was last parsed comes from the cache. Many documents are parsed by forked
workers (`workers.py`), which send back what the parse found and the token tree frozen and packed;
the render stage thaws those trees instead of parsing again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neuralpath import workers
from neuralpath.cache import BuildCache, pack_bytes
from neuralpath.content.model import Doc, Intro
from neuralpath.errors import Report
from neuralpath.markdown.parser import PARSE_ERRORS, Parsed, freeze_tokens, parse_document
from neuralpath.markdown.render import math_requests

CHUNK = 16  # documents per worker task
# Parses this process loaded from the cache in its last build: source path -> (text key, Parsed). A
# long-running process (the dev server) takes an unchanged note's parse from here instead of unpacking it
# again, but only when the cache holds a parse under the same key (so `--clean`, or another process
# replacing the row, is seen exactly as without it). The objects are read-only once loaded: later stages
# only drop a fresh parse's `tokens`, and loaded ones have none.
_LOADED: dict[str, tuple[str, Parsed]] = {}
TOKEN_BUDGET = 8_000_000  # characters of source whose token trees stay in memory until rendered (one process)


@dataclass
class ParseResult:
    parsed: dict[str, Parsed]  # body id -> Parsed (its `tokens` may be None: see `frozen`, or parse again)
    frozen: dict[str, bytes] = field(default_factory=dict)  # body id -> packed token tree from a worker
    math: set[tuple[str, bool]] = field(default_factory=set)  # (TeX, display) of the bodies parsed now
    fresh: set[str] = field(default_factory=set)  # body ids parsed now (their math is in `math`)
    count: int = 0


def parse_bodies(docs: list[Doc], intros: list[Intro], md, cache: BuildCache, report: Report,
                 jobs: int = 0) -> ParseResult:
    """Parse every document that has a page and every introduction; report parse warnings."""
    result = ParseResult(parsed={})
    parsed, todo = result.parsed, []
    sources = {}
    for doc in docs:
        if doc.has_page and doc.id not in sources:
            sources[doc.id] = doc.source
    loaded: dict[str, tuple[str, Parsed]] = {}
    if _LOADED:  # the dev server: only the keys, and the data of the parses not kept from the last build
        stored = cache.parsed_keys()
        data = lambda path, key: cache.parsed_data(path, key)  # noqa: E731
    else:
        entries = cache.parsed_entries()
        stored = {path: key for path, (key, _) in entries.items()}
        data = lambda path, key: entries[path][1]  # noqa: E731
    for body_id, source in sources.items():
        path, key = str(source.path), source.key
        p = None
        if stored.get(path) == key:  # the cache holds a parse of this text
            kept = _LOADED.get(path)
            p = kept[1] if kept is not None and kept[0] == key else cache.load_parsed(data(path, key))
            if p is not None:
                loaded[path] = (key, p)
        parsed[body_id] = p
        if p is None:
            todo.append(body_id)
    _LOADED.clear()  # what this build loaded, for the next build in this process (the dev server)
    _LOADED.update(loaded)
    parse_intros(result, intros, md, report, cache)
    if workers.can_fork(len(todo), jobs, cache.path is not None):
        chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
        with workers.state(md=md, sources=sources), workers.pool(jobs) as pool:
            for rows in pool.imap_unordered(_parse_chunk, chunks):
                for body_id, p, math, frozen in rows:
                    parsed[body_id] = p
                    result.math.update(math)
                    if frozen is not None:
                        result.frozen[body_id] = frozen
    else:
        budget = TOKEN_BUDGET
        for body_id in todo:
            src = sources[body_id]
            p = parsed[body_id] = parse_document(md, src.body, src.body_line)
            result.math.update(math_requests(p.tokens, None))
            budget -= len(src.body)
            if budget < 0:
                p.tokens = None  # parsed again when rendered: memory stays bounded on big sites
    for body_id in todo:
        src = sources[body_id]
        cache.put_parsed(str(src.path), src.key, parsed[body_id])
    result.fresh.update(todo)
    result.count = len(todo)
    for body_id, source in sources.items():
        _report_warnings(parsed[body_id], source, report)
    cache.save()
    return result


def parse_intros(result: ParseResult, intros: list[Intro], md, report: Report, cache: BuildCache | None = None
                 ) -> None:
    """Parse introductions into `result`. With a cache, one whose text is unchanged comes from it: the
    Results and Notation pages the build writes hold a line for each result and symbol of the site, and
    parsing them took about a second of a one-note build at 1,000 notes."""
    for intro in intros:
        src = intro.source
        hit = cache.parsed_entry(f"intro:{intro.id}") if cache is not None else None
        p = cache.load_parsed(hit[1]) if hit and hit[0] == src.key else None
        if p is None:
            p = parse_document(md, src.body, src.body_line)
            if cache is not None:
                cache.put_parsed(f"intro:{intro.id}", src.key, p)
        result.parsed[intro.id] = p
        _report_warnings(p, src, report)


def _report_warnings(p: Parsed, source, report: Report) -> None:
    for line, message, rule in p.warnings:
        add = report.error if rule in PARSE_ERRORS else report.warning
        add(source.path, line, message, rule=rule)


def _parse_chunk(ids: list[str]) -> list[tuple]:
    """In a worker: (id, Parsed without its token tree, the math it contains, the token tree frozen and
    packed or None) for each body."""
    md, sources = workers.job()["md"], workers.job()["sources"]
    rows = []
    for body_id in ids:
        src = sources[body_id]
        p = parse_document(md, src.body, src.body_line)
        math = set(math_requests(p.tokens, None))
        frozen = freeze_tokens(p.tokens)
        p.tokens = None
        rows.append((body_id, p, math, pack_bytes(frozen) if frozen is not None else None))
    return rows
