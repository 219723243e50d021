"""Executed notes: outputs on the page, failing checks fail the build, limits, isolation, cache."""

from __future__ import annotations

import re

from conftest import MODULE, note


def page(root, note_id):
    return (root / f"public/notes/{note_id}/index.html").read_text()


def test_output_value_and_figure_on_page(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", '''
        ```python
        x = 6 * 7
        print(x)
        ```

        ```python
        x + 0.5
        ```

        ```python {alt="A straight line"}
        import matplotlib.pyplot as plt
        plt.plot([0, 1], [0, 1])
        ```
        ''')})
    code, out, err = cli("build", root)
    assert code == 0, err
    html = page(root, "a")
    assert '<pre class="stdout">42\n</pre>' in html
    assert '<pre class="value">42.5</pre>' in html
    m = re.search(r'<figure class="output-figure"><img src="/(assets/figures/\w+\.svg)" alt="A straight line" '
                  r'width="\d+" height="\d+"', html)
    assert m, html
    svg = (root / "public" / m.group(1)).read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "<path" in svg
    assert "This page ran 3 code blocks" in html


def test_failing_assert_stops_build_at_its_line(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", '''
        Text.

        ```python
        import numpy as np
        a = np.ones(3)
        assert a.sum() == 4, "sum should be 4"
        ```
        ''')})
    code, out, err = cli("build", root)
    assert code == 1
    assert "01-a.md:10:1: error: code failed: AssertionError: sum should be 4" in err
    assert "line 10: assert a.sum() == 4" in err
    assert not (root / "public").exists()


def test_infinite_loop_is_killed_at_timeout(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", '''
        ```python {timeout=1}
        while True:
            pass
        ```
        ''')})
    code, out, err = cli("build", root)
    assert code == 1
    assert "01-a.md:6:1: error: block did not finish within 1.0 s" in err


def test_sys_exit_and_os_exit_are_reported(site, cli):
    root = site({
        f"{MODULE}/01-a.md": note("A", "```python\nimport sys\nsys.exit(3)\n```\n"),
        f"{MODULE}/02-b.md": note("B", "```python\nimport os\nos._exit(0)\n```\n"),
    })
    code, out, err = cli("build", root, "--keep-going")
    assert code == 1
    assert "01-a.md:7:1: error: code failed: SystemExit: the block called sys.exit(3)" in err
    assert re.search(r"02-b\.md:6:1: error: the interpreter running this block exited with status 0", err)


def test_expected_error_is_shown_not_fatal(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", '''
        ```python {raises=ZeroDivisionError}
        1 / 0
        ```
        ''')})
    code, out, err = cli("build", root)
    assert code == 0, err
    assert "ZeroDivisionError: division by zero" in page(root, "a")


def test_norun_block_is_not_executed(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "```python {norun}\nraise SystemExit\n```\n")})
    assert cli("build", root)[0] == 0
    assert 'class="output"' not in page(root, "a")


def test_notes_are_isolated(site, cli):
    root = site({
        f"{MODULE}/01-a.md": note("A", "```python\nimport matplotlib\nmatplotlib.rcParams['lines.linewidth'] = 9\nsecret = 1\n```\n"),
        f"{MODULE}/02-b.md": note("B", "```python\nimport matplotlib\nprint('secret' in globals(), matplotlib.rcParams['lines.linewidth'])\n```\n"),
    })
    assert cli("build", root)[0] == 0
    assert '<pre class="stdout">False 1.5\n</pre>' in page(root, "b")


def test_second_build_reexecutes_nothing(site, cli):
    code_block = '''
        ```python
        import os, pathlib
        marker = pathlib.Path(os.environ["NEURALPATH_SCRATCH"]) / "runs"
        marker.write_text(marker.read_text() + "x" if marker.exists() else "x")
        print("runs:", len(marker.read_text()))
        ```
        '''
    root = site({f"{MODULE}/01-a.md": note("A", code_block)})
    assert cli("build", root)[0] == 0
    assert cli("build", root)[0] == 0
    runs = root / ".neuralpath/scratch/a/runs"
    assert runs.read_text() == "x"  # executed exactly once
    assert "runs: 1" in page(root, "a")  # cached output still shown
    assert cli("build", root, "--rerun")[0] == 0
    assert runs.read_text() == "xx"


def test_writes_outside_scratch_are_refused(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "```python\nopen('../../../escape.txt', 'w').write('x')\n```\n")})
    code, out, err = cli("build", root)
    assert code == 1
    assert "PermissionError: notes may write only inside their scratch folder" in err
    assert not (root / "content/escape.txt").exists()


def test_requires_missing_env_shows_badge_and_skips(site, cli, monkeypatch):
    monkeypatch.delenv("NP_TEST_SECRET", raising=False)
    root = site({
        f"{MODULE}/_index.md": '---\ntitle: "M"\nrequires: [NP_TEST_SECRET]\n---\n',
        f"{MODULE}/01-a.md": note("A", "```python\nraise RuntimeError('must not run')\n```\n"),
    })
    code, out, err = cli("build", root)
    assert code == 0, err
    html = page(root, "a")
    assert "Requires <code>NP_TEST_SECRET</code>" in html and "did not run in this build" in html


def test_no_execute_skips_running(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "```python\nraise RuntimeError('boom')\n```\n")})
    assert cli("build", root, "--no-execute")[0] == 0
    assert 'class="output"' not in page(root, "a")  # shown, not run


def test_notebook_is_a_note(site, cli):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_raw_cell('---\ntitle: "From Jupyter"\nsummary: "A notebook note."\n---'),
                nbformat.v4.new_markdown_cell("## Work\n\nSome $x^2$ math."),
                nbformat.v4.new_code_cell("print(sum(range(10)))")]
    root = site({f"{MODULE}/01-a.md": note("A", "x")})
    nbformat.write(nb, str(root / MODULE / "02-nb.ipynb"))
    code, out, err = cli("build", root)
    assert code == 0, err
    html = page(root, "nb")
    assert "From Jupyter" in html and '<pre class="stdout">45\n</pre>' in html and '<span class=katex>' in html


def test_output_over_cap_is_truncated(site, cli):
    toml = '[site]\ntitle = "T"\n[build]\noutput_limit_kb = 1\n'
    root = site({f"{MODULE}/01-a.md": note("A", "```python\nprint('y' * 5000)\n```\n")}, toml=toml)
    assert cli("build", root)[0] == 0
    html = page(root, "a")
    assert "Output truncated at the size limit." in html and "y" * 1024 in html and "y" * 1025 not in html
