"""Load stage: walk the content folder and turn files into validated records.

Site mode (a `neuralpath.toml` exists)::

    content/curriculum/<part>/<module>/<note>.md   parts, modules and notes (_index.md describes a folder)
    content/series/<id>.md                          series
    content/journal/<id>.md                         articles
    content/pages/<id>.md                           free pages

Plain-folder mode (no `neuralpath.toml`): every Markdown file or notebook below the folder is a note,
each sub-folder a module, and the folder itself the single part.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from neuralpath.config import Config
from neuralpath.content.frontmatter import read_source
from neuralpath.content.model import STATUSES, Doc, Module, Part, Series, Source
from neuralpath.errors import Report

NOTE_SUFFIXES = (".md", ".qmd", ".ipynb")
INDEX = "_index.md"
PREFIX = re.compile(r"^(\d+)[-_. ](.+)$")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CITE_KEY_RE = re.compile(r"^@?[A-Za-z0-9_](?:[A-Za-z0-9_:.-]*[A-Za-z0-9_])?$")  # as markdown/citations.py KEY
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".neuralpath", ".ipynb_checkpoints"}

STR, INT, LIST, DATE = "string", "integer", "list of strings", "date (YYYY-MM-DD)"
FIELDS = {
    "note": {"title": STR, "summary": STR, "status": STR, "id": STR, "order": INT, "prerequisites": LIST,
             "tags": LIST, "requires": LIST, "further_reading": LIST, "date": DATE},
    "article": {"title": STR, "summary": STR, "status": STR, "id": STR, "date": DATE, "tags": LIST,
                "further_reading": LIST},
    "page": {"title": STR, "summary": STR, "id": STR, "status": STR, "further_reading": LIST},
    "part": {"title": STR, "summary": STR, "order": INT},
    "module": {"title": STR, "summary": STR, "order": INT, "number": INT, "requires": LIST},
    "series": {"title": STR, "summary": STR, "members": LIST, "id": STR},
}
# Front-matter keys of other tools (Jekyll, Hugo, MkDocs, Jupyter Book/MyST, Jupytext, Quarto). Those that
# mean something here are read as our own key; the rest are accepted without a warning per file, and one
# summary line says which were ignored (a typo of one of our keys still gets its own warning).
FOREIGN_SAME = {"weight": "order", "nav_order": "order", "sidebar_position": "order", "description": "summary",
                "subtitle": "summary"}
FOREIGN_IGNORED = {
    "layout", "permalink", "categories", "category", "author", "authors", "excerpt", "published", "redirect_from",
    "redirect_to", "nav_exclude", "parent", "grand_parent", "has_children", "has_toc", "toc", "sidebar", "comments",
    "image", "images", "slug", "aliases", "lastmod", "publishdate", "expirydate", "keywords", "url", "type", "menu",
    "linktitle", "hide", "template", "icon", "search", "jupytext", "kernelspec", "jupyter", "language_info",
    "myst", "numbering", "exports", "downloads", "short_title", "license", "github", "doi", "venue", "subject",
    "abstract", "format", "execute", "engine", "bibliography", "editor", "number-sections", "lang", "filters",
    "crossref", "citation", "csl", "date-modified", "title-block-banner", "code-fold", "reference-location",
}
REQUIRED = {"note": ("title", "summary"), "article": ("title", "summary", "date"), "page": ("title",),
            "part": ("title",), "module": ("title",), "series": ("title", "summary", "members")}


@dataclass
class Content:
    """Everything the loader found, in reading order."""

    parts: list[Part] = field(default_factory=list)
    docs: list[Doc] = field(default_factory=list)  # notes, articles, pages (drafts dropped unless asked)
    series: list[Series] = field(default_factory=list)
    assets: list[Path] = field(default_factory=list)  # images and other files beside notes
    drafts_left_out: set[str] = field(default_factory=set)  # ids of drafts not built (no --drafts)
    unreadable: set[str] = field(default_factory=set)  # ids (from file names) of files that failed to load

    @property
    def modules(self) -> list[Module]:
        return [m for p in self.parts for m in p.modules]


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NOT_SLUG.sub("-", text).strip("-")


def split_prefix(name: str) -> tuple[int | None, str]:
    m = PREFIX.match(name)
    return (int(m.group(1)), m.group(2)) if m else (None, name)


def _order(explicit, prefix: int | None, name: str) -> tuple:
    key = explicit if isinstance(explicit, int) else prefix
    return (key if key is not None else 10**9, name)


def _with_foreign_keys(meta: dict, schema: dict, report: Report) -> tuple[dict, dict]:
    """`meta` with other tools' keys read as ours (`weight` as `order`, `draft: true` as `status: draft`,
    `description` as `summary`) where ours is not given too, and their other keys dropped (counted in
    `report.ignored_keys` for one summary line); and, for each key read from another, the key it was."""
    out, origin = {}, {}
    for key, val in meta.items():
        if key in schema:
            out[key] = val
        elif key in FOREIGN_SAME and FOREIGN_SAME[key] in schema and FOREIGN_SAME[key] not in meta:
            out.setdefault(FOREIGN_SAME[key], val)
            origin[FOREIGN_SAME[key]] = key
        elif key == "draft" and "status" in schema and "status" not in meta and isinstance(val, bool):
            if val:
                out["status"], origin["status"] = "draft", key
        elif key in FOREIGN_IGNORED or key in FOREIGN_SAME or key == "draft":
            report.ignored_keys[key] = report.ignored_keys.get(key, 0) + 1
        else:
            out[key] = val  # unknown: validate warns, with a suggestion
    return out, origin


def validate(source: Source, kind: str, report: Report, *, plain: bool = False) -> dict:
    """Check front matter types; returns the fields that are valid. Unknown keys are warnings."""
    schema = FIELDS[kind]
    meta, out = source.meta, {}
    path = source.path
    mapped, origin = _with_foreign_keys(meta, schema, report)
    for key, val in mapped.items():
        line = source.line_of(origin.get(key, key))
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known fields: {', '.join(schema)}"
            report.warning(path, line, f"unknown front matter field '{key}' for a {kind}{hint}",
                           rule="front-matter")
            continue
        want = schema[key]
        if want == STR and isinstance(val, (int, float)) and not isinstance(val, bool) and key in ("title", "id"):
            val = str(val)
        if want == STR:  # only the check of the field's own type (building all four cost ~10 µs a field)
            ok = isinstance(val, str)
        elif want == INT:
            ok = isinstance(val, int) and not isinstance(val, bool)
        elif want == LIST:
            ok = isinstance(val, list) and all(isinstance(v, str) for v in val)
        else:
            ok = isinstance(val, (dt.date, str))
        if want == LIST and isinstance(val, str):  # `tags: a, b` is two tags, as an author means it
            val, ok = [v.strip() for v in val.split(",") if v.strip()], True
        if want == DATE and isinstance(val, str):
            try:
                val = dt.date.fromisoformat(val)
            except ValueError:
                ok = False
        if isinstance(val, dt.datetime):
            val = val.date()
        if not ok:
            article = "an" if want[0] in "aeiou" else "a"
            report.error(path, line, f"front matter field '{origin.get(key, key)}' must be {article} {want}, "
                         f"got {val!r}", rule="front-matter")
            continue
        out[key] = val.strip() if isinstance(val, str) else val
    for key in REQUIRED[kind]:
        if plain and key in ("title", "summary"):
            continue
        if key not in out and key not in meta:
            report.error(path, 1, f"front matter field '{key}' is required for a {kind}", rule="front-matter")
    if "status" in out and out["status"] not in STATUSES:
        report.error(path, source.line_of("status"),
                     f"status must be one of {', '.join(STATUSES)}, got '{out['status']}'", rule="front-matter")
        out.pop("status")
    for key in ("id",):
        if key in out and not ID_RE.match(out[key]):
            report.error(path, source.line_of(key), f"id '{out[key]}' must be lower-case letters, digits and "
                         f"dashes (e.g. '{slugify(out[key]) or 'my-note'}')", rule="front-matter")
            out.pop(key)
    for key in out.get("further_reading", []):  # BibTeX keys, checked against the bibliography later
        if not CITE_KEY_RE.match(key):
            report.error(path, source.line_of("further_reading"), f"further_reading: '{key}' is not a "
                         "citation key (letters, digits and _:.- as in @key)", rule="front-matter")
    if "further_reading" in out:
        out["further_reading"] = list(dict.fromkeys(k.removeprefix("@") for k in out["further_reading"]
                                                    if CITE_KEY_RE.match(k)))
    for key in ("requires",):
        for var in out.get(key, []):
            if not ENV_RE.match(var):
                report.error(path, source.line_of(key), f"'{var}' is not an environment variable name",
                             rule="front-matter")
    return out


H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")  # a level-1 ATX heading line


def _title_from_body(source: Source) -> str | None:
    for line in source.body.split("\n"):
        m = H1.match(line)
        if m:
            return m.group(1)
    return None


def _heading_as_title(source: Source) -> tuple[str | None, Source]:
    """A body that opens with a `# Heading` (as MkDocs, GitHub and Jupyter Book pages do): the heading as
    the title, and the source with that line blanked (line numbers kept), so the page does not show the
    title twice. Any other body: (None, source)."""
    lines = source.body.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    m = H1.match(lines[first]) if first is not None else None
    if not m:
        return None, source
    lines[first] = ""
    return m.group(1), Source(source.path, source.meta, "\n".join(lines), source.body_line, source.meta_lines)


def _first_paragraph(body: str, limit: int = 240) -> str:
    """The first paragraph of prose in `body` as plain text (links and emphasis marks dropped, math
    kept), cut at a sentence end within `limit` characters: a summary for a note that has none."""
    para, fence = [], None
    for line in body.split("\n"):
        s = line.strip()
        if fence:
            fence = None if s.startswith(fence) else fence
            continue
        if s.startswith(("```", "~~~", ":::")):
            fence = s[:3]
            if para:
                break
            continue
        if not s:
            if para:
                break
            continue
        if s.startswith(("#", ">", "|", "!", "$$", "<", "(", "-", "*", "+")) or re.match(r"\d+\.\s", s):
            if para:
                break
            continue
        para.append(s)
        if re.search(r"\{[a-z:]+\}`|\\(?:eq)?ref\{|\]\(\)|\[\]\(", s):  # references make poor summaries
            para = []
            continue
    text = " ".join(para)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(?<![\w$])[*_]{1,2}([^*_]+)[*_]{1,2}", r"\1", text).replace("`", "")
    text = re.sub(r"\{[a-z:]+\}", "", text)  # MyST role names
    if len(text) <= limit:
        return text
    cut = max(text.rfind(". ", 0, limit), text.rfind("? ", 0, limit))
    return text[:cut + 1] if cut > 40 else text[:limit].rsplit(" ", 1)[0] + "…"


def _read(path: Path, report: Report) -> Source | None:
    if path.suffix == ".ipynb":
        from neuralpath.content.notebook import read_notebook
        return read_notebook(path, report)
    source = read_source(path, report)
    if source is not None and path.suffix == ".qmd":  # Quarto: rewritten line for line (markdown/quarto.py)
        from neuralpath.markdown.quarto import translate
        source = Source(source.path, source.meta, translate(source.body), source.body_line, source.meta_lines)
    return source


def load_content(config: Config, report: Report, *, drafts: bool = False) -> Content:
    content = Content()
    root = config.content_dir
    if not root.is_dir():
        report.error(config.root / "neuralpath.toml", 1, f"content folder '{root}' does not exist; create it or "
                     "set [build] content_dir", rule="config")
        return content
    if config.has_file:
        _load_curriculum(root / "curriculum", content, report, drafts)
        for sub, kind in (("journal", "article"), ("pages", "page")):
            for path in _files(root / sub, (".md",)):
                doc = _load_doc(path, kind, None, report)
                if doc:
                    content.docs.append(doc)
                else:
                    content.unreadable.add(slugify(split_prefix(path.stem)[1]))
        for path in _files(root / "series", (".md",)):
            s = _load_series(path, report)
            if s:
                content.series.append(s)
    else:
        _load_plain(root, config, content, report)
    if report.ignored_keys:  # one line for the whole site, not one per file
        keys = ", ".join(f"{k} ({n} file{'s' if n != 1 else ''})" for k, n in sorted(report.ignored_keys.items()))
        report.warning(root, 1, f"front matter keys of other tools were ignored: {keys}; `weight`, `nav_order`, "
                       "`description` and `draft` are read as order, summary and status", rule="foreign-keys")
    if not drafts:
        content.drafts_left_out = {d.id for d in content.docs if d.status == "draft"}
        content.docs = [d for d in content.docs if d.status != "draft"]
        for m in content.modules:
            m.notes = [n for n in m.notes if n.status != "draft"]
    return content


def _entries(folder: Path) -> list[os.DirEntry]:
    """A folder's entries, by name (scandir: file or folder without a stat call per entry)."""
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _files(folder: Path, suffixes) -> list[Path]:
    return [folder / e.name for e in _entries(folder) if e.is_file() and os.path.splitext(e.name)[1] in suffixes
            and e.name != INDEX and not e.name.startswith(".")]


def _subdirs(folder: Path) -> list[Path]:
    return [folder / e.name for e in _entries(folder) if e.is_dir() and not e.name.startswith((".", "_"))
            and e.name not in SKIP_DIRS]


ASSET_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".csv", ".npy")


def _assets(folder: Path, content: Content) -> None:
    content.assets += [folder / e.name for e in _entries(folder) if e.is_file() and not e.name.startswith(".")
                       and os.path.splitext(e.name)[1].lower() in ASSET_SUFFIXES]


LANDING = (INDEX, "index.md", "README.md", "readme.md", "Readme.md")


def _landing(folder: Path) -> Path | None:
    """A plain folder's own page: `_index.md`, else `index.md` (MkDocs, Jekyll, Hugo, Jupyter Book), else
    `README.md` (GitHub)."""
    names = {e.name for e in _entries(folder) if e.is_file()}
    return next((folder / n for n in LANDING if n in names), None)


def _folder_record(folder: Path, kind: str, report: Report, index: Path | None = None) -> tuple[dict, Source]:
    """A folder's `_index.md` (or, in a plain folder, its landing page `index`): front matter and source."""
    plain = index is not None  # a plain folder's landing page needs no front matter (its title: its heading)
    index = index or folder / INDEX
    source = read_source(index, report) if index.is_file() else None
    if source is None:
        source = Source(path=index if index.is_file() else folder, meta={}, body="", body_line=1)
        meta = {}
    else:
        meta = validate(source, kind, report, plain=plain)
    return meta, source


def _load_curriculum(root: Path, content: Content, report: Report, drafts: bool) -> None:
    if not root.is_dir():
        return
    for stray in _files(root, NOTE_SUFFIXES):
        report.error(stray, 1, "a note must live in a module folder: content/curriculum/<part>/<module>/",
                     rule="layout")
    auto_number = 0
    for pdir in _subdirs(root):
        prefix, name = split_prefix(pdir.name)
        meta, source = _folder_record(pdir, "part", report)
        part = Part(id=slugify(name), slug=slugify(name), title=meta.get("title", name.replace("-", " ").title()),
                    summary=meta.get("summary", ""), order=_order(meta.get("order"), prefix, name), source=source)
        for stray in _files(pdir, NOTE_SUFFIXES):
            report.error(stray, 1, f"a note must live in a module folder inside '{pdir.name}/'", rule="layout")
        for mdir in _subdirs(pdir):
            auto_number += 1
            module = _load_module(mdir, part, auto_number, report)
            _load_notes(mdir, module, content, report)
            part.modules.append(module)
        part.modules.sort(key=lambda m: m.order)
        content.parts.append(part)
    content.parts.sort(key=lambda p: p.order)


def _load_module(mdir: Path, part: Part, auto_number: int, report: Report) -> Module:
    prefix, name = split_prefix(mdir.name)
    meta, source = _folder_record(mdir, "module", report)
    number = meta.get("number", prefix if prefix is not None else auto_number)
    return Module(id=slugify(name), slug=slugify(mdir.name), number=number,
                  title=meta.get("title", name.replace("-", " ").title()), summary=meta.get("summary", ""),
                  order=_order(meta.get("order"), prefix, name), requires=meta.get("requires", []),
                  source=source, part=part)


def _load_notes(mdir: Path, module: Module, content: Content, report: Report, plain: bool = False,
                id_prefix: str = "", skip: Path | None = None) -> None:
    for path in _files(mdir, NOTE_SUFFIXES):
        if path == skip:
            continue
        doc = _load_doc(path, "note", module, report, plain=plain, id_prefix=id_prefix)
        if doc:
            module.notes.append(doc)
            content.docs.append(doc)
        else:  # its error is reported; links to it are not reported again as broken
            content.unreadable.add(id_prefix + slugify(split_prefix(path.stem)[1]))
    module.notes.sort(key=lambda d: d.order)
    _assets(mdir, content)


def _load_doc(path: Path, kind: str, module: Module | None, report: Report, plain: bool = False,
              id_prefix: str = "") -> Doc | None:
    source = _read(path, report)
    if source is None:
        return None
    meta = validate(source, kind, report, plain=plain)
    prefix, name = split_prefix(path.stem)
    slug = slugify(name)
    doc_id = meta.get("id") or (id_prefix + slug if slug else "")
    if not doc_id:
        report.error(path, 1, f"cannot derive an id from the file name '{path.name}'; add 'id:' to the front matter",
                     rule="front-matter")
        return None
    heading = None
    if not meta.get("title") and path.suffix in (".md", ".qmd"):
        heading, source = _heading_as_title(source)
    title = (meta.get("title") or heading or _title_from_body(source)
             or name.replace("-", " ").replace("_", " ").strip().capitalize())
    if plain and not meta.get("summary"):  # a folder of notes rarely has summaries: the first paragraph
        meta = {**meta, "summary": _first_paragraph(source.body)}
    return Doc(kind=kind, id=doc_id, title=title, summary=meta.get("summary", ""),
               status=meta.get("status", "published"), source=source,
               # a plain folder's notes without order or number prefix go by title, as their readers see them
               order=_order(meta.get("order"), prefix, title.casefold() if plain else name),
               prerequisites=meta.get("prerequisites", []),
               tags=meta.get("tags", []), requires=meta.get("requires", []), date=meta.get("date"),
               module=module, further_reading=meta.get("further_reading", []))


def _load_series(path: Path, report: Report) -> Series | None:
    source = read_source(path, report)
    if source is None:
        return None
    meta = validate(source, "series", report)
    return Series(id=meta.get("id") or slugify(split_prefix(path.stem)[1]), title=meta.get("title", path.stem),
                  summary=meta.get("summary", ""), members=meta.get("members", []), source=source)


def _load_plain(root: Path, config: Config, content: Content, report: Report) -> None:
    """A folder of Markdown files without neuralpath.toml: folders become modules of one part."""
    part = Part(id="notes", slug="notes", title=config.site["title"], summary="", order=(0, ""),
                source=Source(path=root, meta={}, body="", body_line=1))
    number = 0
    out = config.output_dir

    def walk(folder: Path, title: str) -> None:
        nonlocal number
        if folder.resolve() == out or (folder / "neuralpath.toml").is_file() and folder != root:
            return
        landing = _landing(folder)  # index.md, README.md or _index.md: the folder's own page
        notes = [p for p in _files(folder, NOTE_SUFFIXES) if p != landing]
        if folder == root and landing is not None:  # the top folder's page introduces the whole site
            pmeta, psource = _folder_record(folder, "part", report, landing)
            _, part.source = _heading_as_title(psource)
            part.summary = pmeta.get("summary", "")
        if notes:
            number += 1
            prefix, name = split_prefix(folder.name)
            own = landing if folder != root else None
            meta, source = _folder_record(folder, "module", report, own) if own else ({}, Source(
                path=folder, meta={}, body="", body_line=1))
            heading = None
            if own is not None and not meta.get("title"):
                heading, source = _heading_as_title(source)
            # a note's id follows its path (week-2/lecture.md is week-2-lecture), so same-named files in
            # different folders are different notes, and adding a file never renames another
            rel = folder.relative_to(root).parts
            id_prefix = "".join(f"{slugify(split_prefix(p)[1])}-" for p in rel if slugify(split_prefix(p)[1]))
            module = Module(id=slugify(name) or "notes", slug=f"{number:02d}-{slugify(name) or 'notes'}",
                            number=number, title=meta.get("title") or heading or title,
                            summary=meta.get("summary", ""), order=(number, name), requires=meta.get("requires", []),
                            source=source, part=part)
            _load_notes(folder, module, content, report, plain=True, id_prefix=id_prefix, skip=landing)
            part.modules.append(module)
        for sub in _subdirs(folder):
            walk(sub, split_prefix(sub.name)[1].replace("-", " ").replace("_", " ").strip().title())

    walk(root, config.site["title"])
    if config.book is not None and config.book.order:
        _book_order(root, part, config.book.order)
    content.parts.append(part)


def _book_order(root: Path, part: Part, order: list[str]) -> None:
    """Notes and folders in the order of the book's table of contents (`_toc.yml`, `myst.yml`,
    `_quarto.yml`); files it does not list follow, in their own order."""
    at = {name: i for i, name in enumerate(order)}
    late = len(order)

    def pos(doc) -> int:
        rel = doc.source.path.resolve().relative_to(root.resolve()).with_suffix("")
        return at.get(rel.as_posix(), late)

    for m in part.modules:
        m.notes.sort(key=lambda d: (pos(d), d.order))
        for d in m.notes:
            d.order = (pos(d), d.order)
    part.modules.sort(key=lambda m: (min((pos(d) for d in m.notes), default=late), m.order))
    for i, m in enumerate(part.modules):
        m.order = (i, m.order)


def load_content_cached(config: Config, report: Report, cache, *, drafts: bool = False) -> Content:
    """`load_content` with the build cache: files unchanged since the last build (size and mtime) are
    not read, their front matter comes from the cache; what was read is stored for the next build."""
    from neuralpath.content import frontmatter

    stored = cache.source_entries()
    frontmatter.YAML_MEMO, frontmatter.STORED = cache.yaml, stored
    frontmatter.FRESH.clear()
    frontmatter.SEEN.clear()
    try:
        content = load_content(config, report, drafts=drafts)
        cache.put_sources([(str(p), size, mtime, frontmatter.stored_form(src))
                           for p, size, mtime, src in frontmatter.FRESH])
        cache.drop_sources([p for p in stored if p not in frontmatter.SEEN])
    finally:
        frontmatter.YAML_MEMO = frontmatter.STORED = None
        frontmatter.FRESH.clear()
        frontmatter.SEEN.clear()
    return content
