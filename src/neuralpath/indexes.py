"""Site-wide indexes for readers, made after the parse: Results (every definition and every titled
theorem-like result, by part and module) and Notation (every row of every note's notation table, by
symbol). Each is written as a Markdown body and goes through the same parse, resolve and render path as
any note, so its math is rendered by KaTeX and each of its links is checked like an author's.

Also the notation check: a note that gives a symbol another meaning than the first note to define it,
with neither row saying so (a row says so by linking to the other note, `[..](note:id)`), gets a warning.
"""

from __future__ import annotations

import re

from neuralpath.cache import digest
from neuralpath.content.model import Intro, Source
from neuralpath.errors import Report
from neuralpath.markdown.callouts import BLOCK_KINDS, RESULT_KINDS
from neuralpath.markdown.parser import REF_RE

RESULTS = "page:results"
NOTATION = "page:notation"

_STOP = frozenset("a an the of in on at to for by with and or as is are be its it this that from into over "
                  "under between than then we our any all each every not no here unless stated see".split())


_MATH = re.compile(r"\$[^$]*\$")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_WORD = re.compile(r"[a-z]{3,}")
_SPACE = re.compile(r"\s+")


def _words(text: str) -> set[str]:
    text = _MATH.sub(" ", text)  # math in a meaning says little about what the symbol means
    text = _LINK_TARGET.sub("]", text)
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _symbol_key(symbol: str) -> str:
    return _SPACE.sub("", symbol)


def _sort_key(symbol: str) -> tuple:
    bare = re.sub(r"[$\\{}\s]|mathbb|mathcal|mathrm|operatorname|boldsymbol", "", symbol)
    return (bare.lower(), symbol)


def _link_text(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def index_intros(content, parsed: dict, root, cache=None) -> list[Intro]:
    """The Results and Notation bodies of this site (none when no note has a result or a notation row).
    With a cache, the two texts are kept under a key of what they are made of (the part titles, the
    module labels and titles, each note's id and title and the theorem-like blocks and notation rows its
    parse found, the ids that references may name): an edit that changes none of them (a sentence added
    to a note) is then not a pass over every row of the site."""
    notes = [n for m in content.modules for n in m.notes if n.id in parsed]
    key = digest([(p.title, [(m.label, m.title, [(n.id, n.title, parsed[n.id].blocks, parsed[n.id].notation)
                                                 for n in m.notes if n.id in parsed])
                             for m in p.modules]) for p in content.parts], sorted(parsed))
    hit = cache.get_meta("index_intros") if cache is not None else None
    if hit is not None and hit[0] == key:
        results, notation = hit[1]
    else:
        results, notation = _results(content, parsed), _notation(notes, parsed)
        if cache is not None:
            cache.set_meta("index_intros", (key, (results, notation)))
    out = []
    if results:
        out.append(Intro(RESULTS, Source(root / "neuralpath.toml", {}, results, 1)))
    if notation:
        out.append(Intro(NOTATION, Source(root / "neuralpath.toml", {}, notation, 1)))
    return out


def _results(content, parsed: dict) -> str:
    lines = []
    for part in content.parts:
        part_lines = []
        for module in part.modules:
            module_lines = []
            for note in module.notes:
                p = parsed.get(note.id)
                if p is None:
                    continue
                for kind, number, title, _label, _line, anchor in p.blocks:
                    if kind == "definition" or (kind in RESULT_KINDS and title):
                        name = f"{BLOCK_KINDS[kind][0]} {number}"
                        what = f"{name} ({title})" if title else name
                        module_lines.append(f"- [{_link_text(what)}](note:{note.id}#{anchor}) "
                                            f"in [{_link_text(note.title)}](note:{note.id})")
            if module_lines:
                part_lines += [f"### {module.label}: {module.title}", "", *module_lines, ""]
        if part_lines:
            lines += [f"## {part.title}", "", *part_lines]
    return "\n".join(lines)


def _qualify_refs(text: str, note_id: str, ids: set[str]) -> str:
    """`\\ref{prop:x}` in a note's table row means that note's label: on the site-wide page it is
    written `\\ref{note-id:prop:x}`; `[x](#anchor)` likewise becomes `[x](note:note-id#anchor)`."""
    def ref(m):
        label = m.group(2)
        if label.partition(":")[0] in ids:
            return m.group(0)
        return f"\\{m.group(1)}{{{note_id}:{label}}}"

    text = REF_RE.sub(ref, text)
    return re.sub(r"\]\(#([^)\s]+)\)", lambda m: f"](note:{note_id}#{m.group(1)})", text)


def _notation(notes, parsed: dict) -> str:
    """One entry per symbol; under it one line per meaning, with every note that gives it that meaning."""
    meanings: dict[str, dict[str, dict]] = {}  # symbol key -> meaning -> notes by id, in order
    shown: dict[str, str] = {}
    ids = set(parsed)
    for note in notes:
        for symbol, meaning, _line in parsed[note.id].notation:
            meaning = _qualify_refs(meaning, note.id, ids)
            key = _symbol_key(symbol)
            shown.setdefault(key, symbol)
            meanings.setdefault(key, {}).setdefault(meaning, {}).setdefault(note.id, note)
    lines = []
    for key in sorted(meanings, key=lambda k: _sort_key(shown[k])):
        lines.append(shown[key])
        for meaning, users in meanings[key].items():
            where = ", ".join(f"[{_link_text(n.title)}](note:{n.id}#notation)" for n in users.values())
            lines.append(f": {meaning} ({where})")
        lines.append("")
    return "\n".join(lines)


def check_notation(content, parsed: dict, report: Report, cache=None) -> None:
    """Warn where a note gives a symbol a meaning that shares few words with the meaning the first note
    (in curriculum order) gave it, unless either row links to the other note. One comparison per row,
    so a site of any size is checked in linear time; the warning, at the later row, names both places.
    With a cache, which rows clash is kept under a key of everything the decision reads (each note's id
    and notation rows, in curriculum order); the warnings are written from it as they would be now."""
    notes = [(note, parsed[note.id].notation if parsed.get(note.id) else [])
             for module in content.modules for note in module.notes]
    rows = [(note.id, notation) for note, notation in notes]
    key = digest("notation-check", rows)
    hit = cache.get_meta("notation_clashes") if cache is not None else None
    if hit is not None and hit[0] == key:
        clashes = hit[1]
    else:
        clashes = _clashes(rows)
        if cache is not None:
            cache.set_meta("notation_clashes", (key, clashes))
    for b, line, symbol, meaning, a, ma, la in clashes:
        note, other = notes[b][0], notes[a][0]
        report.warning(note.source.path, line,
                       f"{symbol} means '{meaning}' here but '{ma}' in {report.relative(other.source.path)}:{la}; "
                       f"if the meanings differ on purpose, say so in this row with a link to the other "
                       f"note, e.g. ([unlike here](note:{other.id}#notation))", rule="notation-clash")


def _clashes(rows: list[tuple[str, list]]) -> list[tuple]:
    """(index of the later note, its line, symbol, meaning, index of the first note, its meaning, its line)
    for each clash of `rows` ((note id, notation rows) in curriculum order)."""
    first: dict[str, tuple] = {}
    out = []
    for i, (note_id, notation) in enumerate(rows):
        for symbol, meaning, line in notation:
            key = _symbol_key(symbol)
            if key not in first:
                first[key] = (i, meaning, line, _words(meaning))
                continue
            a, ma, la, wa = first[key]
            a_id = rows[a][0]
            if a_id == note_id or f"note:{note_id}" in ma or f"note:{a_id}" in meaning:
                continue
            wb = _words(meaning)
            if not wa or not wb or len(wa & wb) / len(wa | wb) >= 0.25:
                continue
            out.append((i, line, symbol, meaning, a, ma, la))
    return out
