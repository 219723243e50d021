"""Search as readers use it, in Chromium: our UI over Pagefind's API, results that really contain the query,
TeX in the index, theorem results, filters, the keyboard, accessibility, and an index that follows edits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import MODULE, note, running
from neuralpath.build import BuildOptions, build
from neuralpath.serve import DevServer
from neuralpath.server import create_app

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"

FILES = {
    "content/curriculum/1-foundations/_index.md": note("Foundations"),
    f"{MODULE}/_index.md": '---\ntitle: "Algebra"\nsummary: "Vectors."\n---\n',
    f"{MODULE}/01-eigen.md": note("Eigenvalues", """
        ## Characteristic polynomial

        The zygomorphic eigenvalue $\\lambda$ solves $\\det(A - \\lambda I) = 0$.

        > [!theorem] Dominance {#thm:dominance}
        > Power iteration converges to the dominant eigenvector when the gap is positive.

        ## Power iteration

        Repeated multiplication converges.
        """),
    f"{MODULE}/02-svd.md": note("Singular values", """
        ## Intro

        Singular values are square roots of [eigenvalues](note:eigen); the divergence $\\KL(p\\|q)$ is another story.

        > [!definition] Singular triple {#def:triple}
        > A unit pair $(u, v)$ with $A v = \\sigma u$.
        """, prerequisites="[eigen]"),
    "content/journal/essay.md": '---\ntitle: "An Essay"\ndate: 2025-01-02\nsummary: "Prose."\n---\nEssay text about quasi-Newton steps.\n',
    "content/pages/about.md": '---\ntitle: "About"\n---\nAbout text.\n',
}


def search_site(tmp_path_factory, toml_extra: str = ""):
    from conftest import MINI_TOML, write_site
    return write_site(tmp_path_factory.mktemp("search") / "site", FILES, MINI_TOML + toml_extra)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = search_site(tmp_path_factory)
    result = build(root, BuildOptions())
    assert not result.report.warnings, result.report.as_text()
    with running(create_app(result.output)) as port:
        yield f"http://127.0.0.1:{port}"


def open_search(page, url):
    page.goto(url)
    page.keyboard.press("/")
    box = page.locator("dialog input[type=search]")
    box.wait_for(timeout=10000)
    return box


def query(page, box, text):
    """Type a query; returns the status line once the search for it has finished."""
    box.fill(text)
    page.wait_for_function(
        "q => { const s = document.querySelector('dialog .search-status').textContent; "
        "return s.includes('“' + q + '”'); }", arg=text, timeout=10000)
    return page.locator("dialog .search-status").inner_text()


def titles(page):
    return [a.inner_text().replace("\u00a0", " ") for a in page.locator("dialog .search-title a").all()]


def test_search_loads_only_when_opened_and_finds_a_note_by_word_and_prefix(browser_context, served):
    page = browser_context.new_page()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(served + "/notes/svd/")
    page.wait_for_load_state("networkidle")
    assert not any("search.js" in u or "pagefind" in u or "bundles.json" in u for u in requested)
    box = open_search(page, served + "/notes/svd/")
    assert page.evaluate("document.activeElement === document.querySelector('dialog input[type=search]')")
    for text in ("zygomorphic", "zygomor", "Zygomorphic eigenvalue"):
        status = query(page, box, text)
        assert status.startswith("1 result"), status
        assert titles(page) == ["Eigenvalues"]
    first = page.locator("dialog .search-result").first
    assert "Algebra" in first.locator(".search-where").inner_text()  # module and part shown with it
    assert first.locator(".search-type").inner_text().lower() == "note"
    assert "<mark>zygomorphic</mark>" in first.locator(".search-excerpt").inner_html().lower()
    section = first.locator(".search-sections a").first  # the section the word is in, titled as it reads
    assert section.inner_text().strip() == "Characteristic polynomial"
    assert section.get_attribute("href").endswith("#characteristic-polynomial")
    # a stem finds its family ("eigenvalues" in the svd note, "eigenvalue" in the other)
    query(page, box, "eigenvalues")
    assert {"Eigenvalues", "Singular values"} <= set(titles(page))
    page.close()


@pytest.mark.parametrize("text", ["quasiparticle", "xylophonic", "zygomorphic quasiparticle", "eigenq"])
def test_words_absent_from_the_site_find_nothing(browser_context, served, text):
    """Pagefind alone cuts an unknown word back to an indexed prefix ("quasi" of quasi-Newton, "x" of
    anything): none of these may return a result."""
    page = browser_context.new_page()
    box = open_search(page, served + "/")
    status = query(page, box, text)
    assert status.startswith(f"No results for “{text}”"), status
    assert titles(page) == []
    page.close()


def test_no_results_suggests_the_nearest_indexed_words(browser_context, served):
    page = browser_context.new_page()
    box = open_search(page, served + "/")
    status = query(page, box, "zygomorfic")
    assert "Nearest words: zygomorphic" in status  # announced with the status
    page.locator("dialog .search-word", has_text="zygomorphic").click()
    page.wait_for_function("() => document.querySelector('dialog .search-status').textContent.startsWith('1 result')",
                           timeout=10000)
    assert titles(page) == ["Eigenvalues"]
    page.close()


def test_math_is_searched_as_tex_and_shown_legibly(browser_context, served):
    page = browser_context.new_page()
    box = open_search(page, served + "/")
    # the note writes \KL (a site macro); the index holds the macro written out
    query(page, box, "D_{\\mathrm{KL}}")
    assert titles(page) == ["Singular values"]
    excerpt = page.locator("dialog .search-excerpt").first.inner_text()
    assert "D_KL(p‖q)" in excerpt.replace(" ", "") and "\\mathrm" not in excerpt and "katex" not in excerpt
    query(page, box, "\\det")
    assert titles(page) == ["Eigenvalues"]
    assert "det(A - λ I)" in page.locator("dialog .search-excerpt").first.inner_text()
    page.close()


def test_theorems_and_definitions_are_results_of_their_own_and_filters_narrow(browser_context, served):
    page = browser_context.new_page()
    box = open_search(page, served + "/")
    query(page, box, "dominant")
    assert titles(page)[0] == "Theorem 1 (Dominance)"
    result = page.locator("dialog .search-result").first
    assert result.locator(".search-type").inner_text().lower() == "result"
    assert "Eigenvalues" in result.locator(".search-where").inner_text()  # the note it is in
    assert result.locator(".search-title a").get_attribute("href") == "/notes/eigen/#thm-dominance"
    query(page, box, "singular")
    assert set(titles(page)) == {"Singular values", "Definition 1 (Singular triple)"}
    page.select_option("dialog .search-filters select >> nth=0", "definition")
    page.wait_for_function("() => document.querySelectorAll('dialog .search-title a').length === 1", timeout=10000)
    assert titles(page) == ["Definition 1 (Singular triple)"]
    page.close()


def test_keyboard_only_search(browser_context, served):
    page = browser_context.new_page()
    page.goto(served + "/about/")
    page.keyboard.press("/")
    page.locator("dialog input[type=search]").wait_for(timeout=10000)
    page.keyboard.type("converges")
    page.wait_for_function("() => document.querySelector('dialog .search-status').textContent.includes('result')",
                           timeout=10000)
    page.keyboard.press("ArrowDown")
    first = page.evaluate("document.activeElement.textContent")
    assert first in ("Eigenvalues", "Theorem 1 (Dominance)")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.textContent") == first
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.type") == "search"  # back in the box
    page.keyboard.press("Escape")  # closes the dialog; focus returns to the search link
    assert not page.evaluate("document.querySelector('dialog').open")
    assert page.evaluate("document.activeElement.className") == "search-link"
    page.keyboard.press("/")
    page.keyboard.press("ArrowDown")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.startswith(served + "/notes/eigen/")
    page.close()


def test_search_page_without_javascript_says_it_needs_it(browser, served):
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.goto(served + "/")
    page.click(".search-link")
    assert page.url.endswith("/search/")
    assert "needs JavaScript" in page.locator("main").inner_text()
    ctx.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_violation_in_the_open_search(browser, served, theme):
    ctx = browser.new_context(color_scheme=theme)
    page = ctx.new_page()
    box = open_search(page, served + "/notes/eigen/")
    query(page, box, "eigenvalue")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations.map(v => v.id + ': ' + "
                          "v.nodes.map(n => n.target.join(' ')).join(', '))")
    assert found == []
    query(page, box, "quasiparticle")  # the no-results state, with its suggestions
    found = page.evaluate("async () => (await axe.run(document)).violations.map(v => v.id)")
    assert found == []
    ctx.close()


def test_a_sharded_index_is_searched_whole(browser_context, tmp_path_factory):
    from neuralpath.search import shard_of
    root = search_site(tmp_path_factory, "\n[build]\nsearch_shard_size = 1\n")
    result = build(root, BuildOptions())
    shards = sorted(p.name for p in result.output.iterdir() if p.name.startswith("pagefind"))
    ids = ["eigen", "svd", "essay", "about"]
    assert len(shards) == len({shard_of(i, 4) for i in ids}) > 1, shards  # four documents, shard size 1
    # merged shards keep only their index: the first bundle's script, worker and wasm search them all
    bundles = json.loads((result.output / "search/bundles.json").read_text())["bundles"]
    assert sorted(b.strip("/") for b in bundles) == shards
    for b in bundles[1:]:
        kept = {f.name for f in (result.output / b.strip("/")).iterdir()}
        assert not kept & {"pagefind.js", "pagefind-worker.js", "pagefind-ui.js"}, kept
        assert not any(n.startswith("wasm.") for n in kept), kept
    with running(create_app(result.output)) as port:
        page = browser_context.new_page()
        page.goto(f"http://127.0.0.1:{port}/search/")
        box = page.locator("#search-page input[type=search]")
        box.wait_for(timeout=10000)
        for term, title in (("zygomorphic", "Eigenvalues"), ("square roots", "Singular values"),
                            ("quasi", "An Essay"), ("dominance", "Theorem 1 (Dominance)")):
            box.fill(term)
            page.wait_for_function(
                "t => [...document.querySelectorAll('.search-title a')].some(a => a.textContent.replace(/\\u00a0/g, ' ') === t)",
                arg=title, timeout=10000)
        page.close()


def search_for(context, port, text):
    """A new page each time: the dev server reloads the pages it has open when it rebuilds."""
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{port}/search/")
    box = page.locator("#search-page input[type=search]")
    box.wait_for(timeout=10000)
    box.fill(text)
    page.wait_for_function("q => document.querySelector('.search-status').textContent.includes('“' + q + '”')",
                           arg=text, timeout=10000)
    found = [a.inner_text().replace("\u00a0", " ") for a in page.locator(".search-title a").all()]
    page.close()
    return found


def test_an_edit_is_found_by_its_new_text_not_its_old(browser_context, tmp_path_factory, cli):
    """Under `neuralpath serve` (the dev server's rebuild) and after a one-note `neuralpath build`."""
    root = search_site(tmp_path_factory)
    server = DevServer(root, quiet=True)
    assert server.rebuild()
    eigen = root / MODULE / "01-eigen.md"
    with running(server) as port:
        page = browser_context
        assert search_for(page, port, "zygomorphic") == ["Eigenvalues"]
        eigen.write_text(eigen.read_text().replace("zygomorphic", "heliotropic"))
        assert server.rebuild()
        assert json.loads((server.output / "search/bundles.json").read_text())["delta"] == "/pagefind-delta/"
        assert search_for(page, port, "heliotropic") == ["Eigenvalues"]
        assert search_for(page, port, "zygomorphic") == []
        # the other notes of the base are still found, once each
        assert search_for(page, port, "square roots") == ["Singular values"]
    eigen.write_text(eigen.read_text().replace("heliotropic", "anisotropic"))
    out = root / "public"
    assert cli("build", root, "-q")[0] == 0
    with running(create_app(out)) as port:
        page = browser_context
        assert search_for(page, port, "anisotropic") == ["Eigenvalues"]
        assert search_for(page, port, "heliotropic") == []
        assert search_for(page, port, "zygomorphic") == []


def test_our_search_script_stays_under_10_kb_compressed():
    import gzip

    import neuralpath.layout.assets as assets
    script = (assets.STATIC / "search.js").read_bytes()
    assert len(gzip.compress(script, 9)) < 10_000
