"""Citations from BibTeX: the site's bibliography, what a citation shows, each body's References section,
the check of every cited key, and the Bibliography page.

The BibTeX file is named in `neuralpath.toml` (`[bibliography] file`, default `references.bib` at the site
root). It is read with pybtex's BibTeX scanner (its own parser stops at the first broken entry, so each
entry is scanned here and a broken one reported at its line while the rest are still read); names are
split by pybtex's `Person`, and LaTeX in fields (accents, braces that protect case, dashes) decoded with
pybtex's LaTeX reader and latexcodec.

Citations render author-year: "(Eckart and Young, 1936)", "Eckart and Young (1936)", "Vaswani et al.
(2017)"; works by the same authors in the same year get 2020a, 2020b, in title order, across the site.
A body's References section (the works it cites, then its front matter's `further_reading`) is appended
to its HTML by the render stage, and `body_key` below is part of the body's render key, so editing an
entry in the .bib file renders again exactly the bodies that show it.
"""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from neuralpath.content.model import Intro, Source
from neuralpath.errors import Report

BIBLIOGRAPHY = "page:bibliography"  # the body id of the Bibliography page

NEXT_ENTRY = re.compile(r"^[ \t]*@", re.M)
ENTRY_HEAD = re.compile(r"@\s*([A-Za-z]\w*)\s*[{(]\s*([^\s,}]*)")
_FORMAT_CMD = re.compile(r"\\(?:emph|textit|textbf|textsc|textrm|textsf|texttt|textup|textmd|textsl|textnormal|"
                         r"mbox|hbox|url|nolinkurl|mathrm|enquote)\s*(?=\{)")
_SWITCH = re.compile(r"\\(?:em|it|bf|sc|rm|sf|tt|sl|normalfont|itshape|bfseries|scshape|upshape|relax)(?![A-Za-z])\s*")
_LOGO = re.compile(r"\\(LaTeX|TeX|BibTeX|LaTeXe)(?![A-Za-z])(?:\{\})?\s?")  # \TeX{} book -> TeX book
_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
PERSON_FIELDS = ("author", "editor")


class Cite(NamedTuple):
    """What a citation of a work shows: the authors' names ("Eckart and Young", "Vaswani et al."), the
    year with its letter ("2020a"), and for the preview the work's title and its formatted reference."""

    names: str
    year: str
    title: str
    summary: str


# -- LaTeX in field values ----------------------------------------------------------------------------

def latex_text(value: str) -> str:
    """A BibTeX field as text: accents decoded ({\\"o} -> ö), case-protecting braces dropped, `--` and
    `---` as en and em dashes, `~` as a no-break space, formatting commands (\\emph, \\textit, ...) dropped."""
    if not value:
        return ""
    if "\\" in value or "``" in value or "''" in value:
        text = _LOGO.sub(lambda m: m.group(1), _SWITCH.sub("", _FORMAT_CMD.sub("", value)))
        text = re.sub(r"\\([ij])(?![A-Za-z])\s*", r"\1", text)  # dotless i and j under an accent: \"{\i} -> ï
        text = re.sub(r"(?<!\\)%", r"\\%", text)  # a bare % is a percent sign here, not a TeX comment
        try:
            from pybtex.richtext import Text

            text = str(Text.from_latex(text))
        except Exception:  # noqa: BLE001 - odd LaTeX: decode what latexcodec can, keep the rest
            try:
                import codecs

                import latexcodec  # noqa: F401 - registers the codec

                text = codecs.decode(text, "ulatex")
            except Exception:  # noqa: BLE001
                pass
            text = text.replace("{", "").replace("}", "")
        text = text.replace("\\$", "$")
    else:
        text = value.replace("{", "").replace("}", "").replace("---", "\u2014").replace("--", "\u2013")
        text = text.replace("~", "\u00a0")
    return re.sub(r"[ \t\r\n]+", " ", text).strip()  # no-break spaces (~) stay


def _plain(text: str) -> str:
    """For sorting: accents and case removed."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


# -- works ---------------------------------------------------------------------------------------------

@dataclass
class Name:
    last: str  # with its particle: "von Neumann", "Van Loan"
    sort: str  # last name without the particle, for sorting
    initials: str  # "G. H."
    lineage: str  # "Jr."

    @property
    def reference(self) -> str:
        return ", ".join(p for p in (self.last, self.initials, self.lineage) if p)


def _initials(parts: list[str]) -> str:
    out = []
    for part in parts:
        word = latex_text(part)
        if not word:
            continue
        pieces = [p for p in word.split("-") if p]
        out.append("-".join(p if p.endswith(".") and len(p) <= 3 else p[0].upper() + "." for p in pieces))
    return " ".join(out)


def _names(value: str, problems: list[str]) -> tuple[list[Name], bool]:
    """Authors or editors -> (names, whether the list ends with 'and others')."""
    import pybtex.errors
    from pybtex.bibtex.utils import split_name_list
    from pybtex.database import Person

    names, others = [], False
    for raw in split_name_list(value):
        if raw.strip().lower() == "others":
            others = True
            continue
        with pybtex.errors.capture() as captured:
            person = Person(raw)
        problems += [str(e) for e in captured]
        last = latex_text(" ".join(person.prelast_names + person.last_names))
        if not last:
            continue
        names.append(Name(last, _plain(latex_text(" ".join(person.last_names)) or last),
                          _initials(person.first_names + person.middle_names),
                          latex_text(" ".join(person.lineage_names))))
    return names, others


@dataclass
class Work:
    """One entry of the bibliography."""

    key: str
    type: str  # article, book, inproceedings, ... (lower case)
    fields: dict[str, str]  # decoded field values, lower-case names (url, doi and eprint as written)
    line: int
    authors: list[Name] = field(default_factory=list)
    editors: list[Name] = field(default_factory=list)
    et_al: bool = False
    year_base: str = "n.d."
    suffix: str = ""  # "a", "b", ... when the same names have two works in one year

    @property
    def year(self) -> str:
        return self.year_base + self.suffix

    @property
    def title(self) -> str:
        return self.fields.get("title", "")

    @property
    def who(self) -> list[Name]:
        return self.authors or self.editors

    @property
    def names(self) -> str:
        """As a citation names the work: 'Eckart', 'Eckart and Young', 'Vaswani et al.'."""
        who = self.who
        if not who:
            return self.fields.get("organization") or self.fields.get("institution") or self.title or self.key
        if len(who) >= 3 or (self.et_al and len(who) >= 1):
            return f"{who[0].last} et al."
        return " and ".join(n.last for n in who)

    def sort_key(self) -> tuple:
        who = self.who
        first = [(n.sort, _plain(n.last), n.initials) for n in who] or [(_plain(self.names), "", "")]
        return (first, self.year_base, self.suffix, _plain(self.title), self.key)

    def segments(self) -> list[tuple]:
        """The formatted reference as ("t", text), ("em", text) and ("a", text, url) pieces."""
        f = self.fields
        out: list[tuple] = []

        def text(s: str) -> None:
            if s:
                out.append(("t", s))

        def sentence(s: str, em: bool = False) -> None:
            if not s:
                return
            out.append(("em" if em else "t", s))
            if not s.rstrip().endswith((".", "?", "!")):
                out.append(("t", "."))
            out.append(("t", " "))

        who = self.who
        if who:
            listed = [n.reference for n in who]
            if self.et_al:  # "and others" in the .bib file
                names = ", ".join(listed) + " et al."
            else:
                names = (", ".join(listed[:-1]) + " and " + listed[-1]) if len(listed) > 1 else listed[0]
            if not self.authors:
                names += " (Eds.)" if len(who) > 1 else " (Ed.)"
            text(f"{names} ({self.year}). ")
        else:
            sentence(self.title, em=self.type in ("book", "phdthesis", "mastersthesis"))
            text(f"({self.year}). ")
        kind = self.type
        title = self.title if who else ""
        pages = f.get("pages", "")
        if kind == "article":
            sentence(title)
            journal = f.get("journal") or f.get("journaltitle", "")
            if journal:
                out.append(("em", journal))
                vol = f.get("volume", "")
                vol += f"({f['number']})" if f.get("number") else ""
                tail = ", ".join(p for p in (vol, pages) if p)
                text((", " + tail if tail else "") + ". ")
        elif kind in ("book", "booklet", "manual", "proceedings"):
            sentence(title, em=True)
            if f.get("edition"):
                sentence(f"{f['edition']} edition" if not f["edition"].lower().endswith("ed.") else f["edition"])
            sentence(f.get("publisher") or f.get("organization", ""))
        elif kind in ("inproceedings", "incollection", "inbook", "conference"):
            sentence(title)
            if f.get("booktitle"):
                eds = [n.reference for n in self.editors] if self.authors else []
                text("In " + (" and ".join(eds) + (" (Eds.), " if len(eds) > 1 else " (Ed.), ") if eds else ""))
                out.append(("em", f["booktitle"]))
                text((f", pp. {pages}" if pages else "") + ". ")
            sentence(f.get("publisher") or f.get("organization", ""))
        elif kind in ("phdthesis", "mastersthesis", "thesis"):
            sentence(title, em=True)
            what = {"phdthesis": "PhD thesis", "mastersthesis": "Master's thesis"}.get(kind, f.get("type", "Thesis"))
            sentence(", ".join(p for p in (what, f.get("school") or f.get("institution", "")) if p))
        elif kind in ("techreport", "report"):
            sentence(title)
            what = f.get("type") or "Technical report"
            sentence(", ".join(p for p in (" ".join(p for p in (what, f.get("number", "")) if p),
                                           f.get("institution", "")) if p))
        else:
            sentence(title)
            sentence(f.get("howpublished") or f.get("publisher") or f.get("organization", ""))
        eprint = f.get("eprint", "").strip()
        if eprint and (f.get("archiveprefix", "") or f.get("eprinttype", "")).lower() == "arxiv":
            out.append(("a", f"arXiv:{eprint}", "https://arxiv.org/abs/" + quote(eprint, safe="/.:-_")))
            text(" ")
        doi = _doi(f.get("doi", ""))
        if doi:
            out.append(("a", f"doi:{doi}", "https://doi.org/" + quote(doi, safe="/:;()[]._-")))
            text(" ")
        url = _url(f.get("url", ""))
        if url and not (doi and "doi.org/" in url):
            out.append(("a", url, url))
        while out and out[-1][0] == "t" and not out[-1][1].strip():
            out.pop()
        if out and out[-1][0] == "t":
            out[-1] = ("t", out[-1][1].rstrip())
        return out


def _doi(value: str) -> str:
    doi = re.sub(r"\s+", "", value.replace("{", "").replace("}", ""))
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", "", doi, flags=re.I)
    return doi if doi.startswith("10.") else ""


def _url(value: str) -> str:
    url = re.sub(r"\s+", "", value.replace("{", "").replace("}", "").replace("\\url", ""))
    url = url.replace("\\_", "_").replace("\\%", "%").replace("\\&", "&").replace("\\#", "#")
    return url if re.match(r"https?://[^\s\"<>]+$", url) else ""


def to_html(segments: list[tuple]) -> str:
    out = []
    for seg in segments:
        if seg[0] == "em":
            out.append(f"<em>{escape(seg[1])}</em>")
        elif seg[0] == "a":
            out.append(f'<a href="{escape(seg[2])}" rel="noopener">{escape(seg[1])}</a>')
        else:
            out.append(escape(seg[1]))
    return "".join(out)


def to_text(segments: list[tuple]) -> str:
    return "".join(seg[1] for seg in segments)


def md_escape(text: str) -> str:
    """Text that Markdown shows as written (every ASCII punctuation character backslash-escaped)."""
    return _MD_PUNCT.sub(r"\\\1", re.sub(r"\s+", " ", text))


def to_markdown(segments: list[tuple]) -> str:
    out = []
    for seg in segments:
        if seg[0] == "em":
            out.append(f"*{md_escape(seg[1])}*")
        elif seg[0] == "a":
            url = seg[2].replace(" ", "%20").replace("<", "%3C").replace(">", "%3E").replace("\\", "%5C")
            out.append(f"[{md_escape(seg[1])}](<{url}>)")
        else:
            out.append(md_escape(seg[1]))
    return "".join(out)


# -- the bibliography -----------------------------------------------------------------------------------

@dataclass
class Bibliography:
    path: Path
    exists: bool = False
    works: dict[str, Work] = field(default_factory=dict)
    _cites: dict[str, Cite] = field(default_factory=dict)
    _html: dict[str, str] = field(default_factory=dict)
    _sections: dict[str, str] = field(default_factory=dict)

    def cite(self, key: str) -> Cite | None:
        """What a citation of `key` shows, or None for a key not in the bibliography."""
        hit = self._cites.get(key)
        if hit is None:
            work = self.works.get(key)
            if work is None:
                return None
            segs = work.segments()
            hit = self._cites[key] = Cite(work.names, work.year, work.title or work.names, to_text(segs))
            self._html[key] = to_html(segs)
        return hit

    def html(self, key: str) -> str:
        self.cite(key)
        return self._html.get(key, "")

    def ordered(self, keys) -> list[Work]:
        return sorted({self.works[k].key: self.works[k] for k in keys if k in self.works}.values(),
                      key=Work.sort_key)

    def section_html(self, cited: list[str], further: list[str], taken: set[str] = frozenset()) -> str:
        """A body's References section: the works it cites in author-year order, then under "Further
        reading" the further works its front matter lists; '' when there are none."""
        works = self.ordered(cited)
        shown = {w.key for w in works}
        more = [w for w in self.ordered(further) if w.key not in shown]
        if not works and not more:
            return ""

        def heading(tag: str, text: str, hid: str) -> str:
            hid = hid if hid not in taken else f"{hid}-list"
            return (f'<{tag} id="{hid}">{text} <a class="header-anchor" href="#{hid}" '
                    f'aria-label="Link to section “{text}”">#</a></{tag}>\n')

        def items(ws: list[Work]) -> str:
            return ('<ul class="reference-list">\n'
                    + "".join(f'<li id="ref-{escape(w.key)}">{self.html(w.key)}</li>\n' for w in ws) + "</ul>\n")

        out = ['<section class="references" aria-label="References">\n']
        if works:
            out += [heading("h2", "References", "references"), items(works)]
        if more:
            out += [heading("h3" if works else "h2", "Further reading", "further-reading"), items(more)]
        out.append("</section>\n")
        return "".join(out)

    def body_section(self, site, body_id: str) -> str:
        """The References section of one body of `site` (memoised: asked for its key, then to render)."""
        hit = self._sections.get(body_id)
        if hit is None:
            cited, further = references_of(site, body_id)
            parsed = site.parsed.get(body_id)
            taken = {h[1] for h in parsed.headings} if parsed is not None else set()
            hit = self._sections[body_id] = self.section_html(cited, further, taken) if cited or further else ""
        return hit

    def body_key(self, site, body_id: str) -> tuple:
        """What a body's HTML takes from the bibliography: what each of its citations shows and its
        References section (part of the body's render key)."""
        cited, further = references_of(site, body_id)
        if not cited and not further:
            return ()
        return (tuple((k, self.cite(k)) for k in cited), self.body_section(site, body_id))

    def suggest(self, key: str) -> str:
        same = [k for k in self.works if k.lower() == key.lower()]
        close = same or difflib.get_close_matches(key, list(self.works), n=3, cutoff=0.75)
        if not close:
            return ""
        return " (did you mean " + ", ".join(f"'@{c}'" for c in close) + "?)"


def references_of(site, body_id: str) -> tuple[list[str], list[str]]:
    """The keys a body cites (in order of first citation) and those its front matter lists as further reading."""
    parsed = site.parsed.get(body_id)
    cited = list(dict.fromkeys(k for k, _ in parsed.citations)) if parsed is not None else []
    doc = site.docs.get(body_id)
    further = list(doc.further_reading) if doc is not None else []
    return cited, further


# -- reading the .bib file ------------------------------------------------------------------------------

def _config_line(path: Path, needle: str) -> int:
    try:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith(needle):
                return i
    except (OSError, UnicodeDecodeError):
        pass
    return 1


def load_bibliography(config, report: Report) -> Bibliography:
    """The site's bibliography; every problem with the file is a located finding, never an exception."""
    path = config.bib_path
    bib = Bibliography(path=path)
    if not path.is_file():
        if config.bibliography.get("configured"):
            toml = config.root / "neuralpath.toml"
            report.error(toml, _config_line(toml, "file"), f"[bibliography] file: {report.relative(path)} does "
                         "not exist", rule="bibliography")
        return bib
    from neuralpath.content.frontmatter import decode

    try:
        raw = path.read_bytes()
    except OSError as e:
        report.error(path, 1, f"cannot read the bibliography: {e.strerror}", rule="bibliography")
        return bib
    text = decode(path, raw, report)
    bib.exists = True
    if text is None:
        return bib
    try:
        _read_entries(text, path, bib, report)
    except Exception as e:  # noqa: BLE001 - a .bib file must never end a build with a traceback
        report.error(path, 1, f"could not read the bibliography: {type(e).__name__}: {e}", rule="bib-malformed")
    _disambiguate(bib.works.values())
    return bib


def _read_entries(text: str, path: Path, bib: Bibliography, report: Report) -> None:
    from pybtex.database.input.bibtex import LowLevelParser, month_names
    from pybtex.scanner import PrematureEOF, PybtexSyntaxError
    from pybtex.utils import CaseInsensitiveDict

    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return bisect.bisect_right(starts, pos)

    macros = CaseInsensitiveDict(month_names)
    seen: dict[str, int] = {}  # lower-case key -> line of its entry
    offset = 0
    while offset < len(text):
        parser = LowLevelParser(text[offset:], macros=macros)
        try:
            for command, body in parser:
                start = offset + (parser.command_start or 0)
                if command.lower() in ("string", "preamble"):
                    continue
                key, fields = body
                _add_work(bib, command.lower(), key, fields, line_of(start), seen, path, report)
            break
        except PybtexSyntaxError as e:
            start = offset + (parser.command_start or 0)
            head = ENTRY_HEAD.match(text, start)
            what = f"entry '{head.group(2)}'" if head and head.group(2) else "entry"
            if isinstance(e, PrematureEOF):
                why = "it is never closed: a '}' (or a closing '\"' of a value) is missing"
            else:
                why = f"{e.error_type}: {e.args[0] if e.args else e}"
                line_err = line_of(offset) + parser.lineno - 1
                if line_err != line_of(start):
                    why += f" (at line {line_err})"
            report.error(path, line_of(start), f"malformed {what}: {why}; the entry is left out", rule="bib-malformed")
            nxt = NEXT_ENTRY.search(text, start + 1)
            if nxt is None:
                break
            offset = nxt.start()


def _add_work(bib: Bibliography, kind: str, key: str | None, fields: list, line: int, seen: dict[str, int],
              path: Path, report: Report) -> None:
    if not key:
        report.error(path, line, f"malformed entry: @{kind} has no key; the entry is left out", rule="bib-malformed")
        return
    if key.lower() in seen:
        report.error(path, line, f"duplicate key '{key}': already defined at line {seen[key.lower()]}; "
                     "rename one of the entries", rule="bib-duplicate")
        return
    seen[key.lower()] = line
    values: dict[str, str] = {}
    for name, parts in fields:
        lname = name.lower()
        if lname in values:
            report.warning(path, line, f"entry '{key}' has the field '{name}' twice; the first is used",
                           rule="bib-duplicate")
            continue
        values[lname] = " ".join("".join(parts).split())
    work = Work(key=key, type=kind, fields={}, line=line)
    problems: list[str] = []
    for name, value in values.items():
        if name in PERSON_FIELDS:
            names, others = _names(value, problems)
            if name == "author":
                work.authors, work.et_al = names, others
            else:
                work.editors = names
                work.et_al = work.et_al or (others and not work.authors)
        elif name in ("url", "doi", "eprint"):
            work.fields[name] = value
        else:
            work.fields[name] = latex_text(value)
    for problem in problems:
        report.warning(path, line, f"entry '{key}': {problem}", rule="bib-malformed")
    year = work.fields.get("year") or work.fields.get("date", "")[:4]
    m = re.search(r"\d{4}", year)
    work.year_base = m.group(0) if m else (year or "n.d.")
    bib.works[key] = work


def _disambiguate(works) -> None:
    """Same names, same year: 2020a, 2020b, ... in title order."""
    groups: dict[tuple, list[Work]] = {}
    for w in works:
        groups.setdefault((w.names, w.year_base), []).append(w)
    for group in groups.values():
        if len(group) > 1:
            group.sort(key=lambda w: (_plain(w.title), w.key))
            for i, w in enumerate(group):
                w.suffix = _letters(i)


def _letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(97 + r) + s
    return s


# -- checks and the Bibliography page -----------------------------------------------------------------

def check_citations(site, bib: Bibliography, report: Report) -> None:
    """Every cited key and every further-reading key must be in the bibliography."""
    where = report.relative(bib.path)

    def unknown(key: str) -> str:
        if not bib.exists:
            return (f"there is no bibliography file {where}: create it, or name yours in neuralpath.toml "
                    "([bibliography] file = \"...\")")
        return f"no entry in {where} has this key{bib.suggest(key)}"

    for body_id, p in site.parsed.items():
        doc, intro = site.docs.get(body_id), site.intros.get(body_id)
        if (doc is None and intro is None) or p is None:
            continue
        path = doc.source.path if doc is not None else intro.source.path
        for key, line in p.citations:
            if key not in bib.works:
                report.error(path, line, f"citation '@{key}': {unknown(key)}", rule="unknown-citation")
    for doc in site.docs.values():
        for key in doc.further_reading:
            if key not in bib.works:
                report.error(doc.source.path, doc.source.line_of("further_reading"),
                             f"further_reading '{key}': {unknown(key)}", rule="unknown-citation")


def bibliography_intros(content, parsed: dict, bib: Bibliography, root: Path) -> list[Intro]:
    """The Bibliography page's body (Markdown, rendered like any body so its links to notes are checked):
    every work in author-year order with the documents that cite it. None when the site has neither
    entries nor citations."""
    cited_in: dict[str, list] = {}
    further_in: dict[str, list] = {}
    any_citation = False
    for doc in content.docs:
        p = parsed.get(doc.id)
        if p is None or not doc.has_page:
            continue
        any_citation = any_citation or bool(p.citations)
        for key in dict.fromkeys(k for k, _ in p.citations):
            cited_in.setdefault(key, []).append(doc)
        for key in doc.further_reading:
            further_in.setdefault(key, []).append(doc)
    if not bib.works and not any_citation:
        return []
    lines = []
    for work in bib.ordered(bib.works):
        entry = f'- <span class="ref-anchor" id="ref-{escape(work.key)}"></span>{to_markdown(work.segments())}'
        notes = []
        for label, docs in (("Cited in", cited_in.get(work.key, [])), ("Further reading in", further_in.get(work.key, []))):
            if docs:
                notes.append(f"{label} " + ", ".join(f"[{md_escape(d.title)}](note:{d.id})" for d in docs) + ".")
        lines.append(entry + ("\\\n  " + " ".join(notes) if notes else ""))
    body = "\n".join(lines) + "\n" if lines else "The bibliography has no entries yet.\n"
    source_path = bib.path if bib.exists else root / "neuralpath.toml"
    return [Intro(BIBLIOGRAPHY, Source(source_path, {}, body, 1))]
