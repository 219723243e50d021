"""Download as a notebook: a document's Markdown source and its build results as a Jupyter notebook.

Which documents get one: notes and articles with a page whose Python code ran in this build (or whose
results came from the code cache). A document without runnable Python, or whose code was not run (a
missing `requires` variable, `--no-execute` with nothing cached), gets no notebook and no link.

The notebook (nbformat 4) holds, in order:

- Markdown cells: the body's Markdown source between code blocks, as written (front matter dropped);
  the first cell starts with the title as a `# Title` heading. Site macros the body uses are defined
  in that cell (`$\\newcommand…$`) so that Jupyter's MathJax renders the math as the site does.
- a code cell per Python block (```` ```python ````, `py`, `python3`), with the outputs of the build:
  stdout and stderr as stream outputs, the value of a final expression as an `execute_result`
  (text/plain), each figure as `display_data` (image/svg+xml, its alt text as text/plain), an
  expected error (`{raises=…}`) as an `error` output, tagged `raises-exception` so that "Run all"
  goes on past it. `{norun}` blocks become code cells without outputs, tagged `skip-execution`.
  Fenced blocks in other languages stay in the Markdown cells.

Cell ids are numbered, not random, so the same inputs give the same bytes; `site_notebooks` keys
each file by a hash of those inputs, so the write stage rewrites a notebook only when it changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from neuralpath.cache import ENGINE, digest
from neuralpath.execute.site import RUN_LANGS

KINDS = ("note", "article")  # documents that get a notebook (when their code ran)
FIGURE_TEXT = "Figure drawn by this code block"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "file_extension": ".py", "mimetype": "text/x-python",
                 "pygments_lexer": "ipython3", "codemirror_mode": {"name": "ipython", "version": 3},
                 "nbconvert_exporter": "python"}
_RESULT_FIELDS = ("stdout", "stderr", "value", "truncated", "figures", "error")


@dataclass(frozen=True)
class Notebook:
    """One notebook file of the site: its output path, a key of everything it is made from, and a
    function that makes its JSON text (called only when the file must be written)."""

    path: str  # e.g. "notes/svd/svd.ipynb", beside the document's page
    key: str
    render: Callable[[], str]


def notebook_path(doc) -> str:
    return f"{doc.url}{doc.id}.ipynb"


def site_notebooks(site, results: dict[str, dict[int, dict]], config) -> dict[str, Notebook]:
    """doc id -> Notebook for every note or article with a page and executed code (`results`: the
    execute stage's raw block results, see `Executed.results`)."""
    base_url = config.site["base_url"].rstrip("/") + "/"
    macros = dict(config.macros)
    out = {}
    for doc_id, blocks in results.items():
        doc = site.docs.get(doc_id)
        if doc is None or not blocks or not doc.has_page or doc.kind not in KINDS:
            continue
        url = base_url + doc.url
        key = digest("notebook", ENGINE, doc.id, doc.title, doc.source.key, url, sorted(macros.items()),
                     sorted((i, _essential(br)) for i, br in blocks.items()))
        parsed = site.parsed.get(doc_id)
        code = {c.index: c.code for c in parsed.code} if parsed is not None else None
        out[doc_id] = Notebook(notebook_path(doc), key, _renderer(doc, blocks, macros, url, code))
    return out


def _essential(br: dict) -> tuple:
    """What of a block result the notebook shows (not its timing)."""
    return tuple((f, br.get(f)) for f in _RESULT_FIELDS)


def _renderer(doc, blocks, macros, url, code) -> Callable[[], str]:
    return lambda: notebook_json(build_notebook(doc.title, doc.source.body, blocks, macros=macros,
                                                meta={"id": doc.id, "url": url}, code=code))


def notebook_json(nb) -> str:
    """The notebook's JSON text, as Jupyter writes it (nbformat's writer; not validated again: the
    notebook is made valid by construction, and tests validate it)."""
    from nbformat.v4.nbjson import writes

    return writes(nb) + "\n"


@lru_cache(maxsize=1)
def _markdown():
    from neuralpath.markdown.parser import create_markdown

    return create_markdown(allow_html=True)


def split_body(body: str, code: dict[int, str] | None = None) -> list[tuple[str, object]]:
    """The body as ("markdown", text) and ("code", (index, lang, options, code)) pieces in source order.
    `index` is the block's code-block index (as in `Parsed.code` and the execute stage's results).
    `code` (index -> code of the parse stage's blocks), when given, is the authority on the numbering:
    a block whose code differs from the one under its index takes the index of an unused block with
    its code, or None (no outputs), rather than another block's outputs."""
    from neuralpath.markdown.parser import parse_info

    lines = body.split("\n")
    fences = []
    index = 0
    for tok in _markdown().parse(body, {}):
        if tok.type != "fence":
            continue
        lang, opts = parse_info(tok.info)
        if lang in RUN_LANGS and tok.map:
            fences.append((tok.map[0], tok.map[1], index, lang, opts, tok.content))
        index += 1
    if code is not None and any(code.get(f[2]) != f[5] for f in fences):
        used: set[int] = set()
        for n, (start, end, idx, lang, opts, text) in enumerate(fences):
            if code.get(idx) != text or idx in used:
                idx = next((i for i, c in sorted(code.items()) if c == text and i not in used), None)
            used.add(idx)
            fences[n] = (start, end, idx, lang, opts, text)
    fences.sort(key=lambda f: f[0])  # footnote definitions are moved to the end of the token stream
    pieces: list[tuple[str, object]] = []
    pos = 0
    for start, end, idx, lang, opts, text in fences:
        if start < pos:
            continue
        pieces.append(("markdown", "\n".join(lines[pos:start])))
        pieces.append(("code", (idx, lang, opts, text)))
        pos = end
    pieces.append(("markdown", "\n".join(lines[pos:])))
    return pieces


def _macro_cell_text(body: str, macros: dict[str, str]) -> str:
    """`$\\newcommand{\\R}{\\mathbb{R}}…$` for the site macros the body uses ('' when none)."""
    defs = []
    for name, expansion in sorted(macros.items()):
        letters = name[1:].isalpha()
        if not re.search(re.escape(name) + (r"(?![A-Za-z])" if letters else ""), body):
            continue
        args = max((int(n) for n in re.findall(r"#(\d)", expansion)), default=0)
        defs.append(f"\\newcommand{{{name}}}{f'[{args}]' if args else ''}{{{expansion}}}")
    return f"${' '.join(defs)}$" if defs else ""


def build_notebook(title: str, body: str, results: dict[int, dict], *, macros: dict[str, str] | None = None,
                   meta: dict | None = None, code: dict[int, str] | None = None):
    """The notebook (an nbformat `NotebookNode`) of a body (front matter already removed) and its
    block results (code-block index -> result dict: stdout, stderr, value, truncated, figures
    [{svg, alt}], error {type, message})."""
    # plain dicts in nbformat 4.5's shape (its `new_*` helpers validate every node: ~1 ms a cell)
    from nbformat import from_dict

    cells: list[dict] = []
    head = [f"# {title.strip()}"]
    count = 0

    def markdown(text: str) -> None:
        cells.append({"cell_type": "markdown", "id": f"cell-{len(cells) + 1}", "metadata": {}, "source": text})

    for kind, piece in split_body(body, code):
        if kind == "markdown":
            text = piece.strip("\n")
            if head is not None:
                text = "\n\n".join(p for p in [*head, text] if p.strip())
                head = None
            if text.strip():
                markdown(text)
            continue
        if head is not None:  # a code block before any prose: the title cell comes first
            markdown("\n\n".join(head))
            head = None
        idx, _lang, opts, code = piece
        br = None if opts.get("norun") or idx is None else results.get(idx)
        tags = ["skip-execution"] if opts.get("norun") else ["raises-exception"] if opts.get("raises") else []
        if br is not None:
            count += 1
        cells.append({"cell_type": "code", "id": f"cell-{len(cells) + 1}", "metadata": {"tags": tags} if tags else {},
                      "execution_count": count if br is not None else None, "source": code.rstrip("\n"),
                      "outputs": _outputs(br, count) if br is not None else []})
    if cells and cells[0]["cell_type"] == "markdown":
        defs = _macro_cell_text(body, macros or {})
        if defs:
            cells[0]["source"] += "\n\n" + defs
    metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO), "title": title}
    if meta:
        metadata["neuralpath"] = dict(meta)
    return from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells})


def _outputs(br: dict, count: int) -> list[dict]:
    outs: list[dict] = []

    def stream(name: str, text: str) -> None:
        outs.append({"output_type": "stream", "name": name, "text": text})

    if br.get("stdout"):
        stream("stdout", br["stdout"])
    if br.get("stderr"):
        stream("stderr", br["stderr"])
    if br.get("truncated"):
        stream("stderr", "Output truncated at the size limit.\n")
    if br.get("value"):
        outs.append({"output_type": "execute_result", "execution_count": count, "metadata": {},
                     "data": {"text/plain": br["value"]}})
    for fig in br.get("figures") or []:
        alt = str(fig.get("alt") or "").strip() or FIGURE_TEXT
        outs.append({"output_type": "display_data", "metadata": {},
                     "data": {"image/svg+xml": fig["svg"], "text/plain": alt}})
    err = br.get("error")
    if err:
        kind, message = str(err.get("type") or "Error"), str(err.get("message") or "")
        outs.append({"output_type": "error", "ename": kind, "evalue": message, "traceback": [f"{kind}: {message}"]})
    return outs
