"""Site-wide indexes for readers, made after the parse: Results (every definition and every titled
theorem-like result, by part and module) and Notation (every row of every note's notation table, by
symbol). Each is written as a Markdown body and goes through the same parse, resolve and render path as
any note, so its math is rendered by KaTeX and each of its links is checked like an author's.

Also the notation check: two notes that give one symbol different meanings, with neither notation
table saying so (a row says so by linking to the other note, `[..](note:id)`), get a warning at both rows.
"""

from __future__ import annotations

import re

from neuralpath.content.model import Intro, Source
from neuralpath.errors import Report
from neuralpath.markdown.callouts import BLOCK_KINDS, RESULT_KINDS

RESULTS = "page:results"
NOTATION = "page:notation"

_STOP = frozenset("a an the of in on at to for by with and or as is are be its it this that from into over "
                  "under between than then we our any all each every not no here unless stated see".split())


def _words(text: str) -> set[str]:
    text = re.sub(r"\$[^$]*\$", " ", text)  # math in a meaning says little about what the symbol means
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return {w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in _STOP}


def _symbol_key(symbol: str) -> str:
    return re.sub(r"\s+", "", symbol)


def _sort_key(symbol: str) -> tuple:
    bare = re.sub(r"[$\\{}\s]|mathbb|mathcal|mathrm|operatorname|boldsymbol", "", symbol)
    return (bare.lower(), symbol)


def _link_text(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def index_intros(content, parsed: dict, root) -> list[Intro]:
    """The Results and Notation bodies of this site (none when no note has a result or a notation row)."""
    notes = [n for m in content.modules for n in m.notes if n.id in parsed]
    out = []
    results = _results(content, parsed)
    if results:
        out.append(Intro(RESULTS, Source(root / "neuralpath.toml", {}, results, 1)))
    notation = _notation(notes, parsed)
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


def _notation(notes, parsed: dict) -> str:
    by_symbol: dict[str, list] = {}
    shown: dict[str, str] = {}
    for note in notes:
        for symbol, meaning, _line in parsed[note.id].notation:
            key = _symbol_key(symbol)
            by_symbol.setdefault(key, []).append((meaning, note))
            shown.setdefault(key, symbol)
    lines = []
    for key in sorted(by_symbol, key=lambda k: _sort_key(shown[k])):
        lines.append(shown[key])
        for meaning, note in by_symbol[key]:
            lines.append(f": {meaning} ([{_link_text(note.title)}](note:{note.id}#notation))")
        lines.append("")
    return "\n".join(lines)


def check_notation(content, parsed: dict, report: Report) -> None:
    """Warn where two notes give one symbol different meanings and neither row links to the other note."""
    rows: dict[str, list] = {}
    for module in content.modules:
        for note in module.notes:
            p = parsed.get(note.id)
            for symbol, meaning, line in (p.notation if p else []):
                rows.setdefault(_symbol_key(symbol), []).append((note, meaning, line, symbol))
    for group in rows.values():
        for i, (a, ma, la, symbol) in enumerate(group):
            for b, mb, lb, _ in group[i + 1:]:
                if a.id == b.id or f"note:{b.id}" in ma or f"note:{a.id}" in mb:
                    continue
                wa, wb = _words(ma), _words(mb)
                if not wa or not wb or len(wa & wb) / len(wa | wb) >= 0.25:
                    continue
                for note, line, other, other_line, meaning in ((a, la, b, lb, mb), (b, lb, a, la, ma)):
                    report.warning(note.source.path, line,
                                   f"{symbol} also means '{meaning}' in {report.relative(other.source.path)}:"
                                   f"{other_line}; if the meanings differ on purpose, say so in one row with a "
                                   f"link to the other note, e.g. ([unlike here](note:{other.id}#notation))",
                                   rule="notation-clash")
