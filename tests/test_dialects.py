"""Notes written for other tools build as they are: a small Jupyter Book in MyST Markdown
(tests/projects/myst-book), checked in the HTML a reader gets."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

PROJECTS = Path(__file__).parent / "projects"


@pytest.fixture
def myst_book(tmp_path, cli):
    root = tmp_path / "book"
    shutil.copytree(PROJECTS / "myst-book", root)
    code, out, err = cli("build", root, "--no-search")
    assert code == 0, err
    return root / "public", err


def body(pub: Path, note: str) -> str:
    html = (pub / "notes" / note / "index.html").read_text()
    return html[html.index('<div class="prose">'):html.index("</article>")]


def test_myst_directives_become_blocks_callouts_math_and_code(myst_book):
    pub, err = myst_book
    b = body(pub, "chapters-pythagoras")
    assert re.search(r'<div class="thm thm-theorem" role="region" id="[^"]*thm-pyth"[^>]*>.*?Theorem&nbsp;1</span> '
                     r'<span class="thm-title">\(Pythagoras\)', b)
    assert "Proof of <a class=\"blockref\"" in b and "∎" in b
    assert b.count('class="callout callout-note"') == 1  # {note} in a colon fence
    assert 'class="callout callout-warning"' in b and "Careful" in b  # {admonition} with :class: warning
    assert re.search(r'<div class="math-display numbered" id="[^"]*eq-energy">', b)
    assert '<pre class="stdout">4\n</pre>' in b and "quarto cell" in b  # code-cell and ```{python} ran
    assert "```{" not in b and ":::" not in b and "{prf:" not in b and ":label:" not in b
    # an unknown directive is shown as text, not dropped
    assert "graph TD" in b


def test_myst_roles_targets_and_global_labels(myst_book):
    pub, err = myst_book
    b = body(pub, "chapters-pythagoras")
    assert '<h2 id="sec-intro">Introduction' in b and '<a href="#sec-intro">the intro</a>' in b
    assert b.count('<a class="blockref" href="#eq-thm-pyth"') == 3  # the proof's head, {prf:ref}, {numref}
    assert re.search(r'<a class="eqref" href="#eq-eq-energy"[^>]*>\(1\)</a>', b)
    assert "Pythagoras" in b and "500" in b  # {cite} became a citation with a References entry
    energy = body(pub, "chapters-energy")
    # MyST labels are global to the book: {eq} of a label in another chapter links there
    assert 'href="/notes/chapters-pythagoras/#eq-eq-energy"' in energy
    assert 'class="callout callout-warning"' in energy
    assert re.search(r'<img src="[^"]*dot\.png" alt="a single red pixel"', energy)  # {figure}
    # :tags: [raises-exception, hide-input]: the error is shown, not fatal, and the source is hidden
    assert ('<div class="code-output-only"><div class="output"><p class="output-label">Output</p>'
            '<pre class="error">ZeroDivisionError: division by zero</pre>') in energy
    assert "Figure&nbsp;1.</span> A red dot, the smallest figure.</figcaption>" in energy
    assert re.search(r'<a class="blockref" href="#[^"]*fig-dot"[^>]*>Figure&nbsp;1</a> shows', energy)
    assert "front matter keys of other tools were ignored: jupytext (1 file), kernelspec (1 file)" in err


def test_myst_errors_keep_the_authors_line_numbers(tmp_path, cli):
    root = tmp_path / "book"
    shutil.copytree(PROJECTS / "myst-book", root)
    page = root / "chapters" / "pythagoras.md"
    lines = page.read_text().split("\n")
    at = next(i for i, line in enumerate(lines) if "right triangle" in line)
    lines[at] = "For a right triangle, $a^2 + \\mbox{b}$."
    page.write_text("\n".join(lines))
    (root / "chapters" / "third.md").write_text("# Third\n\n```{math}\n:label: eq-energy\nF = ma\n```\n\nSee {eq}`eq-energy`.\n")
    code, out, err = cli("build", root, "--no-search")
    assert code == 1
    assert f"chapters/pythagoras.md:{at + 1}:" in err and "KaTeX has no \\mbox" in err
    # now two chapters define eq-energy: a reference from a third place must say which
    assert "chapters/energy.md:16:" in err and "label 'eq-energy' is defined in several notes" in err


def test_a_quarto_book_builds(tmp_path, cli):
    root = tmp_path / "qbook"
    shutil.copytree(PROJECTS / "quarto-book", root)
    code, out, err = cli("build", root, "--no-search")
    assert code == 0, err
    b = body(root / "public", "lines")
    assert re.search(r'class="thm thm-definition"[^>]*id="[^"]*def-slope".*?Definition&nbsp;1</span> '
                     r'<span class="thm-title">\(Slope\)', b, flags=re.S)
    assert re.search(r'Theorem&nbsp;1</span> <span class="thm-title">\(Line\)', b)
    assert 'Proof of <a class="blockref" href="#eq-thm-line">Theorem&nbsp;1</a>' in b
    assert re.search(r'<div class="math-display numbered" id="[^"]*eq-line">', b)
    assert '<a class="eqref" href="#eq-eq-line" data-preview-eq="eq-eq-line">(1)</a>' in b  # @eq-line
    assert '<a href="#sec-slopes">Slopes</a>' in b  # @sec-slopes, titled by its heading
    assert "Euclid (300)" in b  # @euclid300 stays a citation
    assert 'class="callout callout-warning"' in b and "Vertical lines" in b
    assert 'class="callout callout-note"' in b and "Why it matters" in b
    assert '<pre class="stdout">2.0\n</pre>' in b  # the {python} cell ran
    assert re.search(r'<img src="[^"]*dot\.png" alt="a single red pixel"', b)  # ![...](...){#fig-dot}
    assert "Figure&nbsp;1.</span> A red dot</figcaption>" in b
    assert re.search(r'<a class="blockref" href="#[^"]*fig-dot"[^>]*>Figure&nbsp;1</a> is the smallest', b)
    assert ":::" not in b and "{#" not in b and "#| label" in b  # option lines stay as comments
    # #| echo: false and #| error: true: output shown, source hidden, the error reported but not fatal
    assert "visible output, hidden source" in b and "ValueError: shown, not fatal" in b
    assert 'print("visible output' not in b and "print</span><span class=hl-p>(</span><span class=hl-s2>&quot;visible" not in b


def test_book_files_set_title_order_and_bibliography(myst_book, tmp_path, cli):
    pub, err = myst_book
    home = (pub / "index.html").read_text()
    assert "<title>A Small Jupyter Book" in home  # _config.yml's title
    # _toc.yml puts pythagoras before energy (the reverse of the file names' order)
    assert home.index("MyST note") < home.index("Energy")
    first = (pub / "notes/chapters-pythagoras/index.html").read_text()
    assert re.search(r'class="pager-next" href="/notes/chapters-energy/"', first)
    # _config.yml's MathJax macros (with and without an argument count) reach KaTeX
    energy = (pub / "notes/chapters-energy/index.html").read_text()
    assert "<mi mathvariant=double-struck>R</mi>" in energy and "\\vect{u}" in energy and "math-error" not in energy
    # Quarto: _quarto.yml's title and bibliography file
    root = tmp_path / "qbook"
    shutil.copytree(PROJECTS / "quarto-book", root)
    (root / "references.bib").rename(root / "book.bib")
    (root / "_quarto.yml").write_text((root / "_quarto.yml").read_text().replace("references.bib", "book.bib"))
    code, out, err = cli("build", root, "--no-search")
    assert code == 0, err
    assert "<title>A small Quarto book" in (root / "public/index.html").read_text()
    assert "Euclid (300)" in body(root / "public", "lines")


@pytest.mark.parametrize("project, page", [("myst-book", "/notes/chapters-pythagoras/"),
                                           ("quarto-book", "/notes/lines/")])
def test_books_read_in_a_browser(browser, tmp_path, cli, project, page):
    from conftest import running
    from neuralpath.server import create_app
    root = tmp_path / project
    shutil.copytree(PROJECTS / project, root)
    assert cli("build", root, "--no-search", "-q")[0] == 0
    with running(create_app(root / "public")) as port:
        ctx = browser.new_context(viewport={"width": 390, "height": 900})
        p = ctx.new_page()
        errors = []
        p.on("pageerror", lambda e: errors.append(str(e)))
        p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        p.goto(f"http://127.0.0.1:{port}{page}")
        p.evaluate("document.fonts.ready")
        assert errors == []
        blocks = p.locator(".thm")
        assert blocks.count() >= 2 and all(blocks.nth(i).is_visible() for i in range(blocks.count()))
        assert p.locator(".callout").first.is_visible()
        assert p.locator(".math-display.numbered .eq-num").first.inner_text() == "(1)"
        # nothing wider than the phone's screen except inside a scrolling box
        assert p.evaluate("document.documentElement.scrollWidth <= innerWidth")
        ctx.close()


def test_raw_html_images_with_site_absolute_paths_in_a_plain_folder(tmp_path, cli):
    root = tmp_path / "site"
    (root / "img").mkdir(parents=True)
    (root / "notes").mkdir()
    shutil.copy(PROJECTS / "quarto-book" / "dot.png", root / "img" / "dot.png")
    (root / "notes" / "a.md").write_text('# A\n\nBefore.\n\n<img src="/img/dot.png" alt="a dot" width="20">\n\n'
                                         'And inline <img src="../img/dot.png" alt="again">.\n')
    for _ in range(2):  # the second build reuses the body: the image must still be published
        code, out, err = cli("build", root, "--no-search", "-q")
        assert code == 0, err
        html = (root / "public/notes/notes-a/index.html").read_text()
        assert '<img src="/assets/content/img/dot.png" alt="a dot" width="20">' in html
        assert '<img src="/assets/content/img/dot.png" alt="again">' in html
        assert (root / "public/assets/content/img/dot.png").is_file()
    (root / "notes" / "a.md").write_text('# A\n\n<img src="/img/gone.png" alt="gone">\n')
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 1 and "notes/a.md:3:" in err and "image '/img/gone.png' does not exist" in err
