"""Callouts: a blockquote whose first line is `[!type]`, `[!type]-` (collapsed) or `[!type]+` (open),
optionally followed by a title. The blockquote tokens are retyped; content stays ordinary Markdown."""

from __future__ import annotations

import re

CALLOUT_TYPES = {"important": "Important", "note": "Note", "warning": "Warning", "info": "Info",
                 "tip": "Tip", "caution": "Caution"}
MARKER = re.compile(r"^\[!([A-Za-z]+)\]([+-]?)[ \t]*(.*)$")


def callout_rule(state) -> None:
    tokens = state.tokens
    stack = []
    for i, tok in enumerate(tokens):
        if tok.type == "blockquote_open":
            stack.append(i)
            if i + 2 >= len(tokens) or tokens[i + 1].type != "paragraph_open" or tokens[i + 2].type != "inline":
                continue
            inline = tokens[i + 2]
            first, _, rest = inline.content.partition("\n")
            m = MARKER.match(first)
            if not m:
                continue
            kind = m.group(1).lower()
            tok.meta = dict(tok.meta or {}, callout=kind, known=kind in CALLOUT_TYPES,
                            fold=m.group(2), title=m.group(3).strip())
            # drop the marker line from the paragraph's children
            children = inline.children or []
            cut = next((k for k, c in enumerate(children) if c.type in ("softbreak", "hardbreak")), len(children))
            inline.children = children[cut + 1:]
            inline.content = rest
            if not inline.children:  # marker only: hide the empty paragraph
                tokens[i + 1].hidden = True
                tokens[i + 3].hidden = True
                tokens[i + 1].meta = dict(tokens[i + 1].meta or {}, empty=True)
        elif tok.type == "blockquote_close" and stack:
            opener = tokens[stack.pop()]
            if opener.meta and "callout" in opener.meta:
                tok.meta = dict(tok.meta or {}, callout=opener.meta["callout"], fold=opener.meta["fold"])
