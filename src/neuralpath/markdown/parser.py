"""Parser setup (markdown-it-py + mdit-py-plugins) and the per-document parse result.

Parsing is separate from rendering: the resolve stage needs every document's headings, equation labels
and links before any page can be rendered (cross-references need the full graph).
"""

from __future__ import annotations

import dataclasses
import difflib
import marshal
import re
from functools import lru_cache
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin

from neuralpath.content.loader import slugify
from neuralpath.markdown.callouts import BLOCK_KINDS, RESULT_KINDS, callout_rule
from neuralpath.markdown.citations import citation_keys, citations_plugin
from neuralpath.markdown import myst

# Options a fenced code block takes in braces after its language (docs/authoring.md, "Executed code").
CODE_OPTIONS = ("norun", "raises", "alt", "timeout", "hide-source", "hide-output")
# Findings of the parse that are errors (the others are warnings).
PARSE_ERRORS = frozenset({"duplicate-label", "code-option", "labels-in-one-display"})

LABEL_RE = re.compile(r"\\label\{([^{}]+)\}")
REF_RE = re.compile(r"\\(eqref|ref)\{([^{}\n]+)\}")


@lru_cache(maxsize=65536)
def label_anchor(label: str) -> str:
    """The HTML id of a label (`\\label{...}` in math, `{#...}` on a theorem-like block): a prefixed
    label keeps its prefix (`eq:name` -> `eq-name`, `thm:ey` -> `thm-ey`, `fig:x` -> `fig-x`), a bare
    one is taken for an equation (`name` -> `eq-name`). The one definition: the renderer writes these
    ids and the resolve stage checks `[text](note:id#anchor)` links against them."""
    prefix, colon, name = label.partition(":")
    if not colon:
        prefix, name = "eq", label
    return re.sub(r"[^A-Za-z0-9_-]+", "-", prefix) + "-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name)


NOTE_FILE = re.compile(r"^(?![a-zA-Z][a-zA-Z0-9+.-]*:|/)([^#?]+\.(?:md|qmd|ipynb))(?:#(.*))?$")


def link_target(href: str) -> tuple[str, str] | None:
    """What a Markdown link points at inside the site, as (target, anchor): `note:id#a` -> ('id', 'a');
    `#a` -> ('#', 'a'), an anchor of the same body; a relative link to a Markdown file or notebook,
    `../m2/03-bar.md#a` -> ('file:../m2/03-bar.md', 'a'), resolved against the linking file's folder.
    None for anything else (external URLs, other files)."""
    if href.startswith("note:"):
        target, _, anchor = href[5:].partition("#")
        return target, anchor
    if href.startswith("#") and len(href) > 1:
        return "#", href[1:]
    m = NOTE_FILE.match(href)
    if m:
        from urllib.parse import unquote
        return "file:" + unquote(m.group(1)), m.group(2) or ""
    return None


def anchor_ids(parsed: "Parsed") -> set[str]:
    """Every id a link can point at in a rendered body: headings, labelled equations, blocks."""
    return ({h[1] for h in parsed.headings} | {label_anchor(label) for label in parsed.labels}
            | {b[5] for b in parsed.blocks})


def block_anchor(kind: str, number: int | None, label: str, serial: int) -> str:
    """The HTML id of a theorem-like block: its label's anchor, else `<kind>-<number>` (`proof-<n>` for
    the n-th unnumbered block of its kind)."""
    if label:
        return label_anchor(label)
    return f"{kind}-{number if number is not None else serial}"
INFO_RE = re.compile(r"^(\S*)\s*(?:\{(.*)\})?\s*$")
OPT_RE = re.compile(r'([A-Za-z_][\w-]*)(?:\s*=\s*(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^\s"\']+)))?')


@dataclass
class CodeBlock:
    index: int
    line: int  # file line of the first code line
    lang: str
    options: dict
    code: str


@dataclass
class Parsed:
    """What the parse of one document yields; `tokens` are rendered later."""

    tokens: list[Token] | None  # dropped after rendering; re-parsed when a body must be rendered again
    headings: list[tuple[int, str, str, int]] = field(default_factory=list)  # level, id, text, line
    labels: dict[str, int] = field(default_factory=dict)  # equation label -> number
    label_lines: dict[str, int] = field(default_factory=dict)
    links: list[tuple[str, str, int, int]] = field(default_factory=list)  # target, anchor, line, column
    eqrefs: list[tuple[str, int]] = field(default_factory=list)  # label text, line
    images: list[tuple[str, str, int]] = field(default_factory=list)  # src, alt, line
    code: list[CodeBlock] = field(default_factory=list)
    words: int = 0
    display_math: int = 0
    inline_math: int = 0
    warnings: list[tuple[int, str, str]] = field(default_factory=list)  # line, message, rule
    # theorem-like blocks in order: (kind, number or None, title source, label or "", line, anchor id)
    blocks: list[tuple[str, int | None, str, str, int, str]] = field(default_factory=list)
    label_kinds: dict[str, str] = field(default_factory=dict)  # label -> "equation" or a block kind
    notation: list[tuple[str, str, int]] = field(default_factory=list)  # (symbol, meaning) source, line
    citations: list[tuple[str, int]] = field(default_factory=list)  # cited bibliography key, line

    def to_row(self) -> tuple:
        """Everything but the tokens as plain values (stored with marshal: several times faster to load
        than a pickle of the objects, which counts when a build loads a thousand of them)."""
        return (self.headings, self.labels, self.label_lines, self.links, self.eqrefs, self.images,
                [(c.index, c.line, c.lang, c.options, c.code) for c in self.code], self.words,
                self.display_math, self.inline_math, self.warnings, self.blocks, self.label_kinds,
                self.notation, self.citations)

    @classmethod
    def from_row(cls, row: tuple) -> "Parsed":
        (headings, labels, label_lines, links, eqrefs, images, code, words, display_math, inline_math,
         warnings, blocks, label_kinds, notation, citations) = row
        # the lists hold tuples as the parse made them (marshal keeps tuples): no copies to make
        return cls(None, headings, labels, label_lines, links, eqrefs, images, [CodeBlock(*c) for c in code],
                   words, display_math, inline_math, warnings, blocks, label_kinds, notation, citations)

    def block_of(self, label: str) -> tuple | None:
        """The theorem-like block with this label, or None."""
        return next((b for b in self.blocks if b[3] == label), None)


def parse_info(info: str) -> tuple[str, dict]:
    """`python {norun alt="A figure" timeout=5}` -> ("python", {"norun": True, "alt": ..., "timeout": "5"})."""
    m = INFO_RE.match(info.strip())
    if not m:
        return info.strip().split(" ")[0], {}
    opts = {}
    for om in OPT_RE.finditer(m.group(2) or ""):
        val = om.group(2) if om.group(2) is not None else om.group(3) if om.group(3) is not None else om.group(4)
        opts[om.group(1)] = True if val is None else val.replace('\\"', '"')
    return m.group(1), opts


def _eqref_rule(state: StateInline, silent: bool) -> bool:
    """`\\eqref{eq:name}` / `\\ref{eq:name}` in prose becomes an `eqref` token (resolved at render)."""
    if state.src[state.pos] != "\\":
        return False
    m = REF_RE.match(state.src, state.pos)
    if not m:
        return False
    if not silent:
        tok = state.push("eqref", "", 0)
        tok.meta = {"label": m.group(2).strip(), "paren": m.group(1) == "eqref"}
        tok.content = m.group(0)
    state.pos = m.end()
    return True


def _line_rule(state) -> None:
    """Give inline children the file-relative line of their block, for located errors."""
    for tok in state.tokens:
        if tok.type == "inline" and tok.map and tok.children:
            line = tok.map[0]
            for child in tok.children:
                child.meta = dict(child.meta or {}, line=line)
                if child.type == "softbreak":
                    line += 1
                    continue
                if child.type in ("text", "citation"):  # a citation [@a;\n@b] may span lines
                    line += child.content.count("\n")


HEADING_ID = re.compile(r"\s*\{#([A-Za-z][\w:.-]*)\}\s*$")


def _heading_id_rule(state) -> None:
    """`## Practice {#sec-practice}` sets the heading's id (as in Pandoc, Quarto and MyST); the anchors
    plugin, which runs next, keeps ids that are set."""
    tokens = state.tokens
    for i, tok in enumerate(tokens[:-1]):
        if tok.type != "heading_open" or tokens[i + 1].type != "inline":
            continue
        inline = tokens[i + 1]
        m = HEADING_ID.search(inline.content)
        kids = inline.children or []
        if not m or not kids or kids[-1].type != "text" or not HEADING_ID.search(kids[-1].content):
            continue
        tok.attrSet("id", m.group(1))
        inline.content = inline.content[:m.start()]
        kids[-1].content = HEADING_ID.sub("", kids[-1].content)
        if not kids[-1].content:
            kids.pop()


def _figure_rule(state) -> None:
    """A paragraph holding only an image becomes a figure (its title, if any, the caption), except
    inside a `[!figure]` block, which is the figure."""
    tokens = state.tokens
    figures = 0  # depth of [!figure] blocks
    for i in range(len(tokens) - 2):
        if tokens[i].type in ("blockquote_open", "blockquote_close") and (tokens[i].meta or {}).get("callout") == "figure":
            figures += 1 if tokens[i].type == "blockquote_open" else -1
        if figures:
            continue
        if tokens[i].type == "paragraph_open" and tokens[i + 1].type == "inline" and tokens[i + 2].type == "paragraph_close":
            kids = [c for c in tokens[i + 1].children or [] if not (c.type == "text" and not c.content.strip())]
            if len(kids) == 1 and kids[0].type == "image":
                tokens[i].hidden = tokens[i + 2].hidden = True
                kids[0].meta = dict(kids[0].meta or {}, figure=True)


def create_markdown(allow_html: bool = True) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": allow_html, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    # Let a `$$` line interrupt a paragraph, as authors write it (GitHub, Pandoc and Obsidian agree).
    # The plugin's rule pushes tokens even when asked silently whether it would match (which is how
    # paragraph interruption asks), so the probe runs on a throwaway token list.
    rule = next(r for r in md.block.ruler.__rules__ if r.name == "math_block").fn

    def math_block(state, start, end, silent):
        if not silent:
            return rule(state, start, end, False)
        tokens, line = state.tokens, state.line
        state.tokens = []
        try:
            return rule(state, start, end, True)
        finally:
            state.tokens, state.line = tokens, line

    md.block.ruler.at("math_block", math_block, {"alt": ["paragraph", "reference", "blockquote", "list"]})
    md.use(footnote_plugin)
    md.use(deflist_plugin)
    md.use(anchors_plugin, min_level=1, max_level=6, slug_func=lambda s: slugify(s) or "section")
    md.core.ruler.before("anchor", "heading_ids", _heading_id_rule)
    md.inline.ruler.before("escape", "eqref", _eqref_rule)
    citations_plugin(md)  # [@key], [@a; @b], @key
    md.core.ruler.push("callouts", callout_rule)
    md.core.ruler.push("lines", _line_rule)
    md.core.ruler.push("figures", _figure_rule)
    md.options["maxNesting"] = 40
    return md


HTML_IMG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"'][^>]*>", re.I)
HTML_ALT = re.compile(r"\balt\s*=\s*[\"']([^\"']*)[\"']", re.I)


def _html_images(html: str, line: int, parsed: Parsed) -> None:
    """Images of raw HTML (`<img src=...>`), published like Markdown images."""
    for m in HTML_IMG.finditer(html):
        alt = HTML_ALT.search(m.group(0))
        parsed.images.append((m.group(1), alt.group(1) if alt else "", line))


def parse_document(md: MarkdownIt, body: str, body_line: int) -> Parsed:
    """Parse a body; `body_line` is the file line where it starts (line numbers below are file lines)."""
    env: dict = {}
    body = myst.translate(body)  # MyST (Jupyter Book) constructs, rewritten line for line
    tokens = md.parse(body, env)
    parsed = Parsed(tokens=tokens)
    lines = body.split("\n")
    off = body_line
    words = 0
    eq = 0
    counters: dict[str, int] = {}  # numbering sequence -> last number given (see callouts.BLOCK_KINDS)
    serials: dict[str, int] = {}  # unnumbered kind -> how many so far (for their anchors)
    last_result = None  # the last numbered theorem-like result: what a proof without {of=...} proves
    in_notation = False  # inside the section headed "Notation": its table rows are the note's notation
    in_body = False  # inside a table body
    for i, tok in enumerate(tokens):
        line = off + (tok.map[0] if tok.map else 0)
        if tok.type == "heading_open":
            inline = tokens[i + 1]
            text = "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline", "math_inline"))
            parsed.headings.append((int(tok.tag[1]), tok.attrGet("id") or "", text, line))
            in_notation = text.strip().lower() == "notation"
        elif tok.type == "blockquote_open" and (tok.meta or {}).get("block"):
            last_result = _number_block(parsed, tok, line, counters, serials, last_result)
        elif tok.type in ("tbody_open", "tbody_close"):
            in_body = tok.type == "tbody_open"
        elif tok.type == "tr_open" and in_notation and in_body:
            cells = []
            j = i + 1
            while j < len(tokens) and tokens[j].type != "tr_close":
                if tokens[j].type == "inline":
                    cells.append(tokens[j].content.strip())
                j += 1
            if len(cells) >= 2 and cells[0]:
                parsed.notation.append((cells[0], cells[1], line))
        elif tok.type in ("math_block", "math_block_label", "amsmath"):
            parsed.display_math += 1
            if tok.map and "$$" not in lines[min(tok.map[1], len(lines)) - 1] and tok.markup == "$$":
                parsed.warnings.append((line, "display math opened with $$ here is never closed; the rest of "
                                        "the note is read as math", "unclosed-math"))
            labels = LABEL_RE.findall(tok.content)
            if tok.type == "math_block_label" and tok.info:
                labels.append(tok.info)
            if len(labels) > 1:
                parsed.warnings.append((line, f"one display has {len(labels)} labels ({', '.join(labels)}), but it gets "
                                        "one number, so every reference to them would read the same: give each "
                                        "labelled line its own $$ display", "labels-in-one-display"))
            if labels:
                eq += 1
                for lab in labels:
                    if lab in parsed.labels:
                        parsed.warnings.append((line, f"\\label{{{lab}}} is already used at line "
                                                f"{parsed.label_lines[lab]}; give each equation its own label",
                                                "duplicate-label"))
                    parsed.labels.setdefault(lab, eq)
                    parsed.label_lines.setdefault(lab, line)
                    parsed.label_kinds.setdefault(lab, "equation")
                tok.meta = dict(tok.meta or {}, number=eq, labels=labels)
            parsed.eqrefs += [(m.group(2), line) for m in REF_RE.finditer(tok.content)]
        elif tok.type == "html_block":
            _html_images(tok.content, line, parsed)
            if "<!--" in tok.content and "-->" not in tok.content.split("<!--")[-1]:
                parsed.warnings.append((line, "HTML comment opened here is never closed: the rest of the note is "
                                        "hidden", "unclosed-comment"))
        elif tok.type == "fence":
            # the closing fence's line, less the markers of blockquotes and lists it sits in
            last = (lines[tok.map[1] - 1].lstrip(" \t>") if tok.map and tok.map[1] - 1 < len(lines) else "").strip()
            if tok.map and (tok.map[1] - tok.map[0] < 2 or not last.startswith(tok.markup)):
                parsed.warnings.append((line, f"code fence {tok.markup} opened here is never closed; the rest "
                                        "of the note is shown as code", "unclosed-fence"))
            lang, opts = parse_info(tok.info)
            for name in opts:
                if name not in CODE_OPTIONS:
                    close = difflib.get_close_matches(name, CODE_OPTIONS, n=1)
                    parsed.warnings.append((line, f"unknown code block option '{name}'"
                                            + (f" (did you mean '{close[0]}'?)" if close else "")
                                            + f"; the options are {', '.join(CODE_OPTIONS)}", "code-option"))
            tok.meta = dict(tok.meta or {}, lang=lang, options=opts, index=len(parsed.code))
            parsed.code.append(CodeBlock(len(parsed.code), line + 1, lang, opts, tok.content))
        elif tok.type == "inline":
            for child in tok.children or []:
                cline = off + child.meta.get("line", 0) if child.meta else line
                if child.type == "text":
                    words += len(child.content.split())
                    if "$$" in child.content:
                        parsed.warnings.append((cline, "'$$' is not closed, so it shows as text: close the "
                                                "display math with a line '$$'", "unclosed-math"))
                elif child.type == "link_open":
                    href = child.attrGet("href") or ""
                    found = link_target(href)
                    if found is not None:
                        src_line = lines[cline - off] if 0 <= cline - off < len(lines) else ""
                        at = src_line.find("](" + href)  # the link's column, for located messages
                        parsed.links.append((*found, cline, at + 2 if at >= 0 else 1))
                elif child.type == "image":
                    parsed.images.append((child.attrGet("src") or "", child.content, cline))
                elif child.type == "html_inline":
                    _html_images(child.content, cline, parsed)
                elif child.type == "eqref":
                    parsed.eqrefs.append((child.meta["label"], cline))
                elif child.type == "citation":
                    parsed.citations += [(key, cline) for key in citation_keys(child)]
                elif child.type.startswith("math_inline"):
                    parsed.inline_math += 1
                    parsed.eqrefs += [(m.group(2), cline) for m in REF_RE.finditer(child.content)]
    parsed.words = words
    return parsed


def _number_block(parsed: Parsed, tok, line: int, counters: dict, serials: dict, last_result):
    """Give a theorem-like block its number and anchor; record its label. Returns what a later proof
    without {of=...} proves."""
    meta = tok.meta
    kind = meta["callout"]
    name, sequence = BLOCK_KINDS[kind]
    number = None
    if sequence is not None:
        number = counters[sequence] = counters.get(sequence, 0) + 1
    serials[kind] = serials.get(kind, 0) + 1
    label = meta.get("label", "")
    anchor = block_anchor(kind, number, label, serials[kind])
    meta.update(number=number, anchor=anchor)
    if meta.get("attr_error"):
        parsed.warnings.append((line, meta["attr_error"], "block-attributes"))
    if label:
        if label in parsed.labels:
            parsed.warnings.append((line, f"label '{label}' is already used at line {parsed.label_lines[label]}; "
                                    "give each block and equation its own label", "duplicate-label"))
        else:
            parsed.labels[label] = number if number is not None else 0
            parsed.label_lines[label] = line
            parsed.label_kinds[label] = kind
    if kind == "proof":
        target = meta.get("of")
        if target:
            parsed.eqrefs.append((target, line))  # checked and resolved like any reference
            meta["proves"] = target
        elif last_result is not None:
            meta["proves_local"] = last_result  # (name, number, title, anchor) of the result above
    parsed.blocks.append((kind, number, meta.get("title", ""), label, line, anchor))
    if kind in RESULT_KINDS:
        return (name, number, meta.get("title", ""), anchor)
    return last_result


# Token trees cross process boundaries as nested tuples in `marshal` form: a parse worker freezes what it
# parsed, the render worker that later renders the note thaws it (about 1 ms a note, against 2.5 ms to
# parse again; pickling Token objects costs as much as parsing). The tuple layout follows Token's fields.
_TOKEN_FIELDS = ("type", "tag", "nesting", "attrs", "map", "level", "children", "content", "markup", "info",
                 "meta", "block", "hidden")
CAN_FREEZE = tuple(f.name for f in dataclasses.fields(Token)) == _TOKEN_FIELDS  # else: parse again


def _rows(tokens) -> list:
    return [(t.type, t.tag, t.nesting, t.attrs or None, t.map, t.level, _rows(t.children) if t.children else t.children,
             t.content, t.markup, t.info, t.meta or None, t.block, t.hidden) for t in tokens]


def freeze_tokens(tokens) -> bytes | None:
    """A token tree as bytes for `thaw_tokens`; None when it cannot be frozen (a plugin put an object into
    a token's meta, or markdown-it's Token has other fields than this code knows)."""
    if not CAN_FREEZE:
        return None
    try:
        return marshal.dumps(_rows(tokens))
    except ValueError:
        return None


def _tokens(rows, new=object.__new__) -> list:
    out = []
    for ty, tag, nesting, attrs, mp, level, kids, content, markup, info, meta, block, hidden in rows:
        t = new(Token)
        t.type, t.tag, t.nesting, t.attrs, t.map, t.level = ty, tag, nesting, attrs or {}, mp, level
        t.children = _tokens(kids) if kids else kids
        t.content, t.markup, t.info, t.meta, t.block, t.hidden = content, markup, info, meta or {}, block, hidden
        out.append(t)
    return out


def thaw_tokens(data: bytes) -> list:
    return _tokens(marshal.loads(data))
