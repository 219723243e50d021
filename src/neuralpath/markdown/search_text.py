"""What the search index gets of a rendered body: its text, block structure and heading ids.

Made by the renderer (each body's search text is rendered with it and cached beside it), read by the
search stage (`search.search_records`). Math is there as its TeX source between `\\(…\\)` or `\\[…\\]`
(the search UI shows it legibly); definitions and theorem-like results keep a marker
(`<div data-np-block="kind anchor">`) so the search stage can index each as a result of its own.
"""

from __future__ import annotations

import html as html_lib
import re

# What a record keeps of a body: Pagefind needs the text, the block elements (word and sentence
# boundaries) and the headings' ids (sub-results link to them); inline tags, class attributes and the
# "#" of heading and equation anchors are only work for it (and the "#" showed in sub-result titles).
# A body where an author marked elements for Pagefind (data-pagefind-*) keeps its markup as written:
# dropping the closing tag of a marked inline element would stretch the mark over the rest.
_ANCHORS = re.compile(r' ?<a class="(?:header-anchor|eq-num)"[^>]*>[^<]*</a>')
_INLINE = re.compile(r'</?(?:span|a|code|em|strong|sup|sub|small|mark|abbr|kbd|var|samp|del|ins|s|u|b|i)(?:\s[^>]*)?>')
_BLOCK_ATTRS = re.compile(r'<(p|div|pre|table|thead|tbody|tr|td|th|ul|ol|li|blockquote|figure|figcaption|dl|dt|dd)'
                          r'\s(?![^>]*data-np-block)[^>]*>')
# a theorem-like block as `markdown/callouts.py` renders it: <div class="thm thm-KIND" ... id="ANCHOR" ...>
_THM_OPEN = re.compile(r'<div class="thm thm-([a-z]+)"[^>]*?\sid="([^"]+)"[^>]*>')
# the kinds that become search results of their own, and the type a reader filters them by
BLOCK_TYPES = {"definition": "definition", "theorem": "theorem", "lemma": "theorem",
               "proposition": "theorem", "corollary": "theorem"}


def record_html(html: str) -> str:
    """A rendered body (math as delimited TeX) as the search index gets it: text and block structure."""
    html = _ANCHORS.sub("", html)
    if "data-pagefind" in html:
        return html
    html = _THM_OPEN.sub(lambda m: f'<div data-np-block="{m.group(1)} {m.group(2)}">'
                         if m.group(1) in BLOCK_TYPES else m.group(0), html)
    return _BLOCK_ATTRS.sub(r"<\1>", _INLINE.sub("", html))


_LABEL = re.compile(r"\\(?:label|tag)\{[^{}]*\}")
_MACRO = re.compile(r"\\([A-Za-z]+)(?![A-Za-z])")


def search_tex(tex: str, macros: dict[str, str], display: bool) -> str:
    r"""An equation as the index holds it: its TeX with the site's argument-free macros written out (so
    `D_{\mathrm{KL}}` finds an equation written `\KL`), without labels and tags, between `\[…\]` or
    `\(…\)`."""
    tex = _LABEL.sub("", tex).strip()
    tex = _MACRO.sub(lambda m: macros.get("\\" + m.group(1), m.group(0)) if "#" not in
                     macros.get("\\" + m.group(1), "#") else m.group(0), tex)
    return f"\\[{tex}\\]" if display else f"\\({tex}\\)"


_DIV = re.compile(r"<(/?)div\b[^>]*>")
_MARKED = re.compile(r'<div data-np-block="([a-z]+) ([^"]+)">')
_HEAD = re.compile(r"^\s*<p>(.*?)</p>", re.S)
_TAGS = re.compile(r"<[^>]+>")


def blocks(record: str):
    """The marked definitions and results of a record body: (type, anchor, heading text, inner HTML)."""
    for m in _MARKED.finditer(record):
        depth, pos = 1, m.end()
        for d in _DIV.finditer(record, m.end()):
            depth += -1 if d.group(1) else 1
            if depth == 0:
                pos = d.start()
                break
        else:
            continue
        inner = record[m.end():pos]
        head = _HEAD.match(inner)
        title = text_of(head.group(1)).strip().rstrip(".") if head else m.group(1).title()
        yield BLOCK_TYPES[m.group(1)], m.group(2), title, inner[head.end():] if head else inner


def text_of(html: str) -> str:
    return html_lib.unescape(_TAGS.sub(" ", html))


# Words as the search UI compares them with a query (`static/search.js`, `words()`): runs of letters
# and digits, lower-cased; TeX commands give their names (`\mathrm{KL}` -> mathrm, kl).
_WORD = re.compile(r"[^\W_]+")


def words(html: str) -> set[str]:
    return set(_WORD.findall(text_of(html).lower()))
