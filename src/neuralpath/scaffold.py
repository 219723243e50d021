"""`neuralpath new note|article TITLE`: create a file with valid front matter; never overwrite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from neuralpath.config import load_config
from neuralpath.content.loader import slugify, split_prefix
from neuralpath.errors import Report, UsageError


def _yaml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def new_file(site: Path, kind: str, title: str, module: str | None = None) -> Path:
    config = load_config(site, Report(site))
    slug = slugify(title)
    if not slug:
        raise UsageError(f"cannot make a file name from the title {title!r}; use letters or digits")
    if kind == "article":
        folder = config.content_dir / "journal" if config.has_file else config.content_dir
        path = folder / f"{slug}.md"
        front = (f"---\ntitle: {_yaml_str(title)}\ndate: {dt.date.today().isoformat()}\n"
                 f"summary: \"One or two sentences on what this essay covers.\"\ntags: []\nstatus: draft\n---\n\n")
    else:
        if config.has_file:
            cur = config.content_dir / "curriculum"
            modules = sorted(m for p in cur.iterdir() if p.is_dir() for m in p.iterdir() if m.is_dir()) if cur.is_dir() else []
            if module:
                matches = [m for m in modules if m.name == module or split_prefix(m.name)[1] == module]
                if not matches:
                    raise UsageError(f"no module folder named {module!r}; existing: "
                                     + ", ".join(m.name for m in modules[:30]))
                folder = matches[0]
            elif modules:
                folder = modules[-1]
            else:
                raise UsageError("no module folder yet: create content/curriculum/<part>/<module>/ first")
            numbers = [split_prefix(p.stem)[0] or 0 for p in folder.glob("*.md") if p.name != "_index.md"]
            path = folder / f"{max(numbers, default=0) + 1:02d}-{slug}.md"
        else:
            folder = config.content_dir
            path = folder / f"{slug}.md"
        front = (f"---\ntitle: {_yaml_str(title)}\nsummary: \"One or two sentences on what this note covers.\"\n"
                 f"status: draft\nprerequisites: []\ntags: []\n---\n\n## Problem\n\n## Notation\n\n## Derivation\n\n"
                 f"## Practice\n\n## References\n")
    if path.exists():
        raise UsageError(f"{path} already exists; it was left untouched")
    folder.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as f:  # "x": fails rather than overwrite, even in a race
        f.write(front)
    return path
