"""Shared fixtures: tiny sites written into temporary folders, and a CLI runner."""

from __future__ import annotations

import socket
import textwrap
import threading
import time
from contextlib import contextmanager
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


@contextmanager
def running(app):
    """Run an ASGI app with uvicorn on a free loopback port in a thread; yields the port. A DevServer is run
    as `neuralpath serve` runs it (its uvicorn server ends the event streams when it stops). On leaving,
    the server is stopped and its thread must end: no server thread outlives its test."""
    import uvicorn

    from neuralpath.serve import DevServer
    sock = socket.socket()  # bound here and handed to uvicorn: no other process can take the port meanwhile
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if isinstance(app, DevServer):
        uv = app.uvicorn_server("127.0.0.1", port, lifespan="on")
    else:
        uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn:{port}")
    thread.start()
    deadline = time.time() + 10
    while not uv.started and thread.is_alive() and time.time() < deadline:
        time.sleep(0.01)
    assert uv.started, "server did not start"
    try:
        yield port
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive(), "the server thread did not end within 10 s of being stopped"


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download); Playwright gives each launch a fresh
    temporary profile folder, and each test context below is a fresh incognito-like profile too."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run scripts/install-chromium.sh (make test does)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def browser_context(browser):
    ctx = browser.new_context()
    yield ctx
    ctx.close()
