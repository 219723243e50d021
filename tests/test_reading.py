"""Reading the bundled site as a reader does, in Chromium at a phone's width (390 px) and a laptop's
(1280 px), by keyboard and in print: equation numbers, wide math, the contents, deep links, printing.

The site is built once without running its code (what is measured here is layout, not execution)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import running
from neuralpath.build import BuildOptions, build
from neuralpath.server import create_app

REPO = Path(__file__).resolve().parents[1]
WIDTHS = [390, 1280]


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundled") / "public"
    result = build(REPO, BuildOptions(output=out, execute=False, search=False, jobs=2))
    assert not result.report.errors, [str(e) for e in result.report.errors]
    notes = sorted(p.parent.name for p in (out / "notes").glob("*/index.html"))
    assert len(notes) >= 13
    with running(create_app(out)) as port:
        yield f"http://127.0.0.1:{port}", out, notes


def numbered_notes(out: Path, notes: list[str]) -> list[str]:
    return [n for n in notes if 'class="eq-num"' in (out / "notes" / n / "index.html").read_text()]


# For every numbered equation: the number's box and the visible part of each glyph run of the equation
# (the .base boxes of KaTeX's HTML, clipped to the equation's scrolling box) must not intersect.
OVERLAPS = """() => {
  const bad = [];
  for (const d of document.querySelectorAll('.math-display.numbered')) {
    const num = d.querySelector(':scope > .eq-num').getBoundingClientRect();
    const box = d.querySelector(':scope > .eq-body').getBoundingClientRect();
    if (num.width === 0) { bad.push(d.id + ': number not shown'); continue; }
    for (const b of d.querySelectorAll('.katex-html .base')) {
      const r = b.getBoundingClientRect();
      const left = Math.max(r.left, box.left), right = Math.min(r.right, box.right);
      const top = Math.max(r.top, box.top), bottom = Math.min(r.bottom, box.bottom);
      if (right <= left || bottom <= top) continue;  // scrolled out of view
      if (left < num.right && right > num.left && top < num.bottom && bottom > num.top) {
        bad.push(d.id); break;
      }
    }
    if (num.right > document.documentElement.clientWidth + 0.5) bad.push(d.id + ': number off screen');
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def every_note(browser, bundled):
    """Each note loaded once and looked at as a phone (390 px), a laptop (1280 px) and a printer (A4 at
    96 px/in less Chromium's default margins: 718 px, print media): what each check found, per note."""
    base, out, notes = bundled
    ctx = browser.new_context(viewport={"width": 390, "height": 900})
    page = ctx.new_page()
    seen = {"overlap": {}, "print": {}, "numbers": 0}
    for n in notes:
        page.emulate_media(media="screen")
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(f"{base}/notes/{n}/")
        page.evaluate("document.fonts.ready")
        for w in WIDTHS:
            page.set_viewport_size({"width": w, "height": 900})
            seen["overlap"][(n, w)] = page.evaluate(OVERLAPS)
        seen["numbers"] += page.locator(".math-display.numbered").count()
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 718, "height": 1000})
        seen["print"][n] = page.evaluate(PRINT_OVERFLOW)
    ctx.close()
    return seen


@pytest.mark.parametrize("width", WIDTHS)
def test_no_equation_number_overlaps_its_equation(every_note, width):
    assert every_note["numbers"] >= 100
    bad = {n: found for (n, w), found in every_note["overlap"].items() if w == width and found}
    assert bad == {}


def test_wide_equation_shows_it_scrolls_and_scrolls_by_keyboard(browser, bundled):
    base, out, notes = bundled
    ctx = browser.new_context(viewport={"width": 390, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/notes/kl-f-divergences-tv/")
    page.evaluate("document.fonts.ready")
    wide = page.locator(".eq-body.is-wide")
    assert wide.count() > 0
    first = wide.first
    assert first.get_attribute("tabindex") == "0"
    assert "scroll sideways" in first.get_attribute("aria-label")
    assert "linear-gradient" in first.evaluate("e => getComputedStyle(e).maskImage || getComputedStyle(e).webkitMaskImage")
    first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("e => e.scrollLeft > 0 && e.classList.contains('is-scrolled')", arg=first.element_handle())
    # an equation that fits is not a tab stop
    fits = page.locator(".eq-body:not(.is-wide)").first
    assert fits.get_attribute("tabindex") is None
    ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_contents_first_in_keyboard_order(browser, bundled, width):
    base, out, notes = bundled
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/notes/svd-qr-lu/")
    toc = page.locator("#toc")
    if width < 1152:  # collapsed above the article on narrow screens
        assert page.locator("#toc details").get_attribute("open") is None
        assert toc.bounding_box()["y"] < page.locator("article h1").bounding_box()["y"]
    else:
        assert page.locator("#toc details").get_attribute("open") is not None
    presses = 0
    while presses < 5:
        page.keyboard.press("Tab")
        presses += 1
        if page.evaluate("document.activeElement.getAttribute('href') === '#toc'"):
            page.keyboard.press("Enter")
            page.keyboard.press("Tab")
            presses += 1
            break
    assert page.evaluate("!!document.activeElement.closest('#toc')"), page.evaluate("document.activeElement.outerHTML")
    assert presses <= 5
    ctx.close()


def test_heading_anchors_say_where_they_lead(bundled):
    base, out, notes = bundled
    html = (out / "notes" / "svd-qr-lu" / "index.html").read_text()
    names = re.findall(r'<a class="header-anchor" href="#[^"]+" aria-label="([^"]+)"', html)
    assert names and all(n.startswith("Link to section “") for n in names)
    assert len(set(names)) == len(names)
    assert 'class="eq-num" href="#' in html and 'tabindex="-1"' in html


def test_contents_mark_the_section_being_read(browser, bundled):
    base, out, notes = bundled
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/notes/svd-qr-lu/#practice")
    page.wait_for_function("document.querySelector('#toc a[aria-current]')")
    assert page.get_attribute("#toc a[aria-current]", "href") == "#practice"
    page.evaluate("document.getElementById('checks').scrollIntoView()")
    page.wait_for_function("document.querySelector('#toc a[aria-current]').getAttribute('href') === '#checks'")
    ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_deep_links_land_on_target(browser, bundled, width):
    base, out, notes = bundled
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    for note, anchor in [("svd-qr-lu", "references"), ("svd-qr-lu", "checks"), ("kl-f-divergences-tv", "connections"),
                         ("limit-theorems", "practice")]:
        page.goto(f"{base}/notes/{note}/#{anchor}")
        page.evaluate("document.fonts.ready")
        page.wait_for_timeout(300)
        top, margin, height = page.evaluate(f"""() => {{ const e = document.getElementById({anchor!r});
            return [e.getBoundingClientRect().top, parseFloat(getComputedStyle(e).scrollMarginTop) || 0,
                    document.documentElement.scrollHeight]; }}""")
        at_end = page.evaluate("window.scrollY + innerHeight >= document.documentElement.scrollHeight - 1")
        assert abs(top - margin) <= 8 or at_end, (note, anchor, top, margin)
        # and the page does not change height after load
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_timeout(200)
        assert page.evaluate("document.documentElement.scrollHeight") == height, (note, "page height changed")
    ctx.close()


# Print: A4 at 96 px/in less Chromium's default margins is about 718 px wide.
PRINT_OVERFLOW = """() => {
  const W = document.documentElement.clientWidth, bad = [];
  for (const e of document.querySelectorAll('.eq-body, pre, .prose table, .output, figure, .katex-display')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0) continue;
    if (r.right > W + 1) bad.push((e.closest('[id]') || e).id + ' ' + e.className + ' right=' + r.right);
  }
  for (const k of document.querySelectorAll('.katex-html')) {
    const range = document.createRange(); range.selectNodeContents(k);
    const r = range.getBoundingClientRect();
    if (r.width && r.right > W + 1) bad.push('math ' + (k.closest('[id]') || k).id + ' right=' + r.right);
  }
  if (document.documentElement.scrollWidth > W + 1) bad.push('page scrolls sideways: ' + document.documentElement.scrollWidth);
  return bad;
}"""


def test_print_clips_nothing(every_note, browser, bundled, tmp_path):
    assert {n: found for n, found in every_note["print"].items() if found} == {}
    base, out, notes = bundled
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/notes/svd-qr-lu/")
    pdf = tmp_path / "note.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    ctx.close()


def test_equation_preview_is_not_clipped(browser, bundled):
    base, out, notes = bundled
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    for n in ["kl-f-divergences-tv", "svd-qr-lu", "limit-theorems"]:  # long equations, many references
        page.goto(f"{base}/notes/{n}/")
        links = page.locator("a.eqref[data-preview-eq]")
        for i in range(min(links.count(), 6)):
            links.nth(i).focus()
            tip = page.locator("#np-preview .eq-body")
            if tip.count() == 0:
                continue
            assert tip.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), (n, i)
            page.keyboard.press("Escape")
    ctx.close()


# -- what each note and the journal say, checked in the HTML of small sites ---------------------------

def _small_site(site, toml_extra: str = ""):
    from conftest import MINI_TOML, MODULE, note
    files = {
        "content/curriculum/1-foundations/_index.md": note("Foundations"),
        f"{MODULE}/_index.md": '---\ntitle: "Algebra"\nsummary: "Vectors."\n---\n',
        f"{MODULE}/01-vectors.md": note("Vectors & Spaces", "## One\n\nText.\n\n## Two\n\nMore.\n"),
        "content/journal/old.md": '---\ntitle: "Old Essay"\ndate: 2024-05-01\nsummary: "Written."\n---\nText.\n',
        "content/journal/later.md": ('---\ntitle: "Later Essay"\ndate: 2025-03-01\nsummary: "Not yet."\n'
                                     'status: planned\n---\n'),
        "content/series/path.md": '---\ntitle: "A Path"\nsummary: "Two parts."\nmembers: [later, old]\n---\n',
        "content/series/empty.md": '---\ntitle: "Empty Path"\nsummary: "Nothing yet."\nmembers: [later]\n---\n',
    }
    return site(files, MINI_TOML.replace('description = "A site for tests."\n',
                                         'description = "A site for tests."\n' + toml_extra))


def test_series_and_home_show_only_what_can_be_read(site, cli):
    root = _small_site(site)
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    pub = root / "public"
    home = (pub / "index.html").read_text()
    latest = home.split('id="journal-h"')[1]
    assert "Old Essay" in latest and "Later Essay" not in latest
    path = (pub / "series/path/index.html").read_text()
    assert "Series · 2 parts · 1 written" in path
    assert re.search(r'<a class="button" href="/journal/old/">Start with part 2', path)
    empty = (pub / "series/empty/index.html").read_text()
    assert "No part is written yet." in empty and 'class="button"' not in empty
    essays = (pub / "essays/index.html").read_text()
    assert "1 essay to read and 1 planned" in essays and "2025" not in essays


def test_report_error_link_is_filled_in_and_encoded(site, cli):
    root = _small_site(site, 'report_error_url = "https://git.example.org/o/r/issues/new?title=Error%20in%20{id}&body={path}%20{url}"\n')
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    html = (root / "public/notes/vectors/index.html").read_text()
    link = re.search(r'<p class="report-error"><a href="([^"]+)">Report an error on this page</a>', html)
    assert link, "no report link"
    assert link.group(1) == ("https://git.example.org/o/r/issues/new?title=Error%20in%20vectors&amp;body="
                             "content%2Fcurriculum%2F1-foundations%2F01-algebra%2F01-vectors.md%20"
                             "https%3A%2F%2Fexample.org%2Fnotes%2Fvectors%2F")


def test_report_error_url_with_unknown_placeholder_is_an_error(site, cli):
    root = _small_site(site, 'report_error_url = "https://x.example.org/new?t={note}"\n')
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 1
    assert re.search(r"neuralpath\.toml:\d+.*report_error_url: unknown placeholder \{note\}; use \{path\}", err), err
    assert not (root / "public").exists()


def test_last_change_date_from_git_else_the_file(site, cli, tmp_path):
    import os
    import subprocess
    root = _small_site(site)
    env = {**os.environ, "GIT_AUTHOR_DATE": "2023-04-05T12:00:00", "GIT_COMMITTER_DATE": "2023-04-05T12:00:00",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "notes"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    page = root / "public/notes/vectors/index.html"
    assert 'Last changed <time datetime="2023-04-05">5 April 2023</time>' in page.read_text()
    # an uncommitted edit: the file's own date (set here to a known day)
    src = root / "content/curriculum/1-foundations/01-algebra/01-vectors.md"
    src.write_text(src.read_text() + "\nEdited.\n")
    day = 1_700_000_000  # 14 November 2023 22:13 UTC
    os.utime(src, (day, day))
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    import datetime as dt
    expect = dt.date.fromtimestamp(day)
    assert f'Last changed <time datetime="{expect.isoformat()}">' in page.read_text()
    # committing it (same files, same mtimes) dates it by the commit
    env.update(GIT_AUTHOR_DATE="2024-01-02T12:00:00", GIT_COMMITTER_DATE="2024-01-02T12:00:00")
    for args in (["add", "-A"], ["commit", "-q", "-m", "edit"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    assert 'Last changed <time datetime="2024-01-02">2 January 2024</time>' in page.read_text()


def test_map_module_titles_are_whole(site, cli):
    from conftest import MINI_TOML, note
    long = "Multivariate Calculus & Differential Geometry"
    root = site({
        "content/curriculum/1-p/_index.md": note("P"),
        "content/curriculum/1-p/01-m/_index.md": f'---\ntitle: "{long}"\nsummary: "S."\n---\n',
        "content/curriculum/1-p/01-m/01-a.md": note("A", "Text.\n"),
        "content/curriculum/1-p/01-m/02-b.md": note("B", "Text.\n", prerequisites="[a]"),
    })
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    svg = (root / "public/map/index.html").read_text()
    spans = re.findall(r'<text class="map-module-title"[^>]*>(.*?)</text>', svg)
    assert spans and "…" not in spans[0]
    words = " ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", spans[0])).replace("&amp;", "&")
    assert words == f"Module 01 · {long}"
    # the prerequisite curve belongs to the note that needs it (drawn out on hover or focus)
    assert re.search(r'<a href="/notes/b/" class="map-note">.*?<g class="map-edges"><path', svg)
