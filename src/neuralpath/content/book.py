"""The book files of other tools, for a plain folder (no neuralpath.toml): Jupyter Book's `_toc.yml`
and `_config.yml` (version 1) or `myst.yml` (version 2), and Quarto's `_quarto.yml`. What they say that
this site uses: the title, the bibliography file, TeX macros and the order of the chapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neuralpath.errors import Report

BOOK_FILES = ("_toc.yml", "myst.yml", "_quarto.yml", "_config.yml")


@dataclass
class Book:
    title: str = ""
    bibliography: str = ""  # file, relative to the folder
    order: list[str] = field(default_factory=list)  # chapter files without suffix, relative, in order
    macros: dict = field(default_factory=dict)  # TeX macros the book defines ("\\R" -> "\\mathbb{R}")
    source: Path | None = None  # the file the order came from


def read_book(root: Path, report: Report) -> Book:
    """What the book files in `root` say (an empty Book when there are none)."""
    book = Book()
    for name in BOOK_FILES:
        path = root / name
        if not path.is_file():
            continue
        data = _yaml(path, report)
        if not isinstance(data, dict):
            continue
        if name == "_toc.yml":
            book.order = book.order or _toc_v1(data)
            book.source = book.source or path
        elif name == "myst.yml":
            project = data.get("project") if isinstance(data.get("project"), dict) else {}
            book.title = book.title or str(project.get("title") or "")
            bib = project.get("bibliography")
            book.bibliography = book.bibliography or _first(bib)
            if isinstance(project.get("toc"), list) and not book.order:
                book.order, book.source = _entries(project["toc"]), path
            book.macros.update(_macros(project.get("math")))
        elif name == "_quarto.yml":
            b = data.get("book") if isinstance(data.get("book"), dict) else {}
            book.title = book.title or str(b.get("title") or "")
            book.bibliography = book.bibliography or _first(data.get("bibliography"))
            if isinstance(b.get("chapters"), list) and not book.order:
                book.order, book.source = _entries(b["chapters"]), path
        elif name == "_config.yml":
            book.title = book.title or str(data.get("title") or "")
            book.bibliography = book.bibliography or _first(data.get("bibtex_bibfiles"))
            # Jupyter Book 1: sphinx: config: mathjax3_config: tex: macros: {R: "\\mathbb{R}"}
            tex = _get(data, "sphinx", "config", "mathjax3_config", "tex", "macros")
            book.macros.update(_macros(tex))
    return book


def _yaml(path: Path, report: Report):
    import yaml
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        mark = getattr(e, "problem_mark", None)
        report.warning(path, (mark.line + 1) if mark else 1, f"could not read this book file ({e}); its chapter "
                       "order, title and bibliography are not used", rule="book")
        return None


def _get(data, *keys):
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)
    return data


def _macros(value) -> dict:
    """TeX macros as KaTeX takes them ("\\R" -> body) from a book file's mapping: names with or without
    the backslash; MathJax's [body, nargs] lists keep their body (KaTeX counts #1, #2 itself)."""
    out = {}
    for name, body in (value.items() if isinstance(value, dict) else []):
        if isinstance(body, list) and body and isinstance(body[0], str):
            body = body[0]
        if isinstance(name, str) and isinstance(body, str) and name.strip("\\"):
            out["\\" + name.lstrip("\\")] = body
    return out


def _first(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return ""


def _toc_v1(data: dict) -> list[str]:
    out = [str(data["root"])] if data.get("root") else []
    for key in ("chapters", "sections"):
        if isinstance(data.get(key), list):
            out += _entries(data[key])
    for part in data.get("parts") or []:
        if isinstance(part, dict) and isinstance(part.get("chapters"), list):
            out += _entries(part["chapters"])
    return out


def _entries(items: list) -> list[str]:
    """Files of a toc list, depth first: `file:` entries (Jupyter Book), plain strings and `part:`/`chapters:`
    groups (Quarto), `children:`/`sections:` nesting."""
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            if isinstance(item.get("file"), str):
                out.append(item["file"])
            for key in ("chapters", "sections", "children"):
                if isinstance(item.get(key), list):
                    out += _entries(item[key])
    return [_stem(f) for f in out]


def _stem(file: str) -> str:
    p = Path(file.strip().lstrip("./"))
    return str(p.with_suffix("")) if p.suffix in (".md", ".qmd", ".ipynb", ".rst") else str(p)
