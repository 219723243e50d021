"""Citations in prose, Pandoc/Quarto style: the inline rule that finds them and the rule that renders them.

    [@key]                      (Eckart and Young, 1936)
    [@key, Section 2.3]         (Eckart and Young, 1936, Section 2.3)
    [@a; @b]                    (Golub and Van Loan, 2013; Trefethen and Bau, 1997)
    [see @key]                  (see Eckart and Young, 1936)
    [-@key]                     (1936)
    @key                        Eckart and Young (1936)
    @key [Section 2]            Eckart and Young (1936, Section 2)

A narrative `@key` needs a word boundary before the `@` (so `user@example.org` is not a citation) and a
key of letters, digits and `_:.-` not ending in punctuation (so `@key.` ends a sentence). Code spans,
code blocks and math are never read for citations (their rules consume them first); `\\@` is a literal @.

The parser records each key on a `citation` token (the parse stage lists them in `Parsed.citations`);
rendering asks `ctx.cite(key)` (the bibliography, `neuralpath.bibliography`) what the key shows.
"""

from __future__ import annotations

import re
from html import escape

KEY = r"[A-Za-z0-9_](?:[A-Za-z0-9_:.\-]*[A-Za-z0-9_])?"
NARRATIVE_RE = re.compile(r"@(" + KEY + r")")
ITEM_RE = re.compile(r"(?P<prefix>[^@\[\]]*?)(?P<suppress>-?)@(?P<key>" + KEY + r")(?P<rest>[^@\[\]]*)", re.S)
NARRATIVE_LOCATOR_RE = re.compile(r" ?\[([^\[\]@]{1,200})\]")
MAX_BRACKET = 2000  # characters: a bracket longer than this is not read as a citation


def _items(inner: str) -> list[list] | None:
    """`see @a, p. 3; @b` -> [[key, prefix, locator, suppress], ...], or None when it is no citation."""
    out = []
    for part in inner.split(";"):
        m = ITEM_RE.fullmatch(part.strip())
        if not m or m.group("prefix")[-1:].strip():  # `[write to user@example.org]`: no citation
            return None
        rest = m.group("rest").strip()
        if rest and not rest.startswith(","):  # `[@key p. 3]`: a locator written without its comma
            rest = "," + rest
        locator = " ".join(rest[1:].split())
        out.append([m.group("key"), " ".join(m.group("prefix").split()), locator, bool(m.group("suppress"))])
    return out or None


def citation_rule(state, silent: bool) -> bool:
    """Inline rule: `[@key ...]` (parenthetical) or `@key` (narrative) -> a `citation` token."""
    src, pos = state.src, state.pos
    ch = src[pos]
    if state.linkLevel > 0 or ch not in "[@":  # never a link inside a link's text
        return False
    if ch == "[":
        end = src.find("]", pos + 1, pos + MAX_BRACKET)
        if end < 0:
            return False
        inner = src[pos + 1:end]
        if "@" not in inner or "[" in inner or src[end + 1:end + 2] in ("(", "["):  # `[@x](url)` is a link
            return False
        items = _items(inner)
        if items is None:
            return False
        mode = "paren"
        new_pos = end + 1
    else:
        if pos > 0 and (src[pos - 1].isalnum() or src[pos - 1] in "_\\"):
            return False
        m = NARRATIVE_RE.match(src, pos)
        if not m:
            return False
        items = [[m.group(1), "", "", False]]
        mode = "narrative"
        new_pos = m.end()
        # `@key [Chapter 7]`: a locator in brackets right after a narrative citation (Pandoc)
        loc = NARRATIVE_LOCATOR_RE.match(src, new_pos)
        if loc and src[loc.end():loc.end() + 1] not in ("(", "["):
            items[0][2] = " ".join(loc.group(1).split())
            new_pos = loc.end()
    if not silent:
        tok = state.push("citation", "", 0)
        tok.meta = {"mode": mode, "items": items}
        tok.content = src[pos:new_pos]
    state.pos = new_pos
    return True


def citation_keys(token) -> list[str]:
    return [item[0] for item in (token.meta or {}).get("items", [])]


def _link(found, key: str, text: str) -> str:
    return (f'<a class="cite" href="#ref-{escape(key)}" data-preview-title="{escape(found.title)}" '
            f'data-preview-summary="{escape(found.summary)}">{text}</a>')


def render_citation(self, tokens, idx, options, env) -> str:
    """`(Eckart and Young, 1936)` or `Eckart and Young (1936)`, each work linked to its entry in the
    body's References section and previewed from it; an unknown key (reported by the check) as `?key`."""
    tok = tokens[idx]
    cite = getattr(env["ctx"], "cite", None)
    meta = tok.meta or {}
    parts = []
    for key, prefix, locator, suppress in meta.get("items", []):
        found = cite(key) if cite is not None else None
        if found is None:
            parts.append(f'<span class="cite-missing">?{escape(key)}</span>')
            continue
        if meta.get("mode") == "narrative":
            where = f", {escape(locator)}" if locator else ""
            return _link(found, key, f"{escape(found.names)} ({escape(found.year)}{where})")
        what = escape(found.year) if suppress else f"{escape(found.names)}, {escape(found.year)}"
        text = (escape(prefix) + " " if prefix else "") + _link(found, key, what)
        parts.append(text + (", " + escape(locator) if locator else ""))
    if meta.get("mode") == "narrative":
        return parts[0] if parts else escape(tok.content)
    return '<span class="citation">(' + "; ".join(parts) + ")</span>"


def citations_plugin(md) -> None:
    """Register the rule (before links, so `[@key]` is not taken for a link label)."""
    md.inline.ruler.before("link", "citation", citation_rule)
    if hasattr(md.inline, "add_terminator_char"):
        md.inline.add_terminator_char("@")  # '@' stops the text rule (it is one of the defaults as well)
