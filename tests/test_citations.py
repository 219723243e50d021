"""Citations from BibTeX: each syntax form, how works are formatted, each note's References section,
further reading, the Bibliography page, located errors, and incremental builds after a .bib edit."""

from __future__ import annotations

import html
import re

import pytest

from conftest import MINI_TOML, MODULE, note, write_site
from neuralpath.build import BuildOptions, build
from neuralpath.errors import BuildFailed

BIB = r"""
@string{psy = "Psychometrika"}

@article{eckart1936,
  author  = {Eckart, Carl and Young, Gale},
  title   = {The approximation of one matrix by another of lower rank},
  journal = psy,
  volume  = 1, number = 3,
  pages   = {211--218},
  year    = 1936,
  doi     = {10.1007/BF02288367}
}

@book{golub2013,
  author    = {Golub, Gene H. and Van Loan, Charles F.},
  title     = {Matrix Computations},
  edition   = {4th},
  publisher = {Johns Hopkins University Press},
  year      = {2013}
}

@book{trefethen1997,
  author    = {Trefethen, Lloyd N. and Bau, David},
  title     = {Numerical Linear Algebra},
  publisher = {SIAM},
  year      = {1997}
}

@inproceedings{vaswani2017,
  author    = {Vaswani, Ashish and Shazeer, Noam and Parmar, Niki and Uszkoreit, Jakob},
  title     = {Attention Is All You Need},
  booktitle = {Advances in Neural Information Processing Systems},
  year      = {2017},
  url       = {https://arxiv.org/abs/1706.03762}
}

@article{godel1931,
  author  = {G{\"o}del, Kurt},
  title   = {{\"U}ber formal unentscheidbare S{\"a}tze der {P}rincipia {M}athematica},
  journal = {Monatshefte f{\"u}r Mathematik und Physik},
  year    = 1931
}

@misc{smith2020beta, author = {Smith, Jane}, title = {Beta results}, year = 2020}
@misc{smith2020alpha, author = {Smith, Jane}, title = {Alpha results}, year = 2020}
@book{knuth1984, author = {Knuth, Donald E.}, title = {The {\TeX}book}, publisher = {Addison--Wesley}, year = 1984}
@misc{cayley1858, author = {Cayley, Arthur}, title = {A memoir on the theory of matrices}, year = 1858}
"""


def page(root, note_id="a"):
    return (root / "public" / "notes" / note_id / "index.html").read_text()


def prose(text: str) -> str:
    """The body of a page, up to the References section."""
    body = text.split('<div class="prose">', 1)[1]
    return body.split('<section class="references"', 1)[0]


def references(text: str) -> str:
    return text.split('<section class="references"', 1)[1].split("</section>", 1)[0]


def visible(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def make(site, body: str, bib: str = BIB, toml: str = MINI_TOML, **fields):
    return site({f"{MODULE}/01-a.md": note("Alpha", body, **fields), "references.bib": bib}, toml)


def built(site, body: str, **kw):
    root = make(site, body, **kw)
    build(root, BuildOptions(search=False))
    return root


# -- each syntax form ------------------------------------------------------------------------------

def test_parenthetical_citation_links_to_its_entry_and_previews_it(site):
    text = prose(page(built(site, "Low rank [@eckart1936].\n")))
    assert visible(text).strip().startswith("Low rank (Eckart and Young, 1936).")
    link = re.search(r'<a class="cite" href="#ref-eckart1936"[^>]*>', text).group(0)
    assert 'data-preview-title="The approximation of one matrix by another of lower rank"' in link
    summary = html.unescape(re.search(r'data-preview-summary="([^"]*)"', link).group(1))
    assert summary.startswith("Eckart, C. and Young, G. (1936). The approximation of one matrix")
    assert "211–218" in summary


def test_locator_several_works_and_narrative_forms(site):
    body = ("Stated in [@eckart1936, Section 2.3]. Textbooks [@golub2013; @trefethen1997].\n\n"
            "As @eckart1936 showed, and @vaswani2017 used. See [see @golub2013, ch. 2] and [-@trefethen1997].\n")
    text = visible(prose(page(built(site, body))))
    assert "(Eckart and Young, 1936, Section 2.3)" in text
    assert "(Golub and Van Loan, 2013; Trefethen and Bau, 1997)" in text
    assert "As Eckart and Young (1936) showed" in text
    assert "Vaswani et al. (2017) used" in text
    assert "(see Golub and Van Loan, 2013, ch. 2)" in text
    assert "and (1997)." in text


def test_no_citation_in_emails_code_math_links_or_escaped(site):
    body = ("Write to user@example.org or [me at user@example.org].\n\n"
            "Code `@eckart1936` and $a@b$ stay. A link [@eckart1936](https://example.org/x) stays a link.\n"
            "Escaped \\@eckart1936 is text.\n\n```text\n@eckart1936 [@eckart1936]\n```\n")
    full = page(built(site, body))
    text = prose(full)
    assert 'class="cite"' not in text and 'class="references"' not in full
    assert "user@example.org" in text and "[me at user@example.org]" in text
    assert "<code>@eckart1936</code>" in text
    assert re.search(r'<a href="https://example.org/x"[^>]*>@eckart1936</a>', text)
    assert "Escaped @eckart1936 is text." in text


def test_a_sentence_ending_after_a_key_is_not_part_of_it(site):
    text = visible(prose(page(built(site, "This is due to @cayley1858. Then @knuth1984: done.\n"))))
    assert "This is due to Cayley (1858). Then Knuth (1984): done." in text


def test_same_authors_same_year_get_letters_in_title_order(site):
    text = visible(prose(page(built(site, "First [@smith2020beta], then [@smith2020alpha].\n"))))
    assert "First (Smith, 2020b), then (Smith, 2020a)." in text


# -- formatting of works -----------------------------------------------------------------------------

def test_latex_accents_braces_and_dashes_are_rendered(site):
    root = built(site, "Incompleteness [@godel1931] and [@knuth1984].\n")
    text = visible(prose(page(root)))
    assert "(Gödel, 1931)" in text
    refs = visible(references(page(root)))
    assert "Gödel, K. (1931). Über formal unentscheidbare Sätze der Principia Mathematica." in refs
    assert "Monatshefte für Mathematik und Physik" in refs
    assert "The TeXbook" in refs and "Addison–Wesley" in refs  # {\TeX} and -- as an en dash
    assert "{" not in refs and "\\" not in refs


def test_doi_and_url_are_links(site):
    refs = references(page(built(site, "[@eckart1936] and [@vaswani2017]\n")))
    assert '<a href="https://doi.org/10.1007/BF02288367" rel="noopener">doi:10.1007/BF02288367</a>' in refs
    assert '<a href="https://arxiv.org/abs/1706.03762" rel="noopener">https://arxiv.org/abs/1706.03762</a>' in refs
    assert "<em>Psychometrika</em>, 1(3), 211–218." in refs


def test_javascript_url_is_not_linked(site):
    bib = BIB + "\n@misc{evil, author = {Doe, J.}, title = {T}, year = 2000, url = {javascript:alert(1)}}\n"
    refs = references(page(built(site, "[@evil]\n", bib=bib)))
    assert "javascript" not in refs


# -- References section and further reading -------------------------------------------------------------

def test_references_list_cited_works_once_in_author_year_order(site):
    body = "[@vaswani2017] then [@eckart1936], [@golub2013; @eckart1936] and @cayley1858.\n"
    refs = references(page(built(site, body)))
    ids = re.findall(r'<li id="ref-([^"]+)"', refs)
    assert ids == ["cayley1858", "eckart1936", "golub2013", "vaswani2017"]
    assert '<h2 id="references">References' in refs
    assert "Further reading" not in refs


def test_further_reading_comes_after_the_cited_works(site):
    root = built(site, "Cites [@eckart1936].\n", further_reading="[trefethen1997, golub2013, eckart1936]")
    refs = references(page(root))
    cited, further = refs.split("Further reading", 1)
    assert re.findall(r'id="ref-([^"]+)"', cited) == ["eckart1936"]
    assert re.findall(r'id="ref-([^"]+)"', further) == ["golub2013", "trefethen1997"]  # a cited one not again
    assert '<h3 id="further-reading">' in refs


def test_further_reading_alone_makes_the_section(site):
    refs = references(page(built(site, "No citations.\n", further_reading="[godel1931]")))
    assert '<h2 id="further-reading">Further reading' in refs
    assert 'id="ref-godel1931"' in refs


def test_a_note_without_citations_has_no_references_section(site):
    root = site({f"{MODULE}/01-a.md": note("Alpha", "Plain [@eckart1936].\n"),
                 f"{MODULE}/02-b.md": note("Beta", "Nothing cited.\n"), "references.bib": BIB})
    build(root, BuildOptions(search=False))
    assert 'class="references"' not in page(root, "b")


# -- the Bibliography page ---------------------------------------------------------------------------

def test_bibliography_page_lists_every_work_with_the_notes_citing_it(site):
    root = site({f"{MODULE}/01-a.md": note("Alpha", "[@eckart1936] and [@golub2013]\n"),
                 f"{MODULE}/02-b.md": note("Beta", "@eckart1936 again.\n", further_reading="[godel1931]"),
                 "references.bib": BIB})
    build(root, BuildOptions(search=False))
    out = (root / "public" / "bibliography" / "index.html").read_text()
    body = out.split('<div class="prose index-page">', 1)[1].split("</div>", 1)[0]
    ids = re.findall(r'id="ref-([^"]+)"', body)
    assert ids == ["cayley1858", "eckart1936", "godel1931", "golub2013", "knuth1984", "smith2020alpha",
                   "smith2020beta", "trefethen1997", "vaswani2017"]
    items = {m.group(1): m.group(2) for m in re.finditer(r'id="ref-([^"]+)"></span>(.*?)</li>', body, re.S)}
    assert 'Cited in <a href="/notes/a/"' in items["eckart1936"] and '<a href="/notes/b/"' in items["eckart1936"]
    assert 'Further reading in <a href="/notes/b/"' in items["godel1931"]
    assert "Cited in" not in items["cayley1858"]
    assert "Gödel, K. (1931). Über formal unentscheidbare Sätze" in visible(items["godel1931"])
    assert 'href="https://doi.org/10.1007/BF02288367"' in items["eckart1936"]
    assert '<a href="/bibliography/">Bibliography</a>' in page(root, "a")  # footer link


def test_no_bibliography_page_without_bib_file_or_citations(site):
    root = site({f"{MODULE}/01-a.md": note("Alpha", "Plain text.\n")})
    build(root, BuildOptions(search=False))
    assert not (root / "public" / "bibliography").exists()
    assert "/bibliography/" not in page(root)


def test_bib_file_named_in_the_config(site):
    toml = MINI_TOML + '\n[bibliography]\nfile = "refs/works.bib"\n'
    root = site({f"{MODULE}/01-a.md": note("Alpha", "[@eckart1936]\n"), "refs/works.bib": BIB}, toml)
    build(root, BuildOptions(search=False))
    assert "(Eckart and Young, 1936)" in visible(prose(page(root)))


# -- located errors ----------------------------------------------------------------------------------

def findings(root) -> list[str]:
    with pytest.raises(BuildFailed) as e:
        build(root, BuildOptions(search=False, write=False))
    return [f.format() for f in e.value.report.findings]


def test_unknown_key_is_located_with_a_suggestion(site):
    root = make(site, "Fine [@eckart1936].\n\nBroken [@ekart1936] here.\n")
    errors = findings(root)
    assert any(re.match(r"content/curriculum/1-foundations/01-algebra/01-a\.md:7:\d+: error: citation "
                        r"'@ekart1936': .*did you mean '@eckart1936'\?.*\(unknown-citation\)", f) for f in errors), errors


def test_unknown_further_reading_key_points_at_the_front_matter(site):
    root = make(site, "Text.\n", further_reading="[golub2031]")
    errors = findings(root)
    assert any(re.match(r".*01-a\.md:4:1: error: further_reading 'golub2031': .*'@golub2013'", f) for f in errors), errors


def test_citation_without_any_bib_file_says_where_to_put_it(site):
    root = site({f"{MODULE}/01-a.md": note("Alpha", "Cites [@eckart1936].\n")})
    errors = findings(root)
    assert any("citation '@eckart1936': there is no bibliography file references.bib" in f for f in errors), errors


def test_missing_default_bib_file_is_fine_when_nothing_is_cited(site):
    root = site({f"{MODULE}/01-a.md": note("Alpha", "Nothing cited.\n")})
    assert not build(root, BuildOptions(search=False)).report.errors


def test_configured_bib_file_that_does_not_exist_is_an_error(site):
    toml = MINI_TOML + '\n[bibliography]\nfile = "nope.bib"\n'
    root = site({f"{MODULE}/01-a.md": note("Alpha", "Nothing cited.\n")}, toml)
    errors = findings(root)
    assert any(re.match(r"neuralpath\.toml:\d+:1: error: \[bibliography\] file: nope\.bib does not exist", f)
               for f in errors), errors


def test_bibliography_config_is_type_checked(site):
    root = site({f"{MODULE}/01-a.md": note("Alpha", "Text.\n")}, MINI_TOML + "\n[bibliography]\nfile = 3\n")
    errors = findings(root)
    assert any("[bibliography] file must be str" in f for f in errors), errors


def test_duplicate_key_is_located_at_the_second_entry(site):
    bib = "@misc{a1, title = {One}, year = 2001}\n\n@misc{b2, title = {Two}, year = 2002}\n" \
          "@misc{a1, title = {Again}, year = 2003}\n"
    root = make(site, "[@a1]\n", bib=bib)
    errors = findings(root)
    assert "references.bib:4:1: error: duplicate key 'a1': already defined at line 1; rename one of the " \
           "entries (bib-duplicate)" in errors


def test_malformed_entries_are_located_and_the_rest_still_read(site, cli):
    bib = ("@misc{good1, title = {Fine}, year = 2001}\n"
           "@article{nocomma,\n  title = {Missing comma}\n  year = 1999\n}\n"
           "@book{unclosed,\n  title = {Never closed,\n  year = 2001\n\n"
           "@misc{good2, author = {Doe, Jane}, title = {Read after the broken ones}, year = 2002}\n"
           "@misc{, title = {No key}}\n")
    root = make(site, "[@good1] and [@good2].\n", bib=bib)
    code, out, err = cli("check", root)
    err += out
    assert code == 1 and "Traceback" not in err
    assert re.search(r"references\.bib:2:1: error: malformed entry 'nocomma': .*\(bib-malformed\)", err), err
    assert re.search(r"references\.bib:6:1: error: malformed entry 'unclosed': .*\(bib-malformed\)", err), err
    assert re.search(r"references\.bib:11:1: error: malformed entry.*\(bib-malformed\)", err), err
    assert "unknown-citation" not in err  # good1 and good2 were read


@pytest.mark.parametrize("bib", [b"@article{x, title = {\xff\xfe}}", "@@@{{{", "@article{x, title = {a}} }}}",
                                 "@string{s = undefined}\n@misc{y, title = s}", "@article{z, author = {a, b, c, d}}",
                                 "@misc{w, title = {" + "{" * 200 + "}" * 200 + "}}"])
def test_a_broken_bib_file_never_gives_a_traceback(site, cli, bib):
    root = site({f"{MODULE}/01-a.md": note("Alpha", "Text.\n"), "references.bib": bib})
    code, out, err = cli("check", root)
    assert "Traceback" not in out + err
    assert code in (0, 1)


# -- incremental builds --------------------------------------------------------------------------------

def test_editing_a_bib_entry_renders_the_citing_note_again(site):
    root = site({f"{MODULE}/01-a.md": note("Alpha", "Cites [@golub2013].\n"),
                 f"{MODULE}/02-b.md": note("Beta", "Cites nothing.\n"), "references.bib": BIB})
    build(root, BuildOptions(search=False))
    assert "Matrix Computations" in page(root, "a")
    bib = root / "references.bib"
    bib.write_text(bib.read_text().replace("{Matrix Computations}", "{Matrix Computations, Fourth Edition}"))
    result = build(root, BuildOptions(search=False))
    a = page(root, "a")
    assert "Matrix Computations, Fourth Edition" in references(a)
    assert "Matrix Computations, Fourth Edition" in a.split('data-preview-title="', 1)[1].split('"', 1)[0]
    assert result.stats["bodies_rendered"] == 2  # the citing note and the Bibliography page, not Beta
    assert "Fourth Edition" in (root / "public" / "bibliography" / "index.html").read_text()


def test_editing_further_reading_renders_the_note_again(site):
    root = make(site, "Text.\n", further_reading="[godel1931]")
    build(root, BuildOptions(search=False))
    p = root / MODULE / "01-a.md"
    p.write_text(p.read_text().replace("[godel1931]", "[cayley1858]"))
    build(root, BuildOptions(search=False))
    refs = references(page(root))
    assert "ref-cayley1858" in refs and "ref-godel1931" not in refs


def test_citations_render_the_same_in_worker_processes(tmp_path):
    """Past 24 notes bodies are rendered by forked workers: they must see the bibliography too."""
    files = {f"{MODULE}/{i + 1:02d}-n{i}.md": note(f"Note {i}", f"Note {i} cites [@eckart1936] and @golub2013.\n",
                                                   id=f"n{i}") for i in range(30)}
    files["references.bib"] = BIB
    root = write_site(tmp_path / "site", files)
    build(root, BuildOptions(search=False, jobs=2))
    for i in (0, 29):
        text = page(root, f"n{i}")
        assert "(Eckart and Young, 1936)" in visible(prose(text))
        assert re.findall(r'<li id="ref-([^"]+)"', references(text)) == ["eckart1936", "golub2013"]


def test_a_citation_across_lines_keeps_later_lines_located(site):
    root = make(site, "Two works [@eckart1936;\n@golub2013] here.\nThen [@nosuchkey] on line 7.\n")
    errors = findings(root)
    assert any(re.match(r".*01-a\.md:7:\d+: error: citation '@nosuchkey'", f) for f in errors), errors


def test_plain_folder_reads_references_bib_beside_the_notes(tmp_path):
    root = write_site(tmp_path / "notes", {"svd.md": "# SVD\n\nBest rank-k [@eckart1936].\n", "references.bib": BIB},
                      toml=None)
    build(root, BuildOptions(search=False))
    text = (root / "public" / "notes" / "svd" / "index.html").read_text()
    assert "(Eckart and Young, 1936)" in visible(prose(text))
    assert (root / "public" / "bibliography" / "index.html").is_file()


def test_a_narrative_citation_takes_a_locator_in_brackets(site):
    root = site({"references.bib": "@book{horn2013matrix, author = {Horn, Roger A. and Johnson, Charles R.},\n"
                                   "  title = {Matrix Analysis}, publisher = {CUP}, year = {2013}}\n",
                 f"{MODULE}/01-a.md": note("A", "As @horn2013matrix [Chapter 7] show, and [see](note:a).\n")})
    build(root, BuildOptions(search=False))
    html = (root / "public/notes/a/index.html").read_text()
    assert "Horn and Johnson (2013, Chapter 7)</a> show" in html and "[Chapter 7]" not in html
