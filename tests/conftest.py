"""Shared fixtures: tiny sites written into temporary folders, and a CLI runner."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from neuralpath.cli import main

MINI_TOML = """\
[site]
title = "Test Notes"
base_url = "https://example.org/"
author = "Test Author"
description = "A site for tests."

[math.macros]
"\\\\R" = "\\\\mathbb{R}"
"""


def write_site(root: Path, files: dict[str, str], toml: str | None = MINI_TOML) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if toml is not None:
        (root / "neuralpath.toml").write_text(toml, encoding="utf-8")
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def note(title: str, body: str = "", **fields) -> str:
    lines = ["---", f'title: "{title}"', f'summary: "{fields.pop("summary", "About " + title + ".")}"']
    for k, v in fields.items():
        lines.append(f"{k}: {v}")
    lines.append("---")
    return "\n".join(lines) + "\n" + textwrap.dedent(body).lstrip("\n")


MODULE = "content/curriculum/1-foundations/01-algebra"


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def site(tmp_path):
    def make(files: dict[str, str], toml: str | None = MINI_TOML) -> Path:
        return write_site(tmp_path / "site", files, toml)

    return make
