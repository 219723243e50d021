"""The mistakes a new author makes, one at a time: each gets a located, correct message, or now simply
works as the author meant it (the author's-first-hour issue)."""

from __future__ import annotations

import re

from conftest import MINI_TOML, MODULE, note
from neuralpath.build import BuildOptions, build


def body_of(root, note_id):
    html = (root / "public/notes" / note_id / "index.html").read_text()
    return html[html.index('<div class="prose">'):html.index("</article>")]


def test_relative_markdown_links_resolve_and_missing_files_and_anchors_are_located(site, cli):
    root = site({
        f"{MODULE}/01-a.md": note("Alpha", "## Derivation\n\nText.\n"),
        "content/curriculum/1-foundations/02-geometry/01-b.md":
            note("Beta", "See [alpha](../01-algebra/01-a.md#derivation), [typo](#derivaton) and [gone](02-gone.md).\n"
                         "\n## Derivation\n"),
    })
    code, _, err = cli("build", root, "--no-search", "-q")
    assert code == 1
    assert "01-b.md:5:54: error: link to '#derivaton' but this page has no heading or label with that id " \
           "(did you mean 'derivation'?)" in err
    assert "01-b.md:5:77: error: link to '02-gone.md' but no note, article or page is that file" in err
    path = root / "content/curriculum/1-foundations/02-geometry/01-b.md"
    path.write_text(path.read_text().replace(", [typo](#derivaton) and [gone](02-gone.md)", ""))
    assert cli("build", root, "--no-search", "-q")[0] == 0
    assert 'href="/notes/a/#derivation"' in body_of(root, "b")


def test_unknown_code_options_fail_with_a_suggestion_and_hide_options_work(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "```python {timout=3}\nprint(1)\n```\n")})
    code, _, err = cli("build", root, "--no-search", "-q")
    assert code == 1 and "01-a.md:5:1: error: unknown code block option 'timout' (did you mean 'timeout'?)" in err
    (root / MODULE / "01-a.md").write_text(note("A", "```python {hide-source}\nprint('only the output')\n```\n\n"
                                                     "```python {hide-output}\nprint('not shown')\n```\n"))
    assert cli("build", root, "--no-search", "-q")[0] == 0
    body = body_of(root, "a")
    assert '<pre class="stdout">only the output' in body  # the output of the block whose source is hidden
    assert body.count('class="code-block"') == 1  # only the other block shows its source ...
    assert "not shown" in body and '<pre class="stdout">not shown' not in body  # ... and not its output


def test_raises_accepts_qualified_names_and_a_semicolon_hides_the_value(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "```python {raises=np.linalg.LinAlgError}\nimport numpy as np\n"
                                                "np.linalg.inv(np.zeros((2, 2)))\n```\n\n"
                                                "```python {raises=numpy.linalg.LinAlgError}\n"
                                                "np.linalg.inv(np.zeros((2, 2)))\n```\n\n"
                                                "```python\n40 + 2;\n```\n\n```python\n40 + 3\n```\n")})
    code, _, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    body = body_of(root, "a")
    assert body.count("LinAlgError") >= 2
    assert '<pre class="value">43</pre>' in body and '<pre class="value">42</pre>' not in body


def test_comma_separated_tags_are_separate_tags(site):
    root = site({f"{MODULE}/01-a.md": note("A", "Text.\n", tags="linear algebra, proofs")})
    result = build(root, BuildOptions(search=False))
    assert sorted(result.site.tags) == ["linear algebra", "proofs"]


def test_counts_are_worded_in_the_singular_when_there_is_one(site):
    root = site({f"{MODULE}/01-a.md": note("A", "Text.\n")})
    build(root, BuildOptions(search=False))
    home = (root / "public/index.html").read_text()
    assert "1 note in 1 module and 1 part;" in home and "1 parts" not in home


def test_a_heading_can_set_its_own_id(site):
    root = site({f"{MODULE}/01-a.md": note("A", "## Practice {#sec-practice}\n\nText.\n\n## Other\n\n"
                                                "See [practice](#sec-practice).\n")})
    build(root, BuildOptions(search=False))
    body = body_of(root, "a")
    assert '<h2 id="sec-practice">Practice <a class="header-anchor"' in body and "{#" not in body


def test_documented_macros_work_without_configuration_and_unknown_ones_say_where_to_define_them(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "$\\norm{x} = \\E[X] + \\softmax(z)_1 + \\myop{x}$\n")},
                toml=MINI_TOML.replace('[math.macros]\n"\\\\R" = "\\\\mathbb{R}"\n', ""))
    code, _, err = cli("build", root, "--no-search", "-q")
    assert code == 1
    assert "build failed: 1 error\n" in err and "Undefined control sequence: \\myop" in err
    assert 'define it under [math.macros] in neuralpath.toml, e.g. "\\\\myop" = "..."' in err


def test_new_site_carries_the_macros_and_builds(tmp_path, cli):
    code, out, _ = cli("new", "site", "Linear Notes", "--site", tmp_path / "linear")
    assert code == 0
    toml = (tmp_path / "linear/neuralpath.toml").read_text()
    assert '"\\\\norm" = "\\\\left\\\\lVert #1 \\\\right\\\\rVert"' in toml and 'title = "Linear Notes"' in toml
    assert cli("build", tmp_path / "linear", "--no-search", "-q")[0] == 0
    assert cli("new", "site", "Again", "--site", tmp_path / "linear")[0] == 2  # never into a non-empty folder


def test_tex_in_a_double_quoted_summary_says_to_use_single_quotes(site, cli):
    root = site({f"{MODULE}/01-a.md": '---\ntitle: "A"\nsummary: "Math $A \\in \\R^n$."\n---\nBody.\n',
                 f"{MODULE}/02-b.md": note("B", "See [a](note:a) and [a again](note:a).\n")})
    code, out, _ = cli("check", root, "-q")  # check prints its findings on standard output
    assert code == 1
    assert re.search(r"01-a\.md:3:\d+: error: invalid front matter: found unknown escape character; inside double "
                     r"quotes a backslash starts an escape: put text with TeX in single quotes", out)
    assert out.count("error:") == 1  # links to the note that failed to load are not reported as well


def test_no_execute_never_shows_the_output_of_old_code(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "```python\nx = 2\nprint('x is', x)\n```\n\n"
                                                "```python\nassert x == 2\nprint('checked')\n```\n")})
    assert cli("build", root, "--no-search", "-q")[0] == 0
    path = root / MODULE / "01-a.md"
    path.write_text(path.read_text().replace("x = 2", "x = 3"))
    code, _, err = cli("build", root, "--no-search", "--no-execute")
    assert code == 0
    assert "01-a.md:5:1: warning: code not run (--no-execute): 2 block(s) from here on changed" in err
    assert "2 blocks not run (--no-execute, code changed)" in err
    body = body_of(root, "a")
    # neither the changed block's old output nor that of the block after it, whose code is unchanged
    assert '<pre class="stdout">' not in body
    page = (root / "public/notes/a/index.html").read_text()
    assert "2 of this page&#39;s 2 code blocks were not run in this build" in page and "every check passed" not in page


def test_a_link_to_a_draft_says_it_is_a_draft(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "See [b](note:b).\n"),
                 f"{MODULE}/02-b.md": note("B", "Draft.\n", status="draft")})
    for command in ("check", "build"):
        code, out, err = cli(command, root, "--no-search", "-q")
        assert code == 1, command
        assert "01-a.md:5:8: error: link to 'b', which is a draft (status: draft) and is not built" in out + err
    assert cli("check", root, "--drafts", "-q")[0] == 0  # check and build agree, with the same options


def test_new_refuses_a_second_note_with_an_existing_id_and_explains_empty_sites(tmp_path, cli):
    assert cli("new", "site", "T", "--site", tmp_path / "s")[0] == 0
    code, _, err = cli("new", "note", "First note", "--site", tmp_path / "s")
    assert code == 2 and "the id 'first-note' exists already (content/curriculum/1-first-part/01-first-module/" in err
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.md").write_text("# A\n")
    code, _, err = cli("new", "article", "Essay", "--site", plain)
    assert code == 2 and "plain folder of notes, which has no journal" in err
    assert cli("new", "note", "In a module", "--module", "week-1", "--site", plain)[0] == 0
    assert (plain / "week-1" / "in-a-module.md").is_file()


def test_every_command_line_option_is_documented():
    import argparse
    from pathlib import Path

    from neuralpath.cli import parser

    docs = (Path(__file__).parent.parent / "docs/authoring.md").read_text()
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, p in sub.choices.items():
        if f"neuralpath {name}" not in docs:
            missing.append(f"neuralpath {name}")
        for action in p._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help" and flag not in docs:
                    missing.append(f"{name} {flag}")
    assert not missing, missing


def test_a_site_built_without_search_says_so_on_its_search_page(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "Text.\n")})
    assert cli("build", root, "--no-search", "-q")[0] == 0
    page = (root / "public/search/index.html").read_text()
    assert "built without its search index" in page and "data-pagefind-ui" not in page
    assert "data-search=" not in (root / "public/notes/a/index.html").read_text()


def test_errors_inside_a_callout_are_on_their_own_line(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "> [!tip] A tip\n> See [x](note:nope) and \\eqref{eq:zz}.\n")})
    code, out, _ = cli("check", root, "-q")
    assert code == 1 and "01-a.md:6:10: error: link to 'nope'" in out and "01-a.md:6:1: error: unknown label 'eq:zz'" in out


def test_a_broken_config_is_reported_alone(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "$\\R^n$ and $\\norm{x}$.\n")}, toml='[site\ntitle = "x"\n')
    code, out, _ = cli("check", root, "-q")
    assert code == 1 and out.count("error:") == 1 and "neuralpath.toml:1:" in out


def test_math_in_a_summary_is_rendered_in_pages_and_plain_in_meta(site):
    root = site({f"{MODULE}/01-a.md": "---\ntitle: A\nsummary: 'Maps $A \\in \\R^{m \\times n}$ to vectors.'\n---\nText.\n"})
    build(root, BuildOptions(search=False))
    page = (root / "public/notes/a/index.html").read_text()
    lede = page[page.index('<p class="lede">'):]
    lede = lede[:lede.index("</p>")]
    assert "class=katex" in lede and "$" not in lede
    assert '<meta name="description" content="Maps A \\in \\R^{m \\times n} to vectors.">' in page
    module = (root / "public/modules/01-algebra/index.html").read_text()
    assert "$A" not in module and "class=katex" in module


def test_serve_on_a_busy_port_says_so_before_building(site, cli):
    import socket

    root = site({f"{MODULE}/01-a.md": note("A", "Text.\n")})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli("serve", root, "--port", port, "-q")
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
    assert "serving" not in err and not (root / ".neuralpath" / "serve").exists()


def test_an_impossible_date_is_a_located_error_not_a_crash(site, cli):
    root = site({"content/journal/a.md": '---\ntitle: "A"\nsummary: "S."\ndate: 2024-13-01\n---\nText.\n',
                 "content/journal/b.md": '---\ntitle: "B"\nsummary: "S."\ndate: 2023-02-29\n---\nText.\n'})
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 1
    assert ("a.md:4:7: error: invalid front matter: '2024-13-01' is not a real date (month must be in 1..12); "
            "write it as YYYY-MM-DD") in err
    assert "b.md:4:7: error: invalid front matter: '2023-02-29' is not a real date" in err
    assert "internal error" not in err and "Traceback" not in err


def test_tex_that_only_mathjax_accepts_says_what_katex_needs(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "Let $p_\\boldsymbol{\\theta}(x)$ be a density, $e^\\mathrm x$ "
                                                "and $\\mbox{if } x > 0$.\n\n$$\n\\require{cancel} a\n$$\n")})
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 1
    assert ("01-a.md:5:8: error: TeX error: Got function '\\boldsymbol' with no arguments as subscript in "
            "`p_\\boldsymbol{\\theta}(x)`; KaTeX needs braces around a command used as a subscript (MathJax does "
            "not): write `_{\\boldsymbol{\\theta}}` for `_\\boldsymbol{\\theta}`") in err
    assert "Undefined control sequence: \\mbox in `\\mbox{if } x > 0`; KaTeX has no \\mbox: write \\text{...}" in err
    assert "\\require in `\\require{cancel} a`; KaTeX loads no extensions: remove \\require{...}" in err


def test_keep_going_writes_the_site_and_still_fails(site, cli):
    root = site({
        f"{MODULE}/01-a.md": note("A", "Bad $\\mbox{x}$ and good $y^2$; see [gone](note:gone).\n"),
        f"{MODULE}/02-b.md": note("B", "Fine $z$.\n\n```python\nassert 1 == 2, 'boom'\n```\n"),
    })
    code, out, err = cli("build", root, "--no-search", "-q")  # without --keep-going: nothing is written
    assert code == 1 and "build failed: 3 errors" in err
    assert not (root / "public").exists()
    code, out, err = cli("build", root, "--no-search", "-q", "--keep-going")
    assert code == 1
    assert f"site written to {root / 'public'} with 3 errors (--keep-going)" in err
    a = (root / "public/notes/a/index.html").read_text()
    assert '<code class="math-error">\\mbox{x}</code>' in a and "<span class=katex>" in a  # the good math too
    assert (root / "public/notes/b/index.html").is_file() and (root / "public/index.html").is_file()
    # unchanged since: the output is reused, and the errors are still reported, with exit status 1
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 1 and "01-a.md:5:6: error: TeX error" in err


def test_front_matter_of_other_tools_is_read_or_quietly_ignored(tmp_path, cli):
    from conftest import write_site
    root = write_site(tmp_path / "notes", {
        "a.md": '---\ntitle: "A"\ndescription: "Jekyll summary."\nlayout: post\npermalink: /a/\nnav_order: 2\n---\nA.\n',
        "b.md": '---\ntitle: "B"\nweight: 1\nlayout: post\njupytext: {formats: md}\ndate: 2024-05-06\n---\nB.\n',
        "c.md": '---\ntitle: "C"\ndraft: true\n---\nC.\n',
        "d.md": '---\ntitle: "D"\ntitel: typo\nweight: heavy\n---\nD.\n',
    }, toml=None)
    code, out, err = cli("build", root, "--no-search")
    assert code == 1  # a foreign key read as ours is checked as ours, and named as the author wrote it
    assert "d.md:4:1: error: front matter field 'weight' must be an integer, got 'heavy'" in err
    (root / "d.md").write_text('---\ntitle: "D"\ntitel: typo\nweight: 3\n---\nD.\n')
    code, out, err = cli("build", root, "--no-search")
    assert code == 0, err
    assert err.count("front matter keys of other tools were ignored") == 1
    assert "jupytext (1 file), layout (2 files), permalink (1 file)" in err
    assert "d.md:3:1: warning: unknown front matter field 'titel' for a note; did you mean 'title'?" in err
    pub = root / "public"
    assert '<meta name="description" content="Jekyll summary.">' in (pub / "notes/a/index.html").read_text()
    assert not (pub / "notes/c").exists()  # draft: true is a draft
    home = (pub / "index.html").read_text()
    assert home.index(">B<") < home.index(">A<")  # weight 1 before nav_order 2


def test_a_folder_without_series_journal_or_prerequisites_gets_no_empty_sections(tmp_path, cli):
    from conftest import write_site
    root = write_site(tmp_path / "notes", {"a.md": "# A\n\nText.\n", "b.md": "# B\n\nMore text.\n"}, toml=None)
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    pub = root / "public"
    for gone in ("series", "journal", "essays", "map"):
        assert not (pub / gone).exists(), gone
    home = (pub / "index.html").read_text()
    nav = home[home.index('<nav class="site-nav"'):home.index("</nav>")]
    assert ">Series<" not in nav and ">Journal<" not in nav and ">Map<" not in nav and ">Curriculum<" in nav
    assert "feed.xml" not in home
    # one series, one essay and one prerequisite bring each back
    (root / "b.md").write_text('---\ntitle: "B"\nprerequisites: [a]\n---\nMore text.\n')
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    assert (pub / "map/index.html").is_file() and ">Map<" in (pub / "index.html").read_text()


def test_katex_mathml_is_made_valid_where_katex_writes_it_invalid(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "Bound $\\lambda/\\sigma_{\\min}^2$ and $a \\bmod n$.\n")})
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    html = (root / "public/notes/a/index.html").read_text()
    # <msubsup> has exactly base, sub, sup (no function-application <mo> after "min"); "mod" is one <mo>
    assert "<msubsup><mi>σ</mi><mi>min</mi><mn>2</mn></msubsup>" in html
    assert ">mod</mo>" in html and "<mo lspace=0.22em rspace=0.22em><mrow>" not in html


def test_plain_folder_notes_go_by_order_then_number_then_title(tmp_path, cli):
    from conftest import write_site
    root = write_site(tmp_path / "notes", {
        "zeta.md": "# Alpha first\n\nBy title, before 'Beta'.\n",
        "alpha.md": "# Beta second\n\nText.\n",
        "02-c.md": "# Numbered two\n\nText.\n",
        "01-d.md": "# Numbered one\n\nText.\n",
        "m.md": "---\ntitle: Ordered\nweight: 0\n---\nText.\n",
    }, toml=None)
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    home = (root / "public/index.html").read_text()
    at = [home.index(f">{t}<") for t in ("Ordered", "Numbered one", "Numbered two", "Alpha first", "Beta second")]
    assert at == sorted(at)
