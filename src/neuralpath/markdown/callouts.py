"""Callouts and theorem-like blocks: a blockquote whose first line is `[!type]`, `[!type]-` (collapsed)
or `[!type]+` (open), optionally followed by a title, and for theorem-like blocks an attribute list:

    > [!theorem] Eckart–Young {#thm:eckart-young}
    > [!proof] {of=thm:eckart-young}

The blockquote tokens are retyped (their `meta` says what they are); content stays ordinary Markdown.
Numbering is done by the parser (`parser.parse_document`), rendering by `render._blockquote_open`.
"""

from __future__ import annotations

import re

CALLOUT_TYPES = {"important": "Important", "note": "Note", "warning": "Warning", "info": "Info",
                 "tip": "Tip", "caution": "Caution"}

# Theorem-like blocks: kind -> (name shown to readers, numbering sequence or None for unnumbered).
# Per note, theorems, lemmas, propositions and corollaries share one sequence (so "Lemma 2" follows
# "Theorem 1", as in most textbooks); definitions, examples, remarks, assumptions, exercises and
# figures have a sequence each; proofs and solutions are not numbered.
BLOCK_KINDS = {
    "definition": ("Definition", "definition"),
    "theorem": ("Theorem", "result"),
    "lemma": ("Lemma", "result"),
    "proposition": ("Proposition", "result"),
    "corollary": ("Corollary", "result"),
    "example": ("Example", "example"),
    "remark": ("Remark", "remark"),
    "assumption": ("Assumption", "assumption"),
    "exercise": ("Exercise", "exercise"),
    "figure": ("Figure", "figure"),
    "proof": ("Proof", None),
    "solution": ("Solution", None),
}
RESULT_KINDS = frozenset(k for k, (_, seq) in BLOCK_KINDS.items() if seq == "result")

MARKER = re.compile(r"^\[!([A-Za-z]+)\]([+-]?)[ \t]*(.*)$")
ATTRS = re.compile(r"\s*\{([^{}]*)\}\s*$")  # a trailing {#label of=label} on the title line
ATTR = re.compile(r"#([^\s{}=]+)|([A-Za-z]+)=([^\s{}]+)")


def split_attrs(title: str) -> tuple[str, dict[str, str], str]:
    """'Eckart–Young {#thm:ey}' -> ('Eckart–Young', {'label': 'thm:ey'}, ''); the last item is an error
    message for an attribute list that cannot be read."""
    m = ATTRS.search(title)
    if not m or title[:m.start()].count("$") % 2:  # a brace group inside math is not an attribute list
        return title, {}, ""
    attrs: dict[str, str] = {}
    rest = m.group(1)
    for am in ATTR.finditer(rest):
        if am.group(1):
            attrs["label"] = am.group(1)
        else:
            attrs[am.group(2)] = am.group(3)
    leftover = ATTR.sub("", rest).strip()
    error = f"cannot read '{{{rest}}}': write {{#label}} and, on a proof, {{of=label}}" if leftover else ""
    return title[:m.start()].rstrip(), attrs, error


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
            title, attrs, attr_error = (split_attrs(m.group(3).strip()) if kind in BLOCK_KINDS
                                        else (m.group(3).strip(), {}, ""))
            tok.meta = dict(tok.meta or {}, callout=kind, known=kind in CALLOUT_TYPES or kind in BLOCK_KINDS,
                            block=kind in BLOCK_KINDS, fold=m.group(2), title=title, **attrs)
            if attr_error:
                tok.meta["attr_error"] = attr_error
            # drop the marker line from the paragraph's children
            children = inline.children or []
            cut = next((k for k, c in enumerate(children) if c.type in ("softbreak", "hardbreak")), len(children))
            inline.children = children[cut + 1:]
            inline.content = rest
            if inline.map:  # the text now starts on the line after the marker (for located messages)
                inline.map = [inline.map[0] + 1, inline.map[1]]
            if not inline.children:  # marker only: hide the empty paragraph
                tokens[i + 1].hidden = True
                tokens[i + 3].hidden = True
                tokens[i + 1].meta = dict(tokens[i + 1].meta or {}, empty=True)
        elif tok.type == "blockquote_close" and stack:
            start = stack.pop()
            opener = tokens[start]
            if opener.meta and "callout" in opener.meta:
                tok.meta = dict(tok.meta or {}, callout=opener.meta["callout"], fold=opener.meta["fold"],
                                block=opener.meta.get("block", False), opener=start)
