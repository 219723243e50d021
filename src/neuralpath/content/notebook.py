"""Jupyter notebooks as notes: markdown cells are Markdown, code cells become executed ```python blocks.

Front matter comes from the notebook metadata key `neuralpath` (a mapping) or from a first raw or
markdown cell that is a `---` YAML block. Stored outputs in the notebook are ignored: code runs at
build time like any note's code. Line numbers in messages count the lines of the cells in order, as if
the notebook were written out as one Markdown file (cell boundaries add one blank line each).
"""

from __future__ import annotations

from pathlib import Path

from neuralpath.content.frontmatter import parse_yaml, split_front_matter
from neuralpath.content.model import Source
from neuralpath.errors import Report


def read_notebook(path: Path, report: Report) -> Source | None:
    import nbformat
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as e:  # nbformat raises several unrelated types for bad files
        report.error(path, 1, f"cannot read notebook: {e}".splitlines()[0], rule="notebook")
        return None
    meta: dict = {}
    meta_lines: dict = {}
    cells = list(nb.cells)
    if cells and cells[0].cell_type in ("raw", "markdown") and cells[0].source.lstrip().startswith("---"):
        src = split_front_matter(path, cells[0].source.strip() + "\n", report)
        if src is None:
            return None
        meta, meta_lines = src.meta, src.meta_lines
        cells = cells[1:]
    nb_meta = nb.metadata.get("neuralpath")
    if isinstance(nb_meta, dict):
        meta = {**nb_meta, **meta}
    elif nb_meta is not None:
        report.error(path, 1, "notebook metadata 'neuralpath' must be a mapping of front matter fields",
                     rule="front-matter")
    parts = []
    for cell in cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source)
        elif cell.cell_type == "code":
            fence = "````" if "```" in cell.source else "```"
            parts.append(f"{fence}python\n{cell.source}\n{fence}")
    return Source(path=path, meta=meta, body="\n\n".join(parts) + "\n", body_line=1, meta_lines=meta_lines)


__all__ = ["read_notebook", "parse_yaml"]
