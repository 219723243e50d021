"""The engine core: every page type, math at build time, cross-references, located errors, atomic output."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import MODULE, note, write_site

PART = "content/curriculum/1-foundations"


def full_site():
    return {
        f"{PART}/_index.md": note("Foundations", summary="The base of everything."),
        f"{MODULE}/_index.md": '---\ntitle: "Algebra"\nsummary: "Vectors and maps."\nrequires: [SOME_API_KEY]\n---\n',
        f"{MODULE}/01-vectors.md": note("Vectors", """
            ## Definition

            A vector $v \\in \\R^n$ has norm
            $$
            \\|v\\|_2 = \\sqrt{v^\\top v} \\label{eq:norm}
            $$
            as \\eqref{eq:norm} shows. See [maps](note:maps) and the [section](note:maps#composition).

            > [!warning] Careful
            > Norms differ.

            > [!tip]- Folded
            > Hidden by default.

            ## Second

            Footnote[^1] and a table:

            | a | b |
            |---|---|
            | 1 | 2 |

            [^1]: The footnote.
            """, tags="[linear-algebra]"),
        f"{MODULE}/02-maps.md": note("Maps", """
            ## Composition

            Maps compose; compare with \\eqref{vectors:eq:norm}.

            ```python {norun}
            x = 1
            ```
            """, prerequisites="[vectors]"),
        f"{MODULE}/03-later.md": note("Later", status="planned", prerequisites="[maps]"),
        "content/journal/first-essay.md": '---\ntitle: "First Essay"\ndate: 2024-05-01\nsummary: "An essay."\n---\nBody of the essay with $x^2$.\n',
        "content/journal/second.md": '---\ntitle: "Second"\ndate: 2025-02-03\nsummary: "Another."\nstatus: planned\n---\n',
        "content/series/path.md": '---\ntitle: "A Path"\nsummary: "An ordered path."\nmembers: [first-essay, vectors]\n---\n',
        "content/pages/about.md": '---\ntitle: "About"\n---\n> [!important] Why\n> Because.\n',
    }


def test_every_page_type_is_built_and_linked(site, cli):
    root = site(full_site())
    code, out, err = cli("build", root)
    assert code == 0, err
    pub = root / "public"
    home = (pub / "index.html").read_text()
    assert "Test Notes" in home
    # counts derived from content: 3 notes, 2 written, 1 planned, 1 module, 1 part
    assert re.search(r"<dt>Notes written</dt><dd>2</dd>", home)
    assert re.search(r"<dt>Notes planned</dt><dd>1</dd>", home)
    assert "Module 01" in home and "Requires <code>SOME_API_KEY</code>" in home
    assert "Start journey" in home and "First Essay" in home and "min read" in home
    for rel in ["parts/foundations/index.html", "modules/01-algebra/index.html", "notes/vectors/index.html",
                "notes/maps/index.html", "journal/first-essay/index.html", "journal/index.html",
                "essays/index.html", "series/index.html", "series/path/index.html", "about/index.html",
                "tags/index.html", "tags/linear-algebra/index.html", "404.html", "sitemap.xml", "feed.xml",
                "robots.txt"]:
        assert (pub / rel).is_file(), rel
    # stylesheets are separate files with content-hashed names; math pages also link KaTeX's
    note_page = (pub / "notes/vectors/index.html").read_text()
    sheets = re.findall(r'<link rel="stylesheet" href="/(assets/[^"]+\.css)">', note_page)
    assert any(s.startswith("assets/site.") for s in sheets), sheets
    for rel in sheets:
        assert (pub / rel).is_file(), rel
    assert not (pub / "notes/later").exists()  # planned: listed, no page
    module = (pub / "modules/01-algebra/index.html").read_text()
    assert module.index("Vectors") < module.index("Maps") < module.index("Later")
    assert 'class="note-item planned"' in module and "About Later." in module
    vectors = (pub / "notes/vectors/index.html").read_text()
    assert 'href="/parts/foundations/"' in vectors and "Module 01 · Algebra" in vectors  # breadcrumb
    assert "Referenced by" in vectors and 'href="/notes/maps/"' in vectors  # backlink from maps
    assert "Part 2 of 2 in the series" in vectors
    assert "On this page" in vectors and 'href="#definition"' in vectors
    assert "Next note" in vectors
    maps = (pub / "notes/maps/index.html").read_text()
    assert "Before this" in maps and "Previous note" in maps
    journal = (pub / "journal/index.html").read_text()
    # the dated stream holds what can be read; the planned essay is under "Coming", without its date
    assert ">2024<" in journal and ">2025<" not in journal and "2025-02-03" not in journal
    assert journal.index("First Essay") < journal.index(">Coming<") < journal.index("Second")
    assert "planned" in journal.split(">Coming<")[1]
    feed = (pub / "feed.xml").read_text()
    assert "First Essay" in feed and "Second" not in feed
    assert "https://example.org/notes/vectors/" in (pub / "sitemap.xml").read_text()


def test_math_is_rendered_at_build_time(site, cli):
    root = site(full_site())
    assert cli("build", root)[0] == 0
    html = (root / "public/notes/vectors/index.html").read_text()
    prose = re.sub(r"<pre.*?</pre>|<annotation.*?</annotation>", "", html, flags=re.S)
    assert "$" not in prose
    assert '<span class=katex>' in html and "<math>" in html  # HTML for eyes, MathML for screen readers
    assert 'id="eq-norm"' in html and "(1)" in html
    assert '<a class="eqref" href="#eq-norm" data-preview-eq="eq-norm">(1)</a>' in html
    # the number is beside the equation, not in KaTeX's output (where a wide equation runs under it)
    assert re.search(r'<div class="math-display numbered" id="eq-norm"><div class="eq-body">.*?</div>'
                     r'<a class="eq-num" href="#eq-norm" tabindex="-1">\(1\)</a></div>', html, flags=re.S)
    assert "\\tag" not in html and "class=tag" not in html
    assert '<a class="header-anchor" href="#definition" aria-label="Link to section “Definition”">#</a></h2>' in html
    maps = (root / "public/notes/maps/index.html").read_text()
    assert 'href="/notes/vectors/#eq-norm"' in maps  # cross-note equation reference
    assert 'href="/notes/maps/#composition"' in html


def test_callouts_footnotes_tables(site, cli):
    root = site(full_site())
    assert cli("build", root)[0] == 0
    html = (root / "public/notes/vectors/index.html").read_text()
    assert 'class="callout callout-warning"' in html and "Careful" in html
    assert '<details class="callout callout-tip">' in html and "<summary" in html
    assert "<table>" in html and 'class="footnote-ref"' in html
    about = (root / "public/about/index.html").read_text()
    assert "callout-important" in about


def test_image_alone_in_paragraph_is_a_figure_with_caption(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", '![A red dot](dot.svg "The dot, enlarged")\n\nInline ![x](dot.svg) here.\n'),
                 f"{MODULE}/dot.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'})
    code, out, err = cli("build", root)
    assert code == 0, err
    html = (root / "public/notes/a/index.html").read_text()
    assert re.search(r'<figure class="figure"><img src="/assets/content/curriculum/1-foundations/01-algebra/dot.svg" '
                     r'alt="A red dot"[^>]*><figcaption>The dot, enlarged</figcaption></figure>', html)
    assert "<p>Inline <img" in html
    assert (root / "public/assets/content/curriculum/1-foundations/01-algebra/dot.svg").is_file()


def test_broken_note_link_fails_with_location(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "Intro.\n\nSee [b](note:missing-note).\n")})
    code, out, err = cli("build", root)
    assert code == 1
    assert re.search(r"content/curriculum/1-foundations/01-algebra/01-a\.md:7:\d+: error: link to 'missing-note'", err)
    assert "Traceback" not in err


def test_links_to_modules_parts_and_series_by_id_or_by_their_file(site, cli):
    files = full_site()
    files[f"{MODULE}/02-maps.md"] = note("Maps", """
        ## Composition

        The [module](note:algebra), its [part](note:foundations) and a [path](note:path).
        By file: [](_index.md) and [the part](../_index.md).
        """)
    files["content/journal/first-essay.md"] = ('---\ntitle: "First Essay"\ndate: 2024-05-01\nsummary: "An essay."\n---\n'
                                               "Start with [](../curriculum/1-foundations/01-algebra/_index.md).\n")
    root = site(files)
    code, out, err = cli("build", root, "--no-search")
    assert code == 0, err
    maps = (root / "public/notes/maps/index.html").read_text()
    body = maps[maps.index("<article"):]
    assert re.search(r'<a href="/modules/01-algebra/"[^>]*>module</a>', body)
    assert re.search(r'<a href="/parts/foundations/"[^>]*>part</a>', body)
    assert re.search(r'<a href="/series/path/"[^>]*>path</a>', body)
    assert re.search(r'<a href="/modules/01-algebra/"[^>]*>Module 01: Algebra</a>', body)
    assert re.search(r'<a href="/parts/foundations/"[^>]*>the part</a>', body)
    assert 'data-preview-summary="Vectors and maps."' in body
    essay = (root / "public/journal/first-essay/index.html").read_text()
    assert re.search(r'<a href="/modules/01-algebra/"[^>]*>Module 01: Algebra</a>', essay)
    for url in ("modules/01-algebra", "parts/foundations", "series/path"):
        assert (root / "public" / url / "index.html").is_file()


def test_link_to_a_missing_module_file_fails_with_location(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "Intro.\n\nSee [m](../02-other/_index.md).\n")})
    code, out, err = cli("build", root)
    assert code == 1
    assert re.search(r"01-algebra/01-a\.md:7:\d+: error: link to '\.\./02-other/_index\.md' but no note", err)


def test_bad_tex_fails_with_line_column_and_source(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "Fine $x$.\n\nBroken $\\frac{a}{$ here.\n")})
    code, out, err = cli("build", root)
    assert code == 1
    m = re.search(r"01-a\.md:(\d+):(\d+): error: TeX error: (.*)", err)
    assert m, err
    assert m.group(1) == "7"
    assert "\\frac{a}{" in m.group(3)


def test_invalid_front_matter_names_line_and_field(site, cli):
    root = site({f"{MODULE}/01-a.md": '---\ntitle: "A"\nsummary: "s"\nprerequisites: 5\n---\nBody\n'})
    code, out, err = cli("build", root)
    assert code == 1
    assert "01-a.md:4:1: error: front matter field 'prerequisites' must be a list of strings" in err


def test_failed_build_keeps_previous_output(site, cli):
    root = site(full_site())
    assert cli("build", root)[0] == 0
    before = (root / "public/notes/vectors/index.html").read_text()
    bad = root / MODULE / "02-maps.md"
    bad.write_text(bad.read_text() + "\n$\\undefinedmacro$\n")
    assert cli("build", root)[0] == 1
    assert (root / "public/notes/vectors/index.html").read_text() == before
    assert not list(root.glob(".public.*")), "temporary folders are cleaned up"


def test_refuses_dangerous_output_folders(site, cli):
    root = site(full_site())
    code, _, err = cli("build", root, "-o", root / "content")
    assert code == 2 and "content folder" in err
    other = root / "precious"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    code, _, err = cli("build", root, "-o", other)
    assert code == 2 and "not created by neuralpath" in err
    assert (other / "keep.txt").read_text() == "mine"


def test_drafts_only_with_flag(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "x"), f"{MODULE}/02-d.md": note("D", "draft body", status="draft")})
    assert cli("build", root)[0] == 0
    assert not (root / "public/notes/d").exists()
    assert cli("build", root, "--drafts")[0] == 0
    assert (root / "public/notes/d/index.html").is_file()


def test_plain_folder_of_markdown(tmp_path, cli):
    folder = tmp_path / "my-notes"
    (folder / "topic").mkdir(parents=True)
    (folder / "first.md").write_text("# First Heading\n\nText with $a+b$.\n")
    (folder / "topic" / "second.md").write_text("No heading here.\n")
    code, out, err = cli("build", folder, "-o", tmp_path / "out")
    assert code == 0, err
    first = (tmp_path / "out/notes/first/index.html").read_text()
    assert "<h1>First Heading</h1>" in first and first.count("<h1") == 1  # the heading is the title, once
    assert "Second" in (tmp_path / "out/notes/topic-second/index.html").read_text()  # the id follows the path
    home = (tmp_path / "out/index.html").read_text()
    assert "Topic" in home and "My Notes" in home


def test_plain_folders_with_same_named_files_and_landing_pages(tmp_path, cli):
    from conftest import write_site
    root = write_site(tmp_path / "course", {
        "README.md": "# My course\n\nStart here.\n",
        "2023/index.md": "---\nlayout: home\n---\n# Lectures of 2023\n\nThe first year.\n",
        "2023/lecture1.md": "# Lecture 1 (2023)\n\nSee [next year's](../2024/lecture1.md).\n",
        "2024/lecture1.md": "# Lecture 1 (2024)\n\nNew.\n",
        "2024/README.md": "# Lectures of 2024\n\nThe second year.\n",
    }, toml=None)
    code, out, err = cli("build", root, "--no-search", "-q")
    assert code == 0, err
    pub = root / "public"
    assert sorted(p.name for p in (pub / "notes").iterdir()) == ["2023-lecture1", "2024-lecture1"]
    old = (pub / "notes/2023-lecture1/index.html").read_text()
    assert 'href="/notes/2024-lecture1/"' in old
    module = (pub / "modules/01-2023/index.html").read_text()
    assert "<h1>Lectures of 2023</h1>" in module and "The first year." in module and module.count("<h1") == 1
    assert "The second year." in (pub / "modules/02-2024/index.html").read_text()
    assert "Start here." in (pub / "parts/notes/index.html").read_text()  # the top folder's page
    assert not (pub / "notes/index").exists() and not (pub / "notes/readme").exists()


def test_new_never_overwrites(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "x")})
    code, out, _ = cli("new", "note", "Fresh Idea", "--site", root)
    assert code == 0
    created = root / MODULE / "02-fresh-idea.md"
    assert created.is_file() and 'title: "Fresh Idea"' in created.read_text()
    created.write_text("my edits")
    code, _, err = cli("new", "note", "Fresh Idea", "--site", root)
    assert code == 2 and "the id 'fresh-idea' exists already" in err  # a second note with that id: refused
    assert created.read_text() == "my edits" and not (root / MODULE / "03-fresh-idea.md").exists()
    code, _, err = cli("new", "article", "An Essay", "--site", root)
    assert code == 0
    code, _, err = cli("new", "article", "An Essay", "--site", root)
    assert code == 2 and "already exists" in err


def test_usage_errors_exit_2(cli, tmp_path):
    assert cli("build", "--no-such-flag")[0] == 2
    assert cli("frobnicate")[0] == 2
    code, _, err = cli("build", tmp_path / "no-such-site")
    assert code == 2 and "no-such-site: no such folder" in err and not (tmp_path / "no-such-site").exists()


def test_help_on_every_command(cli):
    for cmd in ("build", "check", "serve", "new"):
        assert cli(cmd, "--help")[0] == 0


def test_raw_script_is_removed(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", 'Hi <span onclick="x()">there</span>\n\n<script>alert(1)</script>\n')})
    code, out, err = cli("build", root)
    assert code == 0
    html = (root / "public/notes/a/index.html").read_text()
    assert "alert(1)" not in html and "onclick" not in html
    assert "raw HTML with a script" in err


def test_cli_subprocess_has_no_traceback(site):
    root = site({f"{MODULE}/01-a.md": "---\ntitle: [unclosed\n---\n"})
    proc = subprocess.run([sys.executable, "-m", "neuralpath", "build", str(root)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "01-a.md:2:" in proc.stderr and "invalid front matter" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_display_math_right_after_a_paragraph_renders_once(site, cli):
    body = "Text before\n$$\na = b \\label{eq:one}\n$$\nText between\n$$\nc = d \\label{eq:two}\n$$\nSee \\eqref{eq:two}.\n"
    root = site({f"{MODULE}/01-a.md": note("A", body)})
    assert cli("build", root)[0] == 0
    html = (root / "public/notes/a/index.html").read_text()
    assert html.count('class="math-display numbered"') == 2
    assert html.count('id="eq-one"') == 1 and html.count('id="eq-two"') == 1
    assert '<a class="eqref" href="#eq-two" data-preview-eq="eq-two">(2)</a>' in html


def test_duplicate_equation_label_is_reported(site, cli):
    body = "$$\na \\label{eq:x}\n$$\n\n$$\nb \\label{eq:x}\n$$\n"
    root = site({f"{MODULE}/01-a.md": note("A", body)})
    code, out, err = cli("build", root)
    assert code == 1
    assert "01-a.md:9:1: error: \\label{eq:x} is already used at line 5" in err


def test_unchanged_rebuild_repeats_warnings_and_keeps_files(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "![](pic.png)\n"), f"{MODULE}/pic.png": "png"})
    code, _, first = cli("build", root)
    assert code == 0 and "image-alt" in first
    page = root / "public/notes/a/index.html"
    inode = page.stat().st_ino
    code, _, second = cli("build", root)
    assert code == 0 and "image-alt" in second  # nothing changed, but the author still sees the warning
    assert page.stat().st_ino == inode


def test_page_edited_by_hand_in_the_output_is_restored(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "Alpha body."), f"{MODULE}/02-b.md": note("B", "Beta body.")})
    assert cli("build", root)[0] == 0
    page = root / "public/notes/a/index.html"
    good = page.read_text()
    page.write_text("vandalised")
    assert cli("build", root)[0] == 0
    assert page.read_text() == good
    other = root / MODULE / "02-b.md"
    other.write_text(other.read_text().replace("Beta body", "Beta text"))  # the incremental path checks too
    page.write_text("vandalised again")
    assert cli("build", root)[0] == 0
    assert page.read_text() == good


def test_search_records_hold_text_and_tex_but_no_katex_markup(site):
    from neuralpath.build import BuildOptions, build
    from neuralpath.cache import BuildCache
    from neuralpath.layout.pages import jinja_env
    from neuralpath.render import Bodies
    from neuralpath.search import search_records
    root = site({f"{MODULE}/01-a.md": note("Vectors", "Eigenvalues $\\lambda_1 \\ge \\lambda_2$ decide it.\n\n"
                                            "$$\nA v = \\lambda v \\label{eq:ev}\n$$\n\n## Spectral view\n\n"
                                            "A **bold** claim, a [source](https://example.org/) and `code`.\n\n"
                                            "> [!theorem] Rayleigh {#thm:rayleigh}\n> The quotient $\\KL$ is bounded.\n"),
                 f"{MODULE}/02-b.md": note("Marked", "Kept *as* written.\n\n"
                                           '<div data-pagefind-ignore class="aside">Left <span>out</span></div>\n')})
    cache = BuildCache()
    result = build(root, BuildOptions(search=False, cache=cache))
    page = (root / "public/notes/a/index.html").read_text()
    assert '<span class=katex>' in page
    docs = [d for d in result.site.docs.values() if d.has_page]
    bodies = Bodies(cache)
    bodies.keys = {d.id: "x" for d in docs}
    records = {url: (html, words) for url, html, words in search_records(result.site, docs, bodies, jinja_env())}
    html, words = records["/notes/a/"]
    assert "Eigenvalues" in html and "decide it" in html
    assert "katex" not in html and "data-pagefind-body" in html and 'data-pagefind-filter="type">note' in html
    # math as its TeX source (labels left out), site macros without arguments written out
    assert "\\(\\lambda_1 \\ge \\lambda_2\\)" in html and "\\[A v = \\lambda v\\]" in html, html
    assert "\\(D_{\\mathrm{KL}}\\)" in html
    assert {"eigenvalues", "lambda", "mathrm", "kl", "spectral"} <= words and "katex" not in words
    # text and block structure only: the heading keeps its id (sub-results link to it) but not the "#"
    # anchor, which would show in the sub-result's title; inline tags and attributes go
    body = html.split("<main data-pagefind-body>", 1)[1]
    assert '<h2 id="spectral-view">Spectral view</h2>' in body, body
    assert "A bold claim, a source and code." in body
    assert "class=" not in body and "header-anchor" not in body
    # the theorem is a record of its own, typed, titled by its heading and linked to its anchor
    thm, thm_words = records["/notes/a/thm-rayleigh/"]
    assert 'data-pagefind-filter="type">theorem' in thm and 'data-pagefind-meta="target">/notes/a/#thm-rayleigh' in thm
    assert 'data-pagefind-meta="title">Theorem\u00a01 (Rayleigh)</p>' in thm and "is bounded" in thm
    assert "Spectral view" not in thm and "rayleigh" in thm_words
    # a body with the author's own Pagefind marks keeps its markup (a mark must keep its closing tag)
    marked = records["/notes/b/"][0].split("<main data-pagefind-body>", 1)[1]
    assert "Kept <em>as</em> written." in marked
    assert '<div data-pagefind-ignore class="aside">Left <span>out</span></div>' in marked


def test_one_note_changed_goes_to_a_delta_bundle_and_many_consolidate(site, cli, monkeypatch):
    import json

    import neuralpath.search as search
    root = site({f"{MODULE}/01-a.md": note("A", "Alpha body."), f"{MODULE}/02-b.md": note("B", "Beta body."),
                 f"{MODULE}/03-c.md": note("C", "Gamma body.")})
    assert cli("build", root)[0] == 0
    out = root / "public"
    entry = out / "pagefind/pagefind-entry.json"
    first = entry.stat().st_ino
    assert json.loads((out / "search/bundles.json").read_text()) == {"bundles": ["/pagefind/"], "delta": None,
                                                                     "superseded": []}
    words = json.loads((out / "pagefind/np-words.json").read_text())
    assert "alpha" in words["words"] and words["stems"]["body"] == "bodi"  # Snowball, as Pagefind stems
    b = root / MODULE / "02-b.md"
    b.write_text(b.read_text().replace("Beta body", "Beta bodies"))
    assert cli("build", root)[0] == 0
    assert entry.stat().st_ino == first  # the base is kept as it was
    bundles = json.loads((out / "search/bundles.json").read_text())
    assert bundles == {"bundles": ["/pagefind/"], "delta": "/pagefind-delta/", "superseded": ["/notes/b/"]}
    delta_words = json.loads((out / "pagefind-delta/np-words.json").read_text())
    assert delta_words["stems"]["bodies"] == "bodi" and "alpha" not in delta_words["words"]
    assert not (out / "pagefind-delta/pagefind.js").exists()  # the base bundle's script searches it
    (root / MODULE / "03-c.md").unlink()  # a deleted note is superseded too, with nothing to replace it
    assert cli("build", root)[0] == 0
    bundles = json.loads((out / "search/bundles.json").read_text())
    assert bundles["superseded"] == ["/notes/b/", "/notes/c/"] and bundles["delta"] == "/pagefind-delta/"
    assert entry.stat().st_ino == first
    # more changes than a delta takes: the base is indexed again and the delta goes
    monkeypatch.setattr(search, "DELTA_MAX", 1)
    a = root / MODULE / "01-a.md"
    a.write_text(a.read_text().replace("Alpha body", "Alpha text"))
    assert cli("build", root)[0] == 0
    assert entry.stat().st_ino != first and not (out / "pagefind-delta").exists()
    assert json.loads((out / "search/bundles.json").read_text())["superseded"] == []
    (out / "index.html").touch()  # nothing a record depends on changes: nothing is indexed
    second = entry.stat().st_ino
    assert cli("build", root)[0] == 0
    assert entry.stat().st_ino == second
    assert cli("build", root, "--no-search")[0] == 0
    assert not (out / "pagefind").exists() and not (out / "search/bundles.json").exists()


def test_progress_is_plain_lines_off_a_terminal_and_silent_with_quiet(site, cli):
    root = site({f"{MODULE}/01-a.md": note("A", "Alpha $x$.")})
    code, _, err = cli("build", root, "--clean")
    assert code == 0 and "loaded 1 documents" in err and "rendered 1 bodies" in err
    assert "\x1b" not in err  # no terminal control codes in logs
    code, out, err = cli("build", root, "--clean", "-q")
    assert code == 0 and out == "" and err == ""


def test_a_site_built_by_worker_processes_matches_one_built_in_a_single_process(tmp_path):
    """Past 24 notes the build parses, renders math and renders bodies in forked workers; what readers
    get, and the located warnings authors get, must not depend on that."""
    files = {f"{PART}/_index.md": note("Foundations")}
    for i in range(30):
        body = f"""
            ## Part {i}

            For $x_{{{i}}} \\in \\R^{i + 1}$ the norm
            $$
            \\|x_{{{i}}}\\|^2 = \\sum_j x_{{{i}j}}^2 \\label{{eq:n}}
            $$
            gives \\eqref{{eq:n}}; the next note is [here](note:n{(i + 1) % 30}).

            ```python {{norun}}
            value = {i} ** 2
            ```

            > [!note] Remark {i}
            > A callout with $y_{{{i}}}$ and a claim.[^f{i}]

            | a | b |
            |---|---|
            | {i} | $z$ |

            Term {i}
            : its definition

            [^f{i}]: A footnote with `code`.
            """
        if i == 7:
            body += "\n$$\nx = 1\n"  # never closed: a warning with its line
        files[f"{MODULE}/{i + 1:02d}-n{i}.md"] = note(f"Note {i}", body, id=f"n{i}")
    root = write_site(tmp_path / "site", files)
    parallel = subprocess.run([sys.executable, "-m", "neuralpath", "build", str(root), "--no-search"],
                              capture_output=True, text=True, timeout=300)
    assert parallel.returncode == 0, parallel.stderr
    serial = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                             "from neuralpath.build import BuildOptions, build; "
                             "r = build(Path(sys.argv[1]), BuildOptions(search=False, jobs=1, clean=True, output=Path(sys.argv[2]))); "
                             "print(r.stats['bodies_rendered']); print(*[f.format() for f in r.report.findings], sep='\\n')",
                             str(root), str(tmp_path / "serial")], capture_output=True, text=True, timeout=300)
    assert serial.returncode == 0, serial.stderr
    assert serial.stdout.splitlines()[0] == "30"
    warning = re.search(r"08-n7\.md:\d+:\d+: warning: .*\(unclosed-math\)", parallel.stderr)
    assert warning and f"{MODULE}/{warning.group(0)}" in parallel.stderr
    assert warning.group(0) in serial.stdout
    pages = sorted(p.relative_to(root / "public") for p in (root / "public").rglob("*.html"))
    assert len(pages) > 30 and pages == sorted(p.relative_to(tmp_path / "serial") for p in (tmp_path / "serial").rglob("*.html"))
    for rel in pages:
        assert (root / "public" / rel).read_text() == (tmp_path / "serial" / rel).read_text(), rel
    page = (root / "public" / "notes" / "n3" / "index.html").read_text()
    assert "<span class=katex>" in page and 'href="/notes/n4/"' in page and "hl-" in page
    assert "callout-note" in page and "<table>" in page and "<dl>" in page and "footnote" in page


def test_a_note_read_from_the_cache_is_rendered_again_from_its_file(tmp_path):
    """A later build takes an unchanged file's front matter from the cache and reads its body only when
    it must render it again, here because the title of the note it links to changed."""
    root = write_site(tmp_path / "site", {
        f"{MODULE}/01-a.md": note("Alpha", "Alpha body links to [the next note](note:b) and shows $a^2$.\n", id="a"),
        f"{MODULE}/02-b.md": note("Beta", "Beta body.\n", id="b"),
    })
    cmd = [sys.executable, "-m", "neuralpath", "build", str(root), "--no-search", "-q"]
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    b = root / MODULE / "02-b.md"
    b.write_text(b.read_text().replace('title: "Beta"', 'title: "Beta, renamed"'))
    second = subprocess.run(cmd, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    page = (root / "public/notes/a/index.html").read_text()
    assert "Alpha body links to" in page and "<span class=katex>" in page
    assert 'class="xref" data-preview-title="Beta, renamed"' in page  # the body's link, rendered again


def test_an_edited_site_stylesheet_reaches_the_next_build_in_the_same_process(site, monkeypatch, tmp_path):
    """The dev server builds many times in one process: an edit to site.css must reach the build that
    the next saved note starts, even though the build cache keeps the stylesheet."""
    import shutil

    import neuralpath.layout.assets as build_module
    from neuralpath.build import BuildOptions, build

    static = tmp_path / "static"
    shutil.copytree(build_module.STATIC, static)
    monkeypatch.setattr(build_module, "STATIC", static)
    root = site({f"{MODULE}/01-a.md": note("A", "Text.\n")})
    build(root, BuildOptions(search=False))
    with open(static / "site.css", "a", encoding="utf-8") as f:
        f.write("\n.edited-in-this-test { color: red; }\n")
    with open(root / MODULE / "01-a.md", "a", encoding="utf-8") as f:
        f.write("More text.\n")
    build(root, BuildOptions(search=False))
    css = [p.read_text() for p in (root / "public/assets").glob("site.*.css")]
    assert len(css) == 1 and ".edited-in-this-test" in css[0]
