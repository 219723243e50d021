"""`neuralpath.toml`: the site's settings, their types and defaults.

A site folder without `neuralpath.toml` is valid too: every key takes its default and the folder itself
is the content folder ("plain folder" mode, for notes an author already has).
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from neuralpath.errors import Report

CONFIG_NAME = "neuralpath.toml"

# section -> key -> (type, default)
SCHEMA: dict[str, dict[str, tuple[type | tuple, object]]] = {
    "site": {
        "title": (str, "Notes"),
        "tagline": (str, ""),
        "description": (str, ""),
        "base_url": (str, "/"),
        "author": (str, "The Neural-Path authors"),
        "author_role": (str, ""),
        "author_bio": (str, ""),
        "language": (str, "en"),
        # each note's "Report an error" link, e.g. "https://github.com/o/r/issues/new?title=Error+in+{path}";
        # {path} (source file from the site root), {id}, {title} and {url} are filled in, URL-encoded
        "report_error_url": (str, ""),
    },
    "build": {
        "content_dir": (str, "content"),
        "output_dir": (str, "public"),
        "execute": (bool, True),
        "timeout": ((int, float), 60),
        "memory_limit_mb": (int, 2048),
        "output_limit_kb": (int, 100),
        "allow_raw_html": (bool, False),
        "search_shard_size": (int, 250),
    },
    "reading": {
        "words_per_minute": (int, 200),
        "seconds_per_display_equation": ((int, float), 12),
        "seconds_per_code_block": ((int, float), 15),
    },
    "math": {"macros": (dict, {})},
    "bibliography": {"file": (str, "references.bib")},  # BibTeX file, relative to the site root
}


# Macros every site has (docs/authoring.md lists them); `neuralpath new site` writes them into the new
# site's neuralpath.toml, where the author sees them and can change them.
DEFAULT_MACROS = {
    "\\R": "\\mathbb{R}", "\\N": "\\mathbb{N}", "\\Z": "\\mathbb{Z}", "\\C": "\\mathbb{C}",
    "\\E": "\\mathbb{E}", "\\P": "\\mathbb{P}", "\\1": "\\mathbf{1}",
    "\\Var": "\\operatorname{Var}", "\\Cov": "\\operatorname{Cov}", "\\KL": "D_{\\mathrm{KL}}", "\\T": "^{\\top}",
    "\\norm": "\\left\\lVert #1 \\right\\rVert", "\\abs": "\\left\\lvert #1 \\right\\rvert",
    "\\inner": "\\left\\langle #1, #2 \\right\\rangle", "\\tr": "\\operatorname{tr}",
    "\\diag": "\\operatorname{diag}", "\\rank": "\\operatorname{rank}",
    "\\argmin": "\\operatorname*{arg\\,min}", "\\argmax": "\\operatorname*{arg\\,max}",
    "\\softmax": "\\operatorname{softmax}", "\\dd": "\\mathrm{d}",
}


@dataclass
class Config:
    root: Path
    content_dir: Path
    output_dir: Path
    has_file: bool
    site: dict = field(default_factory=dict)
    build: dict = field(default_factory=dict)
    reading: dict = field(default_factory=dict)
    macros: dict = field(default_factory=dict)
    bibliography: dict = field(default_factory=dict)  # file; configured: whether neuralpath.toml names it
    book: object = None  # a plain folder's Jupyter Book or Quarto book files (content/book.py), or None

    @property
    def bib_path(self) -> Path:
        """The BibTeX file citations are looked up in (it need not exist when nothing is cited)."""
        return self.root / self.bibliography.get("file", "references.bib")

    @property
    def cache_dir(self) -> Path:
        return self.root / ".neuralpath"

    @property
    def base_path(self) -> str:
        """The path part of base_url, always ending in '/', used to prefix site-relative links."""
        url = self.site["base_url"]
        if "://" in url:
            url = "/" + url.split("://", 1)[1].partition("/")[2]
        return "/" + url.strip("/") + "/" if url.strip("/") else "/"


def _suggest(key: str, options) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def load_config(root: Path, report: Report) -> Config:
    """Read `root/neuralpath.toml` if present; type errors and unknown keys go to `report`."""
    root = root.resolve()
    path = root / CONFIG_NAME
    data: dict = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as e:
            report.error(path, 1, f"not UTF-8 text (byte {e.start}); save the file as UTF-8", rule="config")
        except tomllib.TOMLDecodeError as e:
            line = getattr(e, "lineno", None) or _toml_line(str(e))
            report.error(path, line, f"invalid TOML: {e}", rule="config")
    values: dict[str, dict] = {}
    for section, keys in SCHEMA.items():
        given = data.get(section, {})
        if not isinstance(given, dict):
            report.error(path, _line_of(path, f"{section}"), f"[{section}] must be a table", rule="config")
            given = {}
        values[section] = {}
        for key, (typ, default) in keys.items():
            val = given.get(key, default)
            if not isinstance(val, typ) or (typ is int and isinstance(val, bool)):
                names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
                report.error(path, _line_of(path, key), f"[{section}] {key} must be {names}, got {val!r}",
                             rule="config")
                val = default
            values[section][key] = val
        for key in given:
            if key not in keys:
                report.warning(path, _line_of(path, key),
                               f"unknown key [{section}] {key}{_suggest(key, keys)}", rule="config")
    for section in data:
        if section not in SCHEMA:
            report.warning(path, _line_of(path, section),
                           f"unknown section [{section}]{_suggest(section, SCHEMA)}", rule="config")
    _check_report_url(path, values["site"], report)
    # the documented site macros, which the site's [math.macros] extend or override
    macros = {**DEFAULT_MACROS, **{str(k): str(v) for k, v in values["math"]["macros"].items()}}
    bib = values["bibliography"]
    if not bib["file"].strip() or "\0" in bib["file"]:
        report.error(path, _line_of(path, "file"), "[bibliography] file must name a BibTeX file, e.g. "
                     '"references.bib"', rule="config")
        bib["file"] = "references.bib"
    given_bib = data.get("bibliography")
    bib["configured"] = isinstance(given_bib, dict) and isinstance(given_bib.get("file"), str)
    has_file = path.is_file()
    content_dir = (root / values["build"]["content_dir"]) if has_file else root
    output_dir = root / values["build"]["output_dir"]
    book = None
    if not has_file:  # a plain folder: its title, and what a Jupyter Book or Quarto book file says
        from neuralpath.content.book import read_book
        book = read_book(root, report)
        values["site"]["title"] = book.title or root.name.replace("-", " ").replace("_", " ").title() or "Notes"
        values["site"]["description"] = values["site"]["description"] or values["site"]["title"]
        if book.bibliography:
            bib["file"], bib["configured"] = book.bibliography, True
        macros = {**macros, **book.macros}
    return Config(root=root, content_dir=content_dir.resolve(), output_dir=output_dir.resolve(),
                  has_file=has_file, site=values["site"], build=values["build"],
                  reading=values["reading"], macros=macros, bibliography=bib, book=book)


REPORT_FIELDS = ("path", "id", "title", "url")


def _check_report_url(path: Path, site: dict, report: Report) -> None:
    """[site] report_error_url: an http(s) or mailto address whose {placeholders} are the known fields."""
    import string
    url = site["report_error_url"]
    if not url:
        return
    line = _line_of(path, "report_error_url")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(url) if f is not None]
    except ValueError as e:
        report.error(path, line, f"[site] report_error_url: {e}; write a literal brace as {{{{ or }}}}", rule="config")
        site["report_error_url"] = ""
        return
    unknown = [f for f in fields if f not in REPORT_FIELDS]
    if unknown:
        report.error(path, line, f"[site] report_error_url: unknown placeholder {{{unknown[0]}}}; use "
                     + ", ".join(f"{{{f}}}" for f in REPORT_FIELDS), rule="config")
        site["report_error_url"] = ""
    elif not url.startswith(("https://", "http://", "mailto:")):
        report.error(path, line, "[site] report_error_url must start with https://, http:// or mailto:",
                     rule="config")
        site["report_error_url"] = ""


def _line_of(path: Path, needle: str) -> int:
    try:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith((needle, f"[{needle}]", f'"{needle}"')):
                return i
    except (OSError, UnicodeDecodeError):
        pass
    return 1


def _toml_line(msg: str) -> int:
    import re
    m = re.search(r"line (\d+)", msg)
    return int(m.group(1)) if m else 1
