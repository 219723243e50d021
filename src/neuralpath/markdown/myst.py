"""MyST Markdown (Jupyter Book) read as this site's Markdown.

A line-for-line translation made before parsing: every line keeps its number, so an error in a MyST
note is reported at the author's line. What it covers:

- directives in backtick or colon fences, ```` ```{name} argument ```` … ```` ``` ````, with `:key: value`
  option lines first: `prf:theorem` and its siblings become theorem-like blocks (`:label:` their label),
  admonitions (`note`, `warning`, `tip`, `admonition`, …) callouts, `code-cell` executed Python, `math`
  a display equation (`:label:` its label), `figure` a numbered figure (`:name:` its label);
- `(label)=` targets before a heading become the heading's id;
- the roles `{eq}`, `{ref}`, `{numref}`, `{prf:ref}` and `{cite}` (with `{cite:p}`, `{cite:t}`).

A note that uses none of this is returned unchanged (a quick test on the text decides).
"""

from __future__ import annotations

import re

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\{(?P<name>[A-Za-z][\w:.-]*)\}[ \t]*(?P<arg>.*?)\s*$")
OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")
TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
ROLE = re.compile(r"\{(?P<role>eq|ref|numref|prf:ref|cite|cite:p|cite:t|cite:ps|cite:ts)\}`(?P<text>[^`]+)`")
HEADING = re.compile(r"^ {0,3}#{1,6}\s")
CODE_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")  # a plain code block, passed through untranslated

# MyST proof directives -> this site's block kinds (callouts.BLOCK_KINDS)
PRF = {"theorem": "theorem", "lemma": "lemma", "definition": "definition", "proposition": "proposition",
       "corollary": "corollary", "example": "example", "remark": "remark", "assumption": "assumption",
       "proof": "proof", "conjecture": "remark", "observation": "remark", "property": "proposition",
       "axiom": "assumption", "criterion": "definition", "algorithm": "example"}
# admonitions -> callout types (markdown/callouts.py)
ADMONITIONS = {"note": "note", "important": "important", "warning": "warning", "tip": "tip", "hint": "tip",
               "caution": "caution", "danger": "caution", "error": "caution", "attention": "warning",
               "seealso": "note", "admonition": "note", "info": "info"}
EXERCISES = {"exercise": "exercise", "solution": "solution"}
# Jupyter Book cell tags -> this site's code block options
CELL_TAGS = {"raises-exception": "raises=Exception", "skip-execution": "norun", "hide-input": "hide-source",
             "remove-input": "hide-source", "hide-output": "hide-output", "remove-output": "hide-output"}


def looks_like_myst(text: str) -> bool:
    return "{" in text and ("``{" in text or "::{" in text or ")=" in text or "}`" in text)


def translate(text: str) -> str:
    """`text` with the MyST constructs above rewritten in this site's syntax, line for line."""
    if not looks_like_myst(text):
        return text
    return "\n".join(_lines(text.split("\n")))


def closes(line: str, fence: str) -> bool:
    """Whether `line` closes the plain code block opened by `fence` (its character, as many or more)."""
    s = line.strip()
    return s.startswith(fence) and not s.strip(fence[0])


def quoted(head: str, lines: list[str]) -> list[str]:
    """A callout or theorem-like block: `head`, then `lines` as its blockquote, then an empty line that ends
    it: as many lines as the directive it replaces (its two fences included)."""
    return [head] + [("> " + line) if line.strip() else ">" for line in lines] + [""]


def _lines(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    in_code = None  # the fence of a plain code block being passed through
    while i < len(lines):
        line = lines[i]
        if in_code is not None:
            out.append(line)
            if closes(line, in_code):
                in_code = None
            i += 1
            continue
        m = FENCE.match(line)
        if m is None:
            plain = CODE_FENCE.match(line)
            if plain:
                in_code = plain.group(1)
                out.append(line)
            else:
                target = TARGET.match(line)
                if target and i + 1 < len(lines) and HEADING.match(lines[i + 1]):
                    out.append("")  # the target's line stays, empty; the heading carries the id
                    lines = lines[:i + 1] + [lines[i + 1].rstrip() + " {#" + target.group("label") + "}"] + lines[i + 2:]
                else:
                    out.append(_roles(line))
            i += 1
            continue
        fence = m.group("fence")
        close = next((j for j in range(i + 1, len(lines))
                      if re.fullmatch(r" {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*", lines[j])), None)
        if close is None:  # never closed: leave it as text
            out.append(line)
            i += 1
            continue
        out += _directive(m.group("name"), m.group("arg"), lines[i + 1:close])
        i = close + 1
    return out


def _options(body: list[str]) -> tuple[dict, int]:
    """The `:key: value` lines at the top of a directive's body, and how many lines they take."""
    opts, n = {}, 0
    for line in body:
        m = OPTION.match(line)
        if not m:
            break
        opts[m.group("key")] = m.group("value")
        n += 1
    return opts, n


def _directive(name: str, arg: str, body: list[str]) -> list[str]:
    """The lines that replace a directive: as many as it had (its fences included)."""
    opts, n = _options(body)
    rest = body[n:]
    label = opts.get("label") or opts.get("name")
    kind = name.split(":", 1)[1] if name.startswith("prf:") else name
    if name.startswith("prf:") and kind in PRF or name in EXERCISES:
        block = PRF.get(kind) or EXERCISES[name]
        attrs = f" {{#{label}}}" if label else ""
        return quoted(f"> [!{block}] {arg}".rstrip() + attrs, [""] * n + _lines(rest))
    if name in ADMONITIONS:
        callout = ADMONITIONS.get(opts.get("class", "").split(" ")[0], ADMONITIONS[name]) \
            if name == "admonition" else ADMONITIONS[name]
        return quoted(f"> [!{callout}] {arg}".rstrip(), [""] * n + _lines(rest))
    if name == "figure" and arg:  # image path as the argument, caption as the body
        caption_lines = [line.strip() for line in rest if line.strip()]
        caption = " ".join(caption_lines)
        attrs = f" {{#{label}}}" if label else ""
        image = f"> ![{opts.get('alt', caption) or arg}]({arg})"
        lines = [f"> [!figure] {caption}".rstrip() + attrs]
        slots = n + len(rest)  # lines left for the image, then empty quote lines
        if slots == 0:  # no options and no caption: the image takes the closing fence's line
            return lines + [image]
        return lines + [image] + [">"] * (slots - 1) + [""]
    if name == "code-cell" or name == "python":  # MyST code cells; Quarto's ```{python} (its #| lines are comments)
        lang = (arg.split() or ["python"])[0] if name == "code-cell" else "python"
        lang = "python" if lang in ("ipython3", "ipython", "python3") else lang
        tags = re.findall(r"[\w-]+", opts.get("tags", ""))
        options = " ".join(dict.fromkeys(CELL_TAGS[t] for t in tags if t in CELL_TAGS))
        return [f"```{lang}" + (f" {{{options}}}" if options else "")] + [""] * n + rest + ["```"]
    if name == "math":  # blank lines for the options go before the $$: inside, they would end the equation
        tex = list(rest)
        if label and tex:
            tex[-1] = tex[-1] + f" \\label{{{label}}}"
        return [""] * n + ["$$"] + tex + ["$$"]
    # a directive this site has no counterpart for: shown as text in a code block, so nothing is lost silently
    return ["```text"] + body + ["```"]


def _roles(line: str) -> str:
    def one(m: re.Match) -> str:
        role, text = m.group("role"), m.group("text").strip()
        if role == "eq":
            return f"\\eqref{{{text}}}"
        if role in ("numref", "prf:ref"):
            return f"\\ref{{{_target(text)}}}"
        if role == "ref":
            m2 = re.fullmatch(r"(.+?)\s*<([^<>]+)>", text)
            return f"[{m2.group(1)}](#{m2.group(2)})" if m2 else f"\\ref{{{text}}}"
        keys = [k.strip() for k in text.split(",") if k.strip()]
        if role in ("cite:t", "cite:ts"):
            return " and ".join(f"@{k}" for k in keys)
        return "[" + "; ".join(f"@{k}" for k in keys) + "]"
    return ROLE.sub(one, line)


def _target(text: str) -> str:
    m = re.fullmatch(r".*?<([^<>]+)>", text)
    return m.group(1) if m else text
