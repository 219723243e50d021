"""`neuralpath new note|article TITLE`: create a file with valid front matter; never overwrite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from neuralpath.config import load_config
from neuralpath.content.loader import slugify, split_prefix
from neuralpath.errors import Report, UsageError


def _yaml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


SITE_TOML = """\
# Neural-Path site configuration; every key is optional (docs/configuration.md).
[site]
title = {title}
base_url = "https://example.org/"
author = "Your name"
description = "What this site is about, in one sentence."

[build]
content_dir = "content"
output_dir = "public"

# TeX macros for every note's math; change them or add your own.
[math.macros]
{macros}
"""


def new_site(folder: Path, title: str) -> Path:
    """A new site in `folder` (which must not exist or be empty): neuralpath.toml with the documented
    macros, one part, one module and one note to start from."""
    from neuralpath.config import DEFAULT_MACROS

    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty; give a new folder for the site")
    module = folder / "content" / "curriculum" / "1-first-part" / "01-first-module"
    module.mkdir(parents=True)
    macros = "\n".join(f"{_toml_str(k)} = {_toml_str(v)}" for k, v in DEFAULT_MACROS.items())
    (folder / "neuralpath.toml").write_text(SITE_TOML.format(title=_toml_str(title), macros=macros), encoding="utf-8")
    (module.parent / "_index.md").write_text("---\ntitle: First part\nsummary: What this part covers.\n---\n",
                                             encoding="utf-8")
    (module / "_index.md").write_text("---\ntitle: First module\nsummary: What this module covers.\n---\n",
                                      encoding="utf-8")
    (module / "01-first-note.md").write_text(
        "---\ntitle: First note\nsummary: 'One or two sentences; math such as $x \\in \\R^n$ is fine in single quotes.'\n"
        "---\n\n## Problem\n\nFor $x \\in \\R^n$, $\\norm{x}^2 = x\\T x$.\n\n```python\nimport numpy as np\n"
        "x = np.array([3.0, 4.0])\nassert np.isclose(np.linalg.norm(x) ** 2, x @ x)\n```\n", encoding="utf-8")
    return folder


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _existing_ids(config) -> dict[str, str]:
    """Ids of the site's documents -> their file (read from file names and `id:` fields)."""
    from neuralpath.content.loader import load_content

    content = load_content(config, Report(config.root), drafts=True)
    return {d.id: str(d.source.path.relative_to(config.root)) if config.root in d.source.path.parents else str(d.source.path)
            for d in content.docs}


def new_file(site: Path, kind: str, title: str, module: str | None = None) -> Path:
    config = load_config(site, Report(site))
    slug = slugify(title)
    if not slug:
        raise UsageError(f"cannot make a file name from the title {title!r}; use letters or digits")
    if kind == "article":
        if not config.has_file:
            raise UsageError(f"{site} is a plain folder of notes, which has no journal for articles; give it a "
                             "neuralpath.toml (see `neuralpath new site`) or write a note")
        folder = config.content_dir / "journal"
        path = folder / f"{slug}.md"
        front = (f"---\ntitle: {_yaml_str(title)}\ndate: {dt.date.today().isoformat()}\n"
                 f"summary: 'One or two sentences on what this essay covers.'\ntags: []\nstatus: draft\n---\n\n")
    else:
        if config.has_file:
            cur = config.content_dir / "curriculum"
            modules = sorted(m for p in cur.iterdir() if p.is_dir() for m in p.iterdir() if m.is_dir()) if cur.is_dir() else []
            if module:
                matches = [m for m in modules if m.name == module or split_prefix(m.name)[1] == module]
                if not matches:
                    raise UsageError(f"no module folder named {module!r}; "
                                     + ("existing: " + ", ".join(m.name for m in modules[:30]) if modules else
                                        "there is none yet: create content/curriculum/<part>/<module>/ first"))
                folder = matches[0]
            elif modules:
                folder = modules[-1]
            else:
                raise UsageError("no module folder yet: create content/curriculum/<part>/<module>/ first")
            numbers = [split_prefix(p.stem)[0] or 0 for p in folder.glob("*.md") if p.name != "_index.md"]
            path = folder / f"{max(numbers, default=0) + 1:02d}-{slug}.md"
        else:  # a plain folder: sub-folders are modules
            folder = config.content_dir / module if module else config.content_dir
            path = folder / f"{slug}.md"
        front = (f"---\ntitle: {_yaml_str(title)}\nsummary: 'One or two sentences on what this note covers.'\n"
                 f"status: draft\nprerequisites: []\ntags: []\n---\n\n## Problem\n\n## Notation\n\n## Derivation\n\n"
                 f"## Practice\n\n## References\n")
    if path.exists():
        raise UsageError(f"{path} already exists; it was left untouched")
    taken = _existing_ids(config)
    if path.stem.split("-", 1)[-1] in taken or slug in taken:  # ids are the file name without its number
        raise UsageError(f"a note, article or page with the id '{slug}' exists already "
                         f"({taken.get(slug, '')}); ids must be unique: choose another title")
    folder.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as f:  # "x": fails rather than overwrite, even in a race
        f.write(front)
    return path
