"""Mathematical structure: theorem-like blocks, proofs, exercises, numbered figures, cross-references
within and across notes, and the site's Results and Notation pages, as a reader sees them."""

from __future__ import annotations

import re

import pytest

from conftest import MODULE, note, running
from neuralpath.build import BuildOptions, build
from neuralpath.server import create_app

SVD = r"""
Opening text.

> [!definition] Singular value decomposition {#def:svd}
> Every $A \in \R^{m\times n}$ is $A = U\Sigma V^\top$.

> [!assumption] {#asm:full-rank}
> $A$ has full column rank.

> [!theorem] Eckart–Young {#thm:ey}
> The truncation $A_k$ is a best rank-$k$ approximation.

> [!lemma] {#lem:weyl}
> Singular values are 1-Lipschitz.

> [!proof]
> By \ref{def:svd} and \ref{asm:full-rank}.

> [!proof] {of=thm:ey}
> Use \ref{lem:weyl}.

> [!figure] A square. {#fig:square}
> ![A black square](square.svg)

> [!exercise] {#exr:one}
> Show \eqref{eq:energy}.
>
> > [!solution]
> > Expand the square.

$$
\|A\|_F^2 = \sum_i \sigma_i^2 \label{eq:energy}
$$

See \ref{thm:ey}, \ref{fig:square} and \eqref{eq:energy}.

## Notation

| symbol | meaning |
|---|---|
| $\sigma_i$ | the $i$-th singular value of $A$ (\ref{def:svd}) |
"""

USES = r"""
By \ref{svd:thm:ey}, and as \ref{svd:def:svd} says.

> [!corollary] Low rank {#cor:low}
> Follows from \ref{svd:thm:ey}.

## Notation

| symbol | meaning |
|---|---|
| $\sigma_i$ | the elementwise activation of layer $i$ |
"""


@pytest.fixture
def built(site):
    root = site({
        f"{MODULE}/01-svd.md": note("SVD", SVD),
        f"{MODULE}/square.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>',
        f"{MODULE}/02-uses.md": note("Uses", USES),
    })
    result = build(root, BuildOptions(search=False))
    return root, result


def page(root, rel):
    return (root / "public" / rel).read_text()


def test_blocks_are_numbered_regions_named_by_kind_number_and_title(built):
    root, _ = built
    html = page(root, "notes/svd/index.html")
    # definitions, assumptions and results each have their own sequence; theorem and lemma share one
    for anchor, name in [("def-svd", "Definition&nbsp;1"), ("asm-full-rank", "Assumption&nbsp;1"),
                         ("thm-ey", "Theorem&nbsp;1"), ("lem-weyl", "Lemma&nbsp;2"), ("exr-one", "Exercise&nbsp;1")]:
        m = re.search(rf'<div class="thm [^"]*" role="region" id="{anchor}" aria-labelledby="{anchor}-h">'
                      rf'<p class="thm-head" id="{anchor}-h"><span class="thm-name">{name}</span>', html)
        assert m, anchor
    assert '<span class="thm-title">(Eckart–Young)</span>' in html


def test_proofs_say_what_they_prove_and_end_with_a_tombstone(built):
    root, _ = built
    html = page(root, "notes/svd/index.html")
    # the first proof proves the nearest result above it (Lemma 2), the second the theorem it names
    assert 'Proof of <a class="blockref" href="#lem-weyl">Lemma&nbsp;2</a>' in html
    assert re.search(r'Proof of <a class="blockref" href="#thm-ey"[^>]*>Theorem&nbsp;1</a>', html)
    assert html.count('aria-label="end of proof">∎') == 2


def test_exercise_solution_is_opened_on_demand(built):
    root, _ = built
    html = page(root, "notes/svd/index.html")
    assert re.search(r'<details class="solution"><summary>Solution</summary>.*Expand the square', html, re.S)


def test_a_figure_is_numbered_and_captioned(built):
    root, _ = built
    html = page(root, "notes/svd/index.html")
    assert re.search(r'<figure class="np-figure" id="fig-square">.*<img src="[^"]*square\.svg" alt="A black square"'
                     r'.*<figcaption><span class="fig-name">Figure&nbsp;1\.</span> A square\.</figcaption></figure>',
                     html, re.S)


def test_references_render_name_number_and_link_within_and_across_notes(built):
    root, _ = built
    svd = page(root, "notes/svd/index.html")
    assert '<a class="blockref" href="#thm-ey" data-preview-eq="thm-ey">Theorem&nbsp;1</a>' in svd
    assert '<a class="blockref" href="#fig-square" data-preview-eq="fig-square">Figure&nbsp;1</a>' in svd
    assert '<a class="eqref" href="#eq-energy" data-preview-eq="eq-energy">(1)</a>' in svd
    uses = page(root, "notes/uses/index.html")
    assert re.search(r'<a class="blockref" href="/notes/svd/#thm-ey" data-preview-ref="/notes/svd/#thm-ey" '
                     r'[^>]*>SVD, Theorem&nbsp;1</a>', uses)
    assert "SVD, Definition&nbsp;1" in uses


def test_results_and_notation_pages(built):
    root, result = built
    results = page(root, "results/index.html")
    assert re.search(r'href="/notes/svd/#def-svd"[^>]*>Definition 1 \(Singular value decomposition\)</a>', results)
    assert re.search(r'href="/notes/svd/#thm-ey"[^>]*>Theorem 1 \(Eckart–Young\)</a>', results)
    assert re.search(r'href="/notes/uses/#cor-low"[^>]*>Corollary 1 \(Low rank\)</a>', results)
    assert "Lemma 2" not in results  # untitled results are not listed; definitions always are
    notation = page(root, "notation/index.html")
    assert notation.count("<dt>") == 1  # one symbol, two meanings
    assert "the <span" in notation and "-th singular value" in notation and "elementwise activation" in notation
    # a row's reference to its own note's label points there from the site-wide page
    assert re.search(r'href="/notes/svd/#def-svd"[^>]*>SVD, Definition&nbsp;1</a>', notation)
    assert '<a href="/results/">Results</a>' in page(root, "index.html")
    clash = [f for f in result.report.findings if f.rule == "notation-clash"]
    assert [f.path.rsplit("/", 1)[-1] for f in clash] == ["02-uses.md"] and "01-svd.md:" in clash[0].message


def test_a_row_that_links_to_the_other_note_says_the_clash_is_on_purpose(site):
    root = site({
        f"{MODULE}/01-svd.md": note("SVD", SVD),
        f"{MODULE}/square.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>',
        f"{MODULE}/02-uses.md": note("Uses", USES.replace("layer $i$", "layer $i$ (not [the singular value]"
                                                          "(note:svd#notation))")),
    })
    result = build(root, BuildOptions(search=False))
    assert not [f for f in result.report.findings if f.rule == "notation-clash"]


@pytest.mark.parametrize("ref, nearest", [("thm:eyy", "thm:ey"), ("svd:thm:ye", "svd:thm:ey"),
                                          ("nobody:thm:ey", "no note has the id 'nobody'")])
def test_an_unknown_label_fails_with_its_line_and_the_nearest_labels(site, cli, ref, nearest):
    root = site({
        f"{MODULE}/01-svd.md": note("SVD", SVD.replace("See \\ref{thm:ey}", f"See \\ref{{{ref}}}")),
        f"{MODULE}/square.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>',
    })
    code, _, err = cli("build", root, "--no-search", "-q")
    assert code == 1
    line = 4 + SVD.lstrip("\n").split("\n").index(next(l for l in SVD.lstrip("\n").split("\n") if l.startswith("See "))) + 1
    assert f"01-svd.md:{line}:" in err and f"unknown label '{ref}'" in err and nearest in err


def test_references_preview_their_target_in_chromium(built, browser_context):
    root, _ = built
    with running(create_app(root / "public")) as port:
        pg = browser_context.new_page()
        pg.goto(f"http://127.0.0.1:{port}/notes/uses/")
        link = pg.locator("a.blockref", has_text="SVD, Theorem")
        link.first.focus()
        tip = pg.locator("#np-preview")
        tip.wait_for()
        # the theorem's statement, fetched from its own page, once it has arrived
        pg.wait_for_function("document.getElementById('np-preview') && "
                             "document.getElementById('np-preview').textContent.includes('best rank')")
        assert "Eckart–Young" in tip.text_content()
        pg.goto(f"http://127.0.0.1:{port}/notes/svd/")
        pg.locator("a.blockref", has_text="Figure").first.hover()
        assert pg.locator("#np-preview img[alt='A black square']").count() == 1
        pg.locator("a.eqref").first.focus()
        assert "σ" in pg.locator("#np-preview").text_content() or "sigma" in pg.locator("#np-preview").inner_html()
        pg.close()


def _edit(root, rel, old, new):
    p = root / rel
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new))


@pytest.mark.parametrize("dev", [False, True])
def test_edits_reach_the_results_and_notation_pages_and_the_notation_check(built, dev, monkeypatch):
    """The Results and Notation texts and the notation check's verdicts are cached under a key of what
    they read (blocks, notation rows, titles, ids): every edit of one of those must reach the site,
    and an edit of anything else must leave them as they are, in the CLI and in the dev server."""
    import neuralpath.serve as serve_module

    root, _ = built
    seen = []  # the findings of each dev-server build, as its terminal shows them
    real = serve_module.build
    monkeypatch.setattr(serve_module, "build", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    server = serve_module.DevServer(root, quiet=True, output=root / "public") if dev else None

    def rebuild():
        if server is not None:
            assert server.rebuild(search=False)
            return seen[-1].report.findings
        return build(root, BuildOptions(search=False)).report.findings

    def clashes(findings):
        return [f for f in findings if f.rule == "notation-clash"]

    assert len(clashes(rebuild())) == 1
    # a sentence elsewhere: same pages, same warning
    _edit(root, f"{MODULE}/02-uses.md", "Follows from", "It follows from")
    assert len(clashes(rebuild())) == 1
    assert "elementwise activation" in page(root, "notation/index.html")
    # a notation row's meaning
    _edit(root, f"{MODULE}/02-uses.md", "elementwise activation", "pointwise nonlinearity")
    findings = rebuild()
    notation = page(root, "notation/index.html")
    assert "pointwise nonlinearity" in notation and "elementwise activation" not in notation
    assert len(clashes(findings)) == 1 and "pointwise nonlinearity" in clashes(findings)[0].message
    # the row now says the clash is on purpose: the warning goes
    _edit(root, f"{MODULE}/02-uses.md", "pointwise nonlinearity", "pointwise nonlinearity ([not this](note:svd#notation))")
    assert not clashes(rebuild())
    # ... and comes back when the link goes
    _edit(root, f"{MODULE}/02-uses.md", " ([not this](note:svd#notation))", "")
    assert len(clashes(rebuild())) == 1
    # a theorem's title, and a note's title, reach the Results page
    _edit(root, f"{MODULE}/01-svd.md", "Eckart–Young {#thm:ey}", "Eckart–Young–Mirsky {#thm:ey}")
    rebuild()
    assert "Theorem 1 (Eckart–Young–Mirsky)" in page(root, "results/index.html")
    _edit(root, f"{MODULE}/02-uses.md", 'title: "Uses"', 'title: "Applications"')
    rebuild()
    assert re.search(r'href="/notes/uses/#cor-low"[^>]*>Corollary 1 \(Low rank\)</a> in <a[^>]*>Applications</a>',
                     page(root, "results/index.html"))
    assert "Applications" in page(root, "notation/index.html")
    # a new symbol
    _edit(root, f"{MODULE}/02-uses.md", "| $\\sigma_i$ |", "| $W_\\ell$ | the weights of layer $\\ell$ |\n| $\\sigma_i$ |")
    rebuild()
    assert "the weights of layer" in page(root, "notation/index.html")


def test_a_reference_to_another_notes_label_follows_its_number(built):
    """Render keys share what a reference to another note's label resolves to across the bodies of one
    build: a renumbering in one note must still reach every note that refers to it, build after build."""
    from neuralpath.serve import DevServer

    root, _ = built
    server = DevServer(root, quiet=True, output=root / "public")
    assert server.rebuild(search=False)
    assert "SVD, Theorem&nbsp;1" in page(root, "notes/uses/index.html")
    _edit(root, f"{MODULE}/01-svd.md", "> [!theorem] Eckart–Young", "> [!theorem] First {#thm:first}\n> A.\n\n"
          "> [!theorem] Eckart–Young")
    assert server.rebuild(search=False)
    uses = page(root, "notes/uses/index.html")
    assert "SVD, Theorem&nbsp;2" in uses and "SVD, Theorem&nbsp;1<" not in uses
    _edit(root, f"{MODULE}/01-svd.md", "> [!theorem] First {#thm:first}\n> A.\n\n", "")
    assert server.rebuild(search=False)
    assert "SVD, Theorem&nbsp;1" in page(root, "notes/uses/index.html")
    build(root, BuildOptions(search=False))
    assert "SVD, Theorem&nbsp;1" in page(root, "notes/uses/index.html")
