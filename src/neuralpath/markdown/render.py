"""Render rules: math through KaTeX, callouts, cross-references, highlighted code and executed output.

Rules read everything they need from `env["ctx"]` (a `RenderContext`), so the parser stays unaware of
the site, and rendering one document touches no shared mutable state except the report and caches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from typing import Callable

from markdown_it import MarkdownIt

from neuralpath.errors import Report
from neuralpath.markdown.callouts import BLOCK_KINDS, CALLOUT_TYPES
from neuralpath.markdown.citations import render_citation
from neuralpath.markdown.highlight import highlight
from neuralpath.markdown.katex import Katex
from neuralpath.markdown.parser import HTML_IMG, LABEL_RE, REF_RE, label_anchor, link_target
from neuralpath.markdown.search_text import record_html, search_tex

ICONS = {  # decorative, aria-hidden; the type is announced by the title text
    "important": "!", "note": "i", "warning": "⚠", "info": "i", "tip": "✓", "caution": "⚠",
}
UNSAFE_HTML = re.compile(r"<\s*(script|iframe|object|embed)\b|\bon[a-z]+\s*=|javascript:", re.I)
DANGEROUS_TAG = re.compile(r"<\s*(script|iframe|object|embed)\b[^>]*>.*?<\s*/\s*\1\s*>|<\s*(script|iframe|object|embed)\b[^>]*/?>", re.I | re.S)
EVENT_ATTR = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I)
JS_URL = re.compile(r"(href|src)\s*=\s*([\"']?)\s*javascript:[^\"'>\s]*\2", re.I)


@dataclass
class RenderContext:
    """Per-document inputs to the renderer."""

    path: object  # Path of the source file (for error messages)
    body_line: int
    report: Report
    katex: Katex
    resolve_link: Callable[[str, str], tuple[str, str, bool, str] | None]  # id, anchor -> (url, title, has_page, summary)
    resolve_label: Callable[[str], tuple[str, int, str] | None]  # label -> (url#anchor, number, note title|"")
    outputs: dict[int, str] = field(default_factory=dict)  # code block index -> rendered output HTML
    asset_url: Callable[[str, int], str | None] = lambda src, line: src
    allow_raw_html: bool = False
    source_lines: list[str] | None = None
    cite: Callable[[str], object | None] = lambda key: None  # citation key -> bibliography.Cite or None
    math_html: list[str] = field(default_factory=list)  # KaTeX results, placed into the HTML at the end
    math_tex: list[str] = field(default_factory=list)  # their TeX, delimited, for the search index
    search_text: str = ""  # after rendering: the HTML for the search index (`search_text.record_html`), without math


def _ctx(env) -> RenderContext:
    return env["ctx"]


def _raw_position(raw: str, pos: int | None) -> int | None:
    """KaTeX reports an offset into the TeX it was given (`katex_source`: labels removed, references
    replaced, leading space stripped); the offset of the same place in the author's text."""
    if pos is None:
        return None
    mapping = []  # index in the text given to KaTeX -> index in `raw`
    i = 0
    for m in re.finditer(f"{LABEL_RE.pattern}|{REF_RE.pattern}", raw):
        mapping += range(i, m.start())
        if not m.group(0).startswith("\\label"):
            mapping += [m.start()] * 8  # a reference becomes \text{...}: point at the reference
        i = m.end()
    mapping += range(i, len(raw))
    cleaned_start = len(LABEL_RE.sub("", raw)) - len(LABEL_RE.sub("", raw).lstrip())
    at = pos + cleaned_start
    return mapping[at] if at < len(mapping) else len(raw.rstrip())


def _locate(ctx: RenderContext, tex: str, line_rel: int, pos: int | None) -> tuple[int, int]:
    """File line and column of offset `pos` inside `tex`, searching the source from the block's line."""
    line = ctx.body_line + line_rel
    if ctx.source_lines is None:
        return line, 1
    start_idx = line_rel
    text = "\n".join(ctx.source_lines[start_idx:start_idx + 400])
    at = text.find(tex) if tex else -1
    if at < 0:
        return line, 1
    at += pos or 0
    before = text[:at]
    return line + before.count("\n"), at - (before.rfind("\n") + 1) + 1


def _math(self, tokens, idx, options, env, display: bool) -> str:
    ctx = _ctx(env)
    tok = tokens[idx]
    tex = tok.content
    line_rel = (tok.map[0] if tok.map else (tok.meta or {}).get("line", 0))
    if not display:
        m = re.fullmatch(r"\s*\\(eqref|ref)\{([^{}]+)\}\s*", tex)
        if m:
            return _eqref_html(ctx, m.group(2), m.group(1) == "eqref", line_rel)
    labels = (tok.meta or {}).get("labels", [])
    number = (tok.meta or {}).get("number")
    res = ctx.katex.render(katex_source(tok, ctx), display)
    if res.error:
        line, col = _locate(ctx, tex, line_rel, _raw_position(tex, res.position))
        # KaTeX's own excerpt ("at position 6: a + \̲u̲n̲…") shows the TeX it was given, without
        # labels; the file, line and column and the author's TeX say where instead
        msg = re.sub(r" at position \d+:.*", "", res.error.replace("KaTeX parse error: ", ""), flags=re.S)
        snippet = tex.strip().replace("\n", " ")
        if len(snippet) > 120:
            snippet = snippet[:117] + "..."
        hint = _tex_hint(msg, tex)
        ctx.report.error(ctx.path, line, f"TeX error: {msg} in `{snippet}`{hint}", col=col, rule="tex")
        return f'<code class="math-error">{escape(tex)}</code>'
    ctx.math_html.append(_valid_mathml(res.html))
    ctx.math_tex.append(escape(search_tex(tex, ctx.katex.macros, display)))
    slot = f"\x00{len(ctx.math_html) - 1}\x00"  # filled in by render_tokens (NUL never survives parsing)
    if display:
        # The number is a column of its own beside the equation (not KaTeX's \tag, which sits on top of an
        # equation wider than the column); the equation scrolls in its box, the number stays in view.
        anchor = f' id="{escape(label_anchor(labels[0]))}"' if labels else ""
        extra = "".join(f'<span id="{escape(label_anchor(l))}"></span>' for l in labels[1:])
        # (labelled equations are the numbered ones; the number links to the equation, out of the tab order)
        num = (f'<a class="eq-num" href="#{escape(label_anchor(labels[0]))}" tabindex="-1">({number})</a>'
               if labels and number is not None else "")
        cls = "math-display numbered" if num else "math-display"
        return f'<div class="{cls}"{anchor}>{extra}<div class="eq-body">{slot}</div>{num}</div>\n'
    return f'<span class="math-inline">{slot}</span>'


# TeX that MathJax accepts and KaTeX does not: what to write instead (the author's notes may come from
# Jupyter Book, Quarto or a MathJax site)
_MATHJAX_ONLY = {
    "\\mbox": "KaTeX has no \\mbox: write \\text{...}",
    "\\bbox": "KaTeX has no \\bbox: write \\colorbox{color}{...} or \\boxed{...}",
    "\\require": "KaTeX loads no extensions: remove \\require{...}",
    "\\eqalign": "KaTeX has no \\eqalign: write \\begin{aligned}...\\end{aligned}",
}


def _tex_hint(msg: str, tex: str) -> str:
    """What to change, for the KaTeX errors authors meet most (MathJax-only forms, macros of the site)."""
    m = re.search(r"Got function '(\\[A-Za-z]+)' with no arguments as (sub|super)script", msg)
    if m:
        cmd, mark = m.group(1), "_" if m.group(2) == "sub" else "^"
        arg = re.search(re.escape(mark) + r"\s*" + re.escape(cmd) + r"\s*(\{(?:[^{}]|\{[^{}]*\})*\}|\S)?", tex)
        shown = f"{mark}{cmd}{arg.group(1) or ''}" if arg else f"{mark}{cmd}..."
        fixed = f"{mark}{{{cmd}{arg.group(1) or ''}}}" if arg else f"{mark}{{{cmd}...}}"
        return (f"; KaTeX needs braces around a command used as a {m.group(2)}script (MathJax does not): "
                f"write `{fixed}` for `{shown}`")
    m = re.search(r"Undefined control sequence: (\\[A-Za-z]+)", msg)
    if m:
        if m.group(1) in _MATHJAX_ONLY:
            return "; " + _MATHJAX_ONLY[m.group(1)]
        return (f"; if {m.group(1)} is a macro of this site, define it under [math.macros] in neuralpath.toml, "
                f'e.g. "\\{m.group(1)}" = "..."')
    return ""


# KaTeX writes \sigma_{\min}^2 as <msubsup><mi>σ</mi><mi>min</mi><mo>&#x2061;</mo><mn>2</mn></msubsup>: four
# children where MathML allows three (the Nu checker rejects it). A function name used as a script needs no
# function-application operator: it is dropped there.
_SCRIPT_FUNCTION = re.compile(r"(<msub(?:sup)?>(?:<mi>[^<]*</mi>|<mi [^>]*>[^<]*</mi>))<mi>([A-Za-z]+)</mi><mo>\u2061</mo>")


# KaTeX writes \bmod's "mod" as an <mrow> of single letters inside an <mo>, which MathML does not allow.
_SPELLED_OPERATOR = re.compile(r"<mo([^>]*)><mrow>((?:<mi mathvariant=normal>[A-Za-z]</mi>)+)</mrow></mo>")


def _valid_mathml(html: str) -> str:
    """KaTeX's MathML made valid where it is not (see the two patterns above)."""
    if "\u2061" in html:
        html = _SCRIPT_FUNCTION.sub(r"\1<mi>\2</mi>", html)
    if "<mo" in html and "<mrow><mi mathvariant=normal>" in html:
        html = _SPELLED_OPERATOR.sub(lambda m: f"<mo{m.group(1)}>{re.sub('<[^>]+>', '', m.group(2))}</mo>", html)
    return html


MATH_TYPES = {"math_inline": False, "math_block": True, "math_block_label": True, "math_inline_double": True}


def katex_source(tok, ctx: RenderContext) -> str:
    """The TeX sent to KaTeX for a math token: labels removed, references replaced (the equation number
    is placed beside the rendering by `_math`, not tagged)."""
    body = LABEL_RE.sub("", tok.content)
    body = REF_RE.sub(lambda m: _ref_text(ctx, m.group(2), m.group(1) == "eqref"), body)
    return body.strip()


def math_requests(tokens, ctx: RenderContext | None):
    """Every (TeX, display) a document's render will ask KaTeX for, so they can be rendered in one batch.
    Without a context (before cross-references are resolved), expressions that cite a label are left out."""
    for tok in tokens:
        if tok.type in MATH_TYPES:
            if ctx is not None or not REF_RE.search(tok.content):
                yield katex_source(tok, ctx), MATH_TYPES[tok.type]
        elif tok.children:
            for child in tok.children:
                if child.type in MATH_TYPES and not re.fullmatch(r"\s*\\(eqref|ref)\{([^{}]+)\}\s*", child.content):
                    if ctx is not None or not REF_RE.search(child.content):
                        yield katex_source(child, ctx), MATH_TYPES[child.type]


def _ref_words(ref, paren: bool) -> str:
    """What a reference reads as: '(3)' or '3' for an equation, 'Theorem 3' for a block or figure."""
    if ref.kind == "equation":
        return f"({ref.number})" if paren else f"{ref.number}"
    name = BLOCK_KINDS[ref.kind][0] if ref.kind in BLOCK_KINDS else ref.kind.title()
    return f"{name} {ref.number}" if ref.number else name


def _ref_text(ctx: RenderContext, label: str, paren: bool) -> str:
    found = ctx.resolve_label(label)
    return f"\\text{{{_ref_words(found, paren) if found else '(?)' if paren else '?'}}}"


def _eqref_html(ctx: RenderContext, label: str, paren: bool, line_rel: int) -> str:
    found = ctx.resolve_label(label)
    if not found:
        return f'<span class="xref-missing">{escape(label)}</span>'  # reported by the resolve stage
    words = _ref_words(found, paren)
    cls = "eqref" if found.kind == "equation" else "blockref"
    if found.note_title:  # another note: a preview fetched from its page, its title until then
        text = (f"{escape(found.note_title)}, eq.&nbsp;{words}" if found.kind == "equation"
                else f"{escape(found.note_title)}, {escape(words).replace(' ', '&nbsp;')}")
        return (f'<a class="{cls}" href="{escape(found.url)}" data-preview-ref="{escape(found.url)}" '
                f'data-preview-title="{escape(found.note_title)}, '
                f'{"equation " if found.kind == "equation" else ""}{escape(words)}">{text}</a>')
    return (f'<a class="{cls}" href="{escape(found.url)}" data-preview-eq="{escape(found.url[1:])}">'
            f'{escape(words).replace(" ", "&nbsp;")}</a>')


def _eqref_token(self, tokens, idx, options, env) -> str:
    tok = tokens[idx]
    return _eqref_html(_ctx(env), tok.meta["label"], tok.meta["paren"], tok.meta.get("line", 0))


def _link_open(self, tokens, idx, options, env) -> str:
    ctx = _ctx(env)
    tok = tokens[idx].copy()  # parsed tokens are cached and re-rendered: never mutate them
    href = tok.attrGet("href") or ""
    target = link_target(href)
    if target is not None and target[0] != "#":
        found = ctx.resolve_link(*target)
        if found:
            url, title, has_page, summary = found
            tok.attrSet("href", url)
            tok.attrSet("class", "xref" if has_page else "xref xref-planned")
            tok.attrSet("data-preview-title", title + ("" if has_page else " (planned)"))
            if summary:
                tok.attrSet("data-preview-summary", summary)
            if idx + 1 < len(tokens) and tokens[idx + 1].type == "link_close":  # [](note.md): its title
                return self.renderToken([tok], 0, options, env) + escape(title)
    elif re.match(r"\s*(javascript|vbscript|data):", href, re.I):
        tok.attrSet("href", "#")
    elif re.match(r"https?://", href):
        tok.attrSet("rel", "noopener")
    return self.renderToken([tok], 0, options, env)


def _image(self, tokens, idx, options, env) -> str:
    ctx = _ctx(env)
    tok = tokens[idx]
    src = tok.attrGet("src") or ""
    alt = self.renderInlineAsText(tok.children or [], options, env)
    url = ctx.asset_url(src, (tok.meta or {}).get("line", 0))
    if url is None:
        return f'<span class="image-missing">{escape(alt)}</span>'
    img = f'<img src="{escape(url)}" alt="{escape(alt)}" loading="lazy" decoding="async">'
    caption = tok.attrGet("title")
    if (tok.meta or {}).get("figure"):
        cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
        return f'<figure class="figure">{img}{cap}</figure>'
    return img


def _heading_close(self, tokens, idx, options, env) -> str:
    """A visible-on-hover anchor link after each heading's text."""
    j = idx - 1
    while j >= 0 and tokens[j].type != "heading_open":
        j -= 1
    hid = tokens[j].attrGet("id") if j >= 0 else None
    title = "".join(t.content for t in (tokens[j + 1].children or []) if t.type in ("text", "code_inline")) \
        if j >= 0 and j + 1 < idx else ""
    name = f"Link to section “{title.strip()}”" if title.strip() else "Link to this section"
    link = (f' <a class="header-anchor" href="#{escape(hid)}" aria-label="{escape(name)}">#</a>'
            if hid and tokens[j].tag in ("h2", "h3", "h4") else "")
    return f"{link}</{tokens[idx].tag}>\n"


def _fence(self, tokens, idx, options, env) -> str:
    ctx = _ctx(env)
    tok = tokens[idx]
    meta = tok.meta or {}
    lang = meta.get("lang", tok.info.split(" ")[0] if tok.info else "")
    opts = meta.get("options") or {}
    out = "" if opts.get("hide-output") else ctx.outputs.get(meta.get("index", -1), "")
    if opts.get("hide-source"):  # only what the code printed or drew
        return f'<div class="code-output-only">{out}</div>\n' if out else ""
    code = highlight(tok.content, lang)
    label = escape(lang) if lang else "text"
    cls = f' class="language-{escape(lang)}"' if lang else ""
    return (f'<div class="code-block" data-lang="{label}"><pre class="highlight" tabindex="0"><code{cls}>{code}</code></pre>'
            f"{out}</div>\n")


def _code_block(self, tokens, idx, options, env) -> str:
    return f'<pre class="highlight" tabindex="0"><code>{escape(tokens[idx].content)}</code></pre>\n'


def _blockquote_open(self, tokens, idx, options, env) -> str:
    tok = tokens[idx]
    meta = tok.meta or {}
    kind = meta.get("callout")
    if not kind:
        return "<blockquote>\n"
    ctx = _ctx(env)
    if meta.get("block"):
        return _block_open(self, meta, env, ctx)
    if not meta.get("known"):
        line = ctx.body_line + (tok.map[0] if tok.map else 0)
        ctx.report.warning(ctx.path, line, f"unknown callout type '[!{kind}]'; use one of "
                           f"{', '.join(CALLOUT_TYPES)}, or a theorem-like block: {', '.join(BLOCK_KINDS)}",
                           rule="callout")
        kind = "note"
    label = CALLOUT_TYPES[kind]
    title = meta.get("title") or ""
    title_html = self.md_inline(title, env) if title else ""
    heading = (f'<span class="callout-icon" aria-hidden="true">{ICONS[kind]}</span>'
               f'<span class="callout-label">{label}</span>'
               + (f'<span class="callout-sep" aria-hidden="true">: </span><span class="callout-title-text">{title_html}</span>'
                  if title_html else ""))
    if meta.get("fold"):
        open_attr = " open" if meta["fold"] == "+" else ""
        return (f'<details class="callout callout-{kind}"{open_attr}><summary class="callout-title">{heading}</summary>'
                f'<div class="callout-body">\n')
    return (f'<div class="callout callout-{kind}" role="note"><p class="callout-title">{heading}</p>'
            f'<div class="callout-body">\n')


def _block_open(self, meta: dict, env, ctx: RenderContext) -> str:
    """A theorem-like block: a region named by its kind, number and title ("Theorem 3 (Eckart–Young)").
    A figure's caption comes at its end (`_block_close`); a solution is a disclosure opened on demand."""
    kind, number, anchor = meta["callout"], meta.get("number"), meta["anchor"]
    name = BLOCK_KINDS[kind][0]
    title = meta.get("title") or ""
    if kind == "figure":
        return f'<figure class="np-figure" id="{escape(anchor)}">\n'
    if kind == "solution":
        open_attr = " open" if meta.get("fold") == "+" else ""
        return (f'<details class="solution"{open_attr}><summary>Solution'
                + (f": {self.md_inline(title, env)}" if title else "") + '</summary><div class="solution-body">\n')
    if kind == "proof":
        of = ""
        if meta.get("proves"):
            found = ctx.resolve_label(meta["proves"])
            if found is not None:
                of = (f' of <a class="blockref" href="{escape(found.url)}" data-preview-eq="{escape(found.url[1:])}">'
                      f'{escape(_ref_words(found, False)).replace(" ", "&nbsp;")}</a>' if not found.note_title else
                      f' of <a class="blockref" href="{escape(found.url)}" data-preview-ref="{escape(found.url)}" '
                      f'data-preview-title="{escape(found.note_title)}">{escape(_ref_words(found, False)).replace(" ", "&nbsp;")} of '
                      f'{escape(found.note_title)}</a>')
        elif meta.get("proves_local"):
            p_name, p_number, _, p_anchor = meta["proves_local"]
            of = f' of <a class="blockref" href="#{escape(p_anchor)}">{escape(p_name)}&nbsp;{p_number}</a>'
        head = f'<span class="thm-name">Proof{of}</span>' + (f' <span class="thm-title">({self.md_inline(title, env)})</span>'
                                                             if title else "")
    else:
        head = (f'<span class="thm-name">{name}' + (f"&nbsp;{number}" if number else "") + "</span>"
                + (f' <span class="thm-title">({self.md_inline(title, env)})</span>' if title else ""))
    # a region landmark named by its head (a div with a role: a <section> without a heading element
    # is what validators warn about)
    return (f'<div class="thm thm-{kind}" role="region" id="{escape(anchor)}" aria-labelledby="{escape(anchor)}-h">'
            f'<p class="thm-head" id="{escape(anchor)}-h">{head}<span class="thm-dot">.</span></p>'
            f'<div class="thm-body">\n')


def _blockquote_close(self, tokens, idx, options, env) -> str:
    meta = tokens[idx].meta or {}
    if not meta.get("callout"):
        return "</blockquote>\n"
    if meta.get("block"):
        opener = tokens[meta["opener"]].meta
        kind = opener["callout"]
        if kind == "figure":
            title = opener.get("title") or ""
            caption = (f'<span class="fig-name">Figure&nbsp;{opener["number"]}.</span>'
                       + (f" {self.md_inline(title, env)}" if title else ""))
            return f"<figcaption>{caption}</figcaption></figure>\n"
        if kind == "solution":
            return "</div></details>\n"
        if kind == "proof":
            return '<p class="qed"><span role="img" aria-label="end of proof">∎</span></p></div></div>\n'
        return "</div></div>\n"
    return "</div></details>\n" if meta.get("fold") else "</div></div>\n"


def _html(self, tokens, idx, options, env, block: bool) -> str:
    ctx = _ctx(env)
    tok = tokens[idx]
    html = _html_image_urls(ctx, tok, tok.content)
    if ctx.allow_raw_html or not UNSAFE_HTML.search(html):
        return html
    line = ctx.body_line + (tok.map[0] if tok.map else (tok.meta or {}).get("line", 0))
    ctx.report.warning(ctx.path, line, "raw HTML with a script, event handler or javascript: URL was removed; "
                       "set [build] allow_raw_html = true for trusted content", rule="raw-html")
    html = DANGEROUS_TAG.sub("", html)
    html = EVENT_ATTR.sub("", html)
    html = JS_URL.sub(r'\1="#"', html)
    html = re.sub(r"<\s*/?\s*(script|iframe|object|embed)\b[^>]*>", "", html, flags=re.I)
    return html


def _html_image_urls(ctx: RenderContext, tok, html: str) -> str:
    """Raw HTML with each `<img src>` pointing where the image is published (parser._html_images
    registered it, so it is copied like a Markdown image); an image that cannot be published keeps its
    src, and its error is reported."""
    if "<img" not in html.lower():
        return html
    line = tok.map[0] if tok.map else (tok.meta or {}).get("line", 0)

    def one(m: re.Match) -> str:
        url = ctx.asset_url(m.group(1), line)
        return m.group(0) if url is None else m.group(0).replace(m.group(1), escape(url), 1)
    return HTML_IMG.sub(one, html)


def install_rules(md: MarkdownIt) -> MarkdownIt:
    r = md.add_render_rule
    r("math_inline", lambda self, t, i, o, e: _math(self, t, i, o, e, False))
    r("math_block", lambda self, t, i, o, e: _math(self, t, i, o, e, True))
    r("math_block_label", lambda self, t, i, o, e: _math(self, t, i, o, e, True))
    r("math_inline_double", lambda self, t, i, o, e: _math(self, t, i, o, e, True))
    r("eqref", _eqref_token)
    r("citation", render_citation)
    r("link_open", _link_open)
    r("image", _image)
    r("heading_close", _heading_close)
    r("fence", _fence)
    r("code_block", _code_block)
    r("blockquote_open", _blockquote_open)
    r("blockquote_close", _blockquote_close)
    r("html_block", lambda self, t, i, o, e: _html(self, t, i, o, e, True))
    r("html_inline", lambda self, t, i, o, e: _html(self, t, i, o, e, False))
    md.renderer.md_inline = lambda text, env: md.renderer.render(md.parseInline(text, env)[0].children or [], md.options, env)
    return md


MATH_SLOT = re.compile("\x00(\\d+)\x00")


def render_tokens(md: MarkdownIt, tokens, ctx: RenderContext) -> str:
    """The body's HTML; also sets `ctx.search_text` (what the search index reads: math as its TeX source,
    never KaTeX's markup, and little else but text)."""
    html = md.renderer.render(tokens, md.options, {"ctx": ctx})
    if not ctx.math_html:
        ctx.search_text = record_html(html)
        return html
    ctx.search_text = record_html(MATH_SLOT.sub(lambda m: ctx.math_tex[int(m.group(1))], html))
    n = len(ctx.math_html)
    return MATH_SLOT.sub(lambda m: ctx.math_html[int(m.group(1))] if int(m.group(1)) < n else "\ufffd", html)
