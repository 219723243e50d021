"""Download as a notebook: each page with executed Python code has a `.ipynb` beside it, linked from the page."""

from __future__ import annotations

import json
import re

import nbformat

from conftest import MODULE, note, running
from neuralpath.build import BuildOptions, build

FOUNDATIONS = {
    "content/curriculum/1-foundations/_index.md": note("Foundations"),
    f"{MODULE}/_index.md": '---\ntitle: "Algebra"\nsummary: "Vectors."\n---\n',
}

DEMO = note("Rotations", """
    A rotation $R \\in \\R^{2\\times 2}$ keeps lengths:

    $$
    \\|Rx\\|_2 = \\|x\\|_2
    $$

    ```python
    import numpy as np
    theta = np.pi / 6
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    print("orthogonal:", np.allclose(R @ R.T, np.eye(2)))
    round(float(np.linalg.det(R)), 6)
    ```

    Shell commands stay in the prose:

    ```bash
    pip install numpy
    ```

    ```python {alt="The unit circle"}
    import matplotlib.pyplot as plt
    t = np.linspace(0, 2 * np.pi, 50)
    fig, ax = plt.subplots()
    _ = ax.plot(np.cos(t), np.sin(t))
    ```

    ```python {norun}
    R = load_from_the_internet()
    ```

    ```python {raises=ValueError}
    raise ValueError("not a rotation")
    ```

    That is all.
    """)


def demo_site(make, **extra):
    return make({**FOUNDATIONS, f"{MODULE}/01-rotations.md": DEMO,
                 f"{MODULE}/02-prose.md": note("Prose only", "No code here, only $x$.\n\n```bash\nls\n```\n"),
                 **extra})


def read_nb(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    return nb


def test_notebook_has_cells_outputs_and_metadata(site):
    result = build(demo_site(site), BuildOptions(search=False))
    path = result.output / "notes/rotations/rotations.ipynb"
    assert path.is_file()
    nb = read_nb(path)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.language_info.name == "python"
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "code", "markdown", "code", "code", "code", "markdown"]
    intro, first, shell, figure, norun, raises, end = nb.cells

    # prose and math as written, the title first, no front matter, the site's macros defined
    assert intro.source.startswith("# Rotations\n\nA rotation $R \\in \\R^{2\\times 2}$ keeps lengths:")
    assert "$$\n\\|Rx\\|_2 = \\|x\\|_2\n$$" in intro.source
    assert "\\newcommand{\\R}{\\mathbb{R}}" in intro.source
    assert "summary:" not in intro.source and "---" not in intro.source
    assert shell.source == "Shell commands stay in the prose:\n\n```bash\npip install numpy\n```"
    assert end.source == "That is all."

    # code cells with the build's outputs
    assert first.source.startswith("import numpy as np\n") and first.source.endswith("6)")
    assert first.execution_count == 1
    assert [o.output_type for o in first.outputs] == ["stream", "execute_result"]
    assert first.outputs[0].name == "stdout" and first.outputs[0].text == "orthogonal: True\n"
    assert first.outputs[1].data["text/plain"] == "1.0"
    assert first.outputs[1].execution_count == 1

    assert figure.execution_count == 2
    [fig] = [o for o in figure.outputs if o.output_type == "display_data"]
    assert fig.data["image/svg+xml"].lstrip().startswith("<?xml") and "<svg" in fig.data["image/svg+xml"]
    assert fig.data["text/plain"] == "The unit circle"

    assert norun.source == "R = load_from_the_internet()"
    assert norun.outputs == [] and norun.execution_count is None
    assert "skip-execution" in norun.metadata["tags"]

    assert raises.execution_count == 3
    [err] = raises.outputs
    assert err.output_type == "error" and err.ename == "ValueError" and err.evalue == "not a rotation"
    assert "raises-exception" in raises.metadata["tags"]

    # the same inputs give the same bytes (cell ids are not random)
    assert [c.id for c in nb.cells] == [f"cell-{i}" for i in range(1, 8)]


def test_page_links_to_its_notebook_only_with_code(site):
    result = build(demo_site(site), BuildOptions(search=False))
    html = (result.output / "notes/rotations/index.html").read_text()
    link = re.search(r'<a href="([^"]+)" download="rotations.ipynb"[^>]*>([^<]+)</a>', html)
    assert link, html
    assert link.group(1) == "/notes/rotations/rotations.ipynb"
    assert link.group(2) == "Download as notebook (.ipynb)"
    # no executed Python: no notebook, no link
    assert not (result.output / "notes/prose/prose.ipynb").exists()
    assert ".ipynb" not in (result.output / "notes/prose/index.html").read_text()


def test_articles_get_notebooks_and_skipped_code_does_not(site, monkeypatch):
    monkeypatch.delenv("NP_TEST_MISSING_VAR", raising=False)
    root = site({**FOUNDATIONS,
                 f"{MODULE}/01-needs.md": note("Needs a key", "```python\nprint(1)\n```\n", requires="[NP_TEST_MISSING_VAR]"),
                 "content/journal/essay.md": '---\ntitle: "An Essay"\ndate: 2025-01-02\nsummary: "Prose."\n---\n'
                                             'Text.\n\n```python\nprint("from an essay")\n```\n'})
    result = build(root, BuildOptions(search=False))
    nb = read_nb(result.output / "journal/essay/essay.ipynb")
    assert nb.cells[0].source == "# An Essay\n\nText."
    assert nb.cells[1].outputs[0].text == "from an essay\n"
    assert 'download="essay.ipynb"' in (result.output / "journal/essay/index.html").read_text()
    assert not (result.output / "notes/needs/needs.ipynb").exists()
    assert ".ipynb" not in (result.output / "notes/needs/index.html").read_text()


def test_unchanged_notebooks_are_not_rewritten(site):
    root = demo_site(site, **{f"{MODULE}/03-other.md": note("Other", "```python\nprint('other')\n```\n")})
    first = build(root, BuildOptions(search=False))
    nb, other = first.output / "notes/rotations/rotations.ipynb", first.output / "notes/other/other.ipynb"
    before = (nb.stat().st_mtime_ns, other.stat().st_mtime_ns)
    text = nb.read_text()
    # an edit to the other note's prose rewrites that notebook only
    (root / MODULE / "03-other.md").write_text(note("Other", "Edited prose.\n\n```python\nprint('other')\n```\n"))
    build(root, BuildOptions(search=False))
    assert nb.stat().st_mtime_ns == before[0]
    assert other.stat().st_mtime_ns != before[1]
    assert read_nb(other).cells[0].source == "# Other\n\nEdited prose."
    # a clean build writes the same bytes
    build(root, BuildOptions(search=False, clean=True))
    assert nb.read_text() == text
    # code removed: the notebook and the link go
    (root / MODULE / "03-other.md").write_text(note("Other", "No code any more.\n"))
    build(root, BuildOptions(search=False))
    assert not other.exists()
    assert ".ipynb" not in (first.output / "notes/other/index.html").read_text()


def test_code_inside_a_callout_and_before_any_prose(site):
    body = "```python\nx = 2\n```\n\n> [!note] Inside\n> ```python\n> x * 3\n> ```\n> after\n"
    result = build(site({**FOUNDATIONS, f"{MODULE}/01-c.md": note("Callout", body)}), BuildOptions(search=False))
    nb = read_nb(result.output / "notes/c/c.ipynb")
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "markdown", "code", "markdown"]
    assert nb.cells[0].source == "# Callout"
    assert nb.cells[3].source == "x * 3" and nb.cells[3].outputs[0].data["text/plain"] == "6"
    assert nb.cells[4].source == "> after"


def test_download_in_a_browser(site, browser, tmp_path):
    from neuralpath.server import create_app

    result = build(demo_site(site), BuildOptions(search=False))
    with running(create_app(result.output)) as port:
        ctx = browser.new_context(accept_downloads=True)
        try:
            page = ctx.new_page()
            page.goto(f"http://127.0.0.1:{port}/notes/rotations/")
            link = page.get_by_role("link", name="Download as notebook (.ipynb)")
            assert link.is_visible()
            with page.expect_download(timeout=10000) as info:
                link.click()
            download = info.value
            assert download.suggested_filename == "rotations.ipynb"
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
        finally:
            ctx.close()
    nb = read_nb(saved)
    assert saved.read_bytes() == (result.output / "notes/rotations/rotations.ipynb").read_bytes()
    assert json.loads(saved.read_text())["metadata"]["kernelspec"]["name"] == "python3"
    assert [c.cell_type for c in nb.cells][:2] == ["markdown", "code"]


def test_export_function_directly():
    from neuralpath.notebook_export import build_notebook, notebook_json

    body = "Intro $\\E[X] \\le \\norm{x}$.\n\n```python\nprint('a')\n```\n\n```text\nplain\n```\n"
    nb = build_notebook("Rotations", body, {0: {"stdout": "a\n", "figures": [], "error": None}},
                        macros={"\\E": "\\mathbb{E}", "\\norm": "\\left\\lVert #1 \\right\\rVert"})
    nbformat.validate(nb)
    assert nb.cells[0].source == ("# Rotations\n\nIntro $\\E[X] \\le \\norm{x}$.\n\n$\\newcommand{\\E}{\\mathbb{E}} "
                                  "\\newcommand{\\norm}[1]{\\left\\lVert #1 \\right\\rVert}$")
    assert nb.cells[1].outputs[0].text == "a\n"
    assert nb.cells[2].source == "```text\nplain\n```"
    text = notebook_json(nb)
    assert nbformat.reads(text, as_version=4) == nb


def test_outputs_follow_the_parse_stage_numbering():
    """The parse stage's code blocks decide which result belongs to which cell: a block whose code is
    not the one under its index never shows another block's outputs."""
    from neuralpath.notebook_export import build_notebook

    body = "```python\nprint('a')\n```\n"
    result = {"stdout": "a\n", "figures": [], "error": None}
    nb = build_notebook("T", body, {3: result}, code={3: "print('a')\n"})
    assert nb.cells[1].outputs[0].text == "a\n" and nb.cells[1].execution_count == 1
    nb = build_notebook("T", body, {0: result}, code={0: "print('b')\n"})
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    nbformat.validate(nb)
