"""What a reader's first search costs on a built site: requests and bytes of the search index.

    .venv/bin/python bench/search_reader.py SITE [SITE ...] [--term WORD ...]

For each built site (its `public/` folder) and term: serve the folder on a loopback port, open
`/search/` in Debian's Chromium (Playwright, a fresh context each time), type the term, wait for the
first result and for the network to go idle, and print how many requests went to the Pagefind bundles
(and how many of them the page made on opening, before the term was typed), their bytes, and the time
from typing to idle. Loopback has no latency, so the counts and bytes are the figures to compare; they
show what `[build] search_shard_size` costs readers (each shard brings its own entry, metadata, filters
and an index chunk per term).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import CHROMIUM, CHROMIUM_FLAGS, running  # noqa: E402  (the tests' server and browser flags)
from neuralpath.server import create_app  # noqa: E402


def first_search(browser, port: int, term: str) -> tuple[int, int, int, float]:
    """(Pagefind requests in all, of which on opening the page, their bytes, seconds from typing to idle)."""
    ctx = browser.new_context()
    page = ctx.new_page()
    done = []
    page.on("requestfinished", lambda request: done.append(request))
    page.goto(f"http://127.0.0.1:{port}/search/")
    box = page.locator("#search-page .pagefind-ui__search-input")
    box.wait_for(timeout=20000)
    page.wait_for_timeout(1500)  # what the search UI loads on its own
    opening = sum(1 for r in done if "/pagefind" in r.url)
    t0 = time.perf_counter()
    box.fill(term)
    page.locator("#search-page .pagefind-ui__result-link").first.wait_for(timeout=20000)
    page.wait_for_load_state("networkidle")
    seconds = time.perf_counter() - t0
    index = [r for r in done if "/pagefind" in r.url]
    size = sum(r.sizes()["responseBodySize"] for r in index)
    ctx.close()
    return len(index), opening, size, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sites", nargs="+", type=Path, help="site folders, each with a built public/")
    ap.add_argument("--term", action="append", help="search terms (default: eigenvalue, momentum)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    for site in args.sites:
        shards = len(list((site / "public").glob("pagefind*/pagefind-entry.json")))
        with running(create_app(site / "public")) as port, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            for term in args.term or ["eigenvalue", "momentum"]:
                n, opening, size, seconds = first_search(browser, port, term)
                print(f"{site} ({shards} shards) '{term}': {n} requests to the index ({opening} on opening), "
                      f"{size / 1e3:.0f} kB, typing to idle {seconds * 1000:.0f} ms")
            browser.close()


if __name__ == "__main__":
    main()
