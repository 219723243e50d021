"""Quarto Markdown (`.qmd`) read as this site's Markdown.

Like `myst.py`, a line-for-line translation made before parsing (errors keep the author's line):

- fenced divs `::: {.callout-note}` (and `-warning`, `-tip`, `-important`, `-caution`), with a title from
  `title="…"` or a first `## Heading`, become callouts;
- `::: {#thm-x}` and the other cross-reference prefixes (lem, cor, prp, cnj, def, exm, exr) become
  theorem-like blocks labelled `thm-x`, titled by a first `## Heading`; `::: {.proof}` a proof;
- a display equation closed by `$$ {#eq-x}` gets the label `eq-x`;
- `@eq-x` becomes `\\eqref{eq-x}`, `@thm-x`, `@fig-x`, … `\\ref{…}`, `@sec-x` a link to that heading; any
  other `@key` stays a citation; a heading `## Title {#sec-x}` keeps its id;
- `![Caption](path){#fig-x}` (after a blank line) becomes a numbered figure, `fig-alt` its alt text;
- ```` ```{python} ```` cells run as Python (their `#|` option lines are comments).
"""

from __future__ import annotations

import re

from neuralpath.markdown.myst import CODE_FENCE, closes, quoted

DIV_OPEN = re.compile(r"^(?P<colons>:{3,})\s*\{(?P<attrs>[^{}]*)\}\s*$")
DIV_CLOSE = re.compile(r"^(?P<colons>:{3,})\s*$")
HEADING = re.compile(r"^#{2,6}\s+(?P<title>.+?)\s*$")
EQ_LABEL = re.compile(r"^(?P<before>.*)\$\$\s*\{#(?P<label>eq-[^\s{}]+)\}\s*$")
PY_CELL = re.compile(r"^(?P<fence> {0,3}`{3,})\{python[^}]*\}\s*$")
FIGURE = re.compile(r"^!\[(?P<cap>[^\]]*)\]\((?P<path>[^)\s]+)\)\{(?P<attrs>[^{}]*)\}\s*$")
CROSSREF = re.compile(r"(?<![\w@\[])@(?P<label>(?P<kind>eq|fig|tbl|thm|lem|cor|prp|cnj|def|exm|exr|sec)-[\w-]*\w)")

# Quarto cell options (`#| echo: false`) -> this site's code block options
CELL_OPTIONS = {("echo", "false"): "hide-source", ("output", "false"): "hide-output", ("eval", "false"): "norun",
                ("error", "true"): "raises=Exception", ("include", "false"): "hide-source hide-output"}
CALLOUTS = {"note": "note", "warning": "warning", "tip": "tip", "important": "important", "caution": "caution"}
THEOREMS = {"thm": "theorem", "lem": "lemma", "cor": "corollary", "prp": "proposition", "cnj": "remark",
            "def": "definition", "exm": "example", "exr": "exercise"}


def translate(text: str) -> str:
    """A `.qmd` body rewritten in this site's syntax, line for line."""
    lines = text.split("\n")
    sections = {m.group(2): m.group(1) for m in  # sec-label -> heading text, for @sec-x references
                (re.match(r"^#{1,6}\s+(.+?)\s*\{#(sec-[\w-]+)\}\s*$", line) for line in lines) if m}
    return "\n".join(_lines(lines, sections))


def _lines(lines: list[str], sections: dict[str, str]) -> list[str]:
    out: list[str] = []
    i, code = 0, None
    while i < len(lines):
        line = lines[i]
        if code is not None:  # inside a code block: nothing is translated
            out.append(line)
            if closes(line, code):
                code = None
            i += 1
            continue
        cell = PY_CELL.match(line)
        if cell:  # its leading `#| key: value` lines stay (as comments) and set this site's options
            options = []
            for opt in lines[i + 1:]:
                m = re.match(r"^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$", opt)
                if not m:
                    break
                mapped = CELL_OPTIONS.get((m.group(1), m.group(2).lower()))
                if mapped and mapped not in options:
                    options.append(mapped)
            out.append(cell.group("fence").rstrip() + "python" + (" {" + " ".join(options) + "}" if options else ""))
            code = cell.group("fence").strip()
            i += 1
            continue
        fence = CODE_FENCE.match(line)
        if fence:
            out.append(line)
            code = fence.group(1)
            i += 1
            continue
        div = DIV_OPEN.match(line)
        if div:
            close = _closing(lines, i, len(div.group("colons")))
            block = _div(div.group("attrs"), lines[i + 1:close], sections) if close is not None else None
            if block is not None:
                out += block
                i = close + 1
                continue
        fig = FIGURE.match(line)
        if fig:  # ![Caption](path){#fig-x}: a numbered figure, its head on the blank line before it
            label = re.search(r"#(fig-[\w-]+)", fig.group("attrs"))
            alt = re.search(r'fig-alt="([^"]*)"', fig.group("attrs"))
            image = f"![{alt.group(1) if alt else fig.group('cap')}]({fig.group('path')})"
            if label and out and not out[-1].strip():
                out[-1] = f"> [!figure] {fig.group('cap')}".rstrip() + f" {{#{label.group(1)}}}"
                out.append("> " + image)
            else:
                out.append(image)
            i += 1
            continue
        eq = EQ_LABEL.match(line)
        if eq:
            line = f"{eq.group('before')}\\label{{{eq.group('label')}}} $$"
        out.append(_refs(line, sections))
        i += 1
    return out


def _closing(lines: list[str], start: int, width: int) -> int | None:
    """The line that closes the div opened at `start` (divs nest: count openers and closers)."""
    depth = 0
    for j in range(start + 1, len(lines)):
        if DIV_OPEN.match(lines[j]):
            depth += 1
        elif DIV_CLOSE.match(lines[j]):
            if depth == 0:
                return j
            depth -= 1
    return None


def _div(attrs: str, body: list[str], sections: dict[str, str]) -> list[str] | None:
    """The lines for a div with these attributes (as many as it had, fences included), or None to leave it."""
    classes = re.findall(r"\.([\w-]+)", attrs)
    ident = re.search(r"#([\w-]+)", attrs)
    title = re.search(r'title="([^"]*)"', attrs)
    head_title, rest = title.group(1) if title else "", list(body)
    first = next((k for k, line in enumerate(rest) if line.strip()), None)
    kind = None
    if ident and ident.group(1).split("-")[0] in THEOREMS:
        kind = THEOREMS[ident.group(1).split("-")[0]]
    elif "proof" in classes:
        kind = "proof"
    else:
        kind = next((CALLOUTS[c.split("-", 1)[1]] for c in classes
                     if c.startswith("callout-") and c.split("-", 1)[1] in CALLOUTS), None)
    if kind is None:
        return None
    if first is not None and not head_title:
        h = HEADING.match(rest[first])
        if h:  # Quarto's block title: a first heading inside the div
            head_title, rest[first] = h.group("title"), ""
    label = f" {{#{ident.group(1)}}}" if ident and kind not in CALLOUTS.values() else ""
    head = f"> [!{kind}] {head_title}".rstrip() + label
    return quoted(head, _lines(rest, sections))


def _refs(line: str, sections: dict[str, str]) -> str:
    def one(m: re.Match) -> str:
        label, kind = m.group("label"), m.group("kind")
        if kind == "eq":
            return f"\\eqref{{{label}}}"
        if kind == "sec":
            return f"[{sections.get(label, 'this section')}](#{label})"
        return f"\\ref{{{label}}}"
    return CROSSREF.sub(one, line)
