"""In a real browser (Debian Chromium via Playwright): theme, keyboard, console errors (search: test_search.py)."""

from __future__ import annotations

import pytest

from conftest import MODULE, note, running
from neuralpath.build import BuildOptions, build
from neuralpath.server import create_app


def browser_site(tmp_path_factory, toml_extra: str = ""):
    from conftest import MINI_TOML, write_site
    return write_site(tmp_path_factory.mktemp("browser") / "site", {
        "content/curriculum/1-foundations/_index.md": note("Foundations"),
        f"{MODULE}/_index.md": '---\ntitle: "Algebra"\nsummary: "Vectors."\n---\n',
        f"{MODULE}/01-eigen.md": note("Eigenvalues", """
            ## Characteristic polynomial

            The zygomorphic eigenvalue $\\lambda$ solves $\\det(A - \\lambda I) = 0$.

            ## Power iteration

            Repeated multiplication converges to the dominant eigenvector.
            """, tags="[linear-algebra]"),
        f"{MODULE}/02-svd.md": note("Singular values", "## Intro\n\nSingular values are square roots of [eigenvalues](note:eigen).\n\n## More\n\nText.\n",
                                    prerequisites="[eigen]"),
        "content/journal/essay.md": '---\ntitle: "An Essay"\ndate: 2025-01-02\nsummary: "Prose."\n---\nEssay text.\n',
        "content/pages/about.md": '---\ntitle: "About"\n---\nAbout text.\n',
    }, MINI_TOML + toml_extra)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = browser_site(tmp_path_factory)
    result = build(root, BuildOptions())
    with running(create_app(result.output)) as port:
        yield f"http://127.0.0.1:{port}"


def test_theme_toggle_persists_across_pages(browser_context, built):
    page = browser_context.new_page()
    page.goto(built + "/")
    page.evaluate("localStorage.clear()")
    page.reload()
    start = page.evaluate("document.documentElement.dataset.theme || ''")
    page.click(".theme-toggle")
    chosen = page.evaluate("document.documentElement.dataset.theme")
    assert chosen in ("dark", "light") and chosen != start
    page.goto(built + "/notes/eigen/")
    assert page.evaluate("document.documentElement.dataset.theme") == chosen
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == ("rgb(20, 24, 27)" if chosen == "dark" else "rgb(251, 250, 247)")
    page.close()


def test_keyboard_reaches_toc_and_search(browser_context, built):
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(built + "/notes/svd/")
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("(() => { const a = document.activeElement; "
                                  "return (a.closest('.toc') ? 'toc:' : '') + (a.className || a.tagName) })()"))
    assert any(r.startswith("toc:") for r in reached), reached
    assert "search-link" in reached
    page.close()


@pytest.mark.parametrize("path", ["/", "/parts/foundations/", "/modules/01-algebra/", "/notes/eigen/",
                                  "/journal/essay/", "/journal/", "/essays/", "/map/", "/tags/", "/about/",
                                  "/search/", "/missing-page/"])
def test_no_console_errors(browser_context, built, path):
    page = browser_context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(built + path)
    page.wait_for_load_state("networkidle")
    assert errors == []
    page.close()


def test_math_visible_without_javascript(browser, built):
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.goto(built + "/notes/eigen/")
    box = page.locator(".katex-html").first.bounding_box()
    assert box and box["width"] > 10 and box["height"] > 5
    assert page.locator(".katex .mathnormal").first.evaluate("e => getComputedStyle(e).fontFamily").startswith("KaTeX")
    ctx.close()


def test_mark_as_read_updates_module_progress(browser_context, built):
    page = browser_context.new_page()
    page.goto(built + "/modules/01-algebra/")
    assert page.inner_text(".page-header .progress-text") == "0 of 2 read"
    page.goto(built + "/notes/svd/")
    study = page.locator(".study-order")
    assert study.is_hidden()  # nothing read yet: no study order shown
    page.click(".mark-read")
    assert page.get_attribute(".mark-read", "aria-pressed") == "true"
    page.goto(built + "/modules/01-algebra/")
    assert page.inner_text(".page-header .progress-text") == "1 of 2 read"
    assert page.evaluate("document.querySelector('#note-svd').classList.contains('is-read')")
    page.goto(built + "/")
    assert page.inner_text("#continue-link") == "Singular values"
    assert page.locator("#continue").is_visible()
    page.goto(built + "/notes/svd/")
    page.click(".mark-read")  # toggles back
    page.goto(built + "/modules/01-algebra/")
    assert page.inner_text(".page-header .progress-text") == "0 of 2 read"
    page.close()


def test_progress_export_import_roundtrip(browser_context, built, tmp_path):
    page = browser_context.new_page()
    page.goto(built + "/")
    page.evaluate("localStorage.setItem('np-progress', JSON.stringify({read: {eigen: 1}}))")
    page.reload()
    with page.expect_download() as dl:
        page.click("[data-progress-export]")
    path = tmp_path / "progress.json"
    dl.value.save_as(path)
    assert '"eigen"' in path.read_text()
    page.evaluate("localStorage.clear()")
    page.set_input_files("[data-progress-import]", str(path))
    page.wait_for_function("document.querySelector('.progress-status').textContent.includes('Imported')")
    assert page.evaluate("JSON.parse(localStorage.getItem('np-progress')).read.eigen") == 1
    page.close()


def test_link_preview_on_focus(browser_context, built):
    page = browser_context.new_page()
    page.goto(built + "/notes/svd/")
    page.focus("a.xref")
    tip = page.locator("#np-preview")
    assert tip.is_visible() and "Eigenvalues" in tip.inner_text()
    page.keyboard.press("Escape")
    assert page.locator("#np-preview").count() == 0
    page.close()
