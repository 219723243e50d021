"""Incremental builds are never stale: each defect of the incremental-builds issue, as a reader of the
output folder would meet it. (The property test in test_incremental_property.py tries random sequences.)"""

from __future__ import annotations

import pytest

from conftest import MODULE, note
from neuralpath.build import BuildOptions, build
from neuralpath.errors import BuildFailed
from neuralpath.serve import DevServer

OTHER = "content/curriculum/1-foundations/02-geometry"


def page(root, note_id, out="public"):
    return (root / out / "notes" / note_id / "index.html").read_text()


@pytest.fixture
def small(site):
    return site({
        f"{MODULE}/01-a.md": note("Alpha", "Alpha first text.\n"),
        f"{MODULE}/02-b.md": note("Beta", "Beta text links to [alpha](note:a).\n"),
    })


def edit(root, old, new, rel=f"{MODULE}/01-a.md"):
    p = root / rel
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new))


def test_check_after_an_edit_does_not_hide_it_from_the_next_build(small, cli):
    root = small
    assert cli("build", root, "--no-search", "-q")[0] == 0
    edit(root, "Alpha first text", "Alpha second text")
    assert cli("check", root, "-q")[0] == 0  # -q is accepted by check as by build
    assert cli("build", root, "--no-search", "-q")[0] == 0
    assert "Alpha second text" in page(root, "a")


def test_a_dev_server_rebuild_does_not_hide_an_edit_from_the_next_build(small):
    root = small
    build(root, BuildOptions(search=False))
    edit(root, "Alpha first text", "Alpha served text")
    assert DevServer(root, quiet=True).rebuild()
    build(root, BuildOptions(search=False))
    assert "Alpha served text" in page(root, "a")


def test_a_failed_build_then_fixed_publishes_every_edit(small):
    root = small
    build(root, BuildOptions(search=False))
    edit(root, "Alpha first text", "Alpha edited while Beta is broken")
    edit(root, "Beta text", "Beta $\\frac{1}{$ text", rel=f"{MODULE}/02-b.md")
    with pytest.raises(BuildFailed):
        build(root, BuildOptions(search=False))
    assert "Alpha first text" in page(root, "a")  # the failed build left the site as it was
    edit(root, "Beta $\\frac{1}{$ text", "Beta text", rel=f"{MODULE}/02-b.md")
    build(root, BuildOptions(search=False))
    assert "Alpha edited while Beta is broken" in page(root, "a")


def test_a_build_into_another_folder_does_not_hide_an_edit_from_the_first(small):
    root = small
    build(root, BuildOptions(search=False))
    edit(root, "Alpha first text", "Alpha for elsewhere")
    build(root, BuildOptions(search=False, output=root / "elsewhere"))
    assert "Alpha for elsewhere" in page(root, "a", "elsewhere")
    build(root, BuildOptions(search=False))
    assert "Alpha for elsewhere" in page(root, "a")


def test_an_interrupted_build_leaves_nothing_stale(small):
    class Stop:
        def line(self, msg):
            if msg.startswith("rendered"):
                raise KeyboardInterrupt

        def task(self, name, total):
            return self

        def advance(self, n=1):
            pass

        def done(self):
            pass

    root = small
    build(root, BuildOptions(search=False))
    edit(root, "Alpha first text", "Alpha after an interruption")
    with pytest.raises(KeyboardInterrupt):
        build(root, BuildOptions(search=False, progress=Stop()))
    assert "Alpha first text" in page(root, "a")
    build(root, BuildOptions(search=False))
    assert "Alpha after an interruption" in page(root, "a")


def test_an_introduction_link_to_a_missing_note_fails_the_build_with_its_line(site, cli):
    root = site({
        f"{MODULE}/_index.md": "---\ntitle: Algebra\n---\nStart with [the missing one](note:does-not-exist).\n",
        f"{MODULE}/01-a.md": note("Alpha", "Alpha.\n"),
    })
    code, _, err = cli("build", root, "--no-search", "-q")
    assert code == 1
    assert "01-algebra/_index.md:4:" in err and "'does-not-exist'" in err
    assert not (root / "public").exists()


def test_an_introduction_links_and_images_are_published_like_a_notes(site):
    root = site({
        f"{MODULE}/_index.md": "---\ntitle: Algebra\n---\nStart with [alpha](note:a).\n\n![A square](square.svg)\n",
        f"{MODULE}/square.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>',
        f"{MODULE}/01-a.md": note("Alpha", "Alpha.\n"),
    })
    build(root, BuildOptions(search=False))
    html = (root / "public/modules/01-algebra/index.html").read_text()
    assert 'href="/notes/a/"' in html and "note:a" not in html
    src = "/assets/content/curriculum/1-foundations/01-algebra/square.svg"
    assert f'src="{src}"' in html
    assert (root / "public" / src.lstrip("/")).is_file()


@pytest.mark.parametrize("front", ["---\ntitle: Algebra\nsummary: Sums.\n---\n", "---\ntitle: Algebra\n...\n",
                                   "---  \r\ntitle: 'Al: gebra'\r\n---\r\n\r\n"])
def test_an_introduction_read_after_loading_shows_its_body_as_edited(site, front):
    """A folder's `_index.md` whose front matter comes from the cache has its body read on demand and split
    off without parsing the front matter again. It is rendered again from that body when what it links to
    changes: the page must show the body as written, without the front matter, in builds and in one dev
    server, and edits of the body itself must reach the page."""
    root = site({
        f"{MODULE}/_index.md": front + "First introduction, see [alpha](note:a).\n",
        f"{MODULE}/01-a.md": note("Alpha", "Alpha.\n"),
    })
    module = root / "public/modules/01-algebra/index.html"

    def shown() -> str:
        html = module.read_text()
        return html[html.index("First introduction") - 200:] if "First introduction" in html else html

    from neuralpath.content import frontmatter

    build(root, BuildOptions(search=False))
    assert "First introduction" in module.read_text()
    edit(root, 'title: "Alpha"', 'title: "Alpha prime"')  # the introduction's link changes: rendered again
    frontmatter._SOURCES.clear()  # as a new process: the unchanged _index.md comes from the build cache
    build(root, BuildOptions(search=False))
    intro = shown()
    assert "First introduction" in intro and "Alpha prime" in intro
    assert "title:" not in intro and "---" not in intro and "..." not in intro.split("First introduction")[0][-40:]
    server = DevServer(root, quiet=True, output=root / "public")
    edit(root, 'title: "Alpha prime"', 'title: "Alpha second"')
    frontmatter._SOURCES.clear()
    assert server.rebuild(search=False)
    intro = shown()
    assert "Alpha second" in intro and "title:" not in intro
    edit(root, "First introduction", "First introduction, edited", rel=f"{MODULE}/_index.md")
    assert server.rebuild(search=False)
    assert "First introduction, edited" in module.read_text()


def test_a_label_anchor_is_the_id_the_page_has(site, cli):
    """One definition of a label's HTML id: a link to `#fig-x` reaches `\\label{fig:x}`; `#eq-x` is refused."""
    body = "A figure-like label:\n\n$$\nx = 1 \\label{fig:x}\n$$\n"
    root = site({
        f"{MODULE}/01-a.md": note("Alpha", body),
        f"{MODULE}/02-b.md": note("Beta", "See [the figure](note:a#fig-x).\n"),
    })
    assert cli("build", root, "--no-search", "-q")[0] == 0
    assert 'id="fig-x"' in page(root, "a")
    edit(root, "note:a#fig-x", "note:a#eq-x", rel=f"{MODULE}/02-b.md")
    code, _, err = cli("build", root, "--no-search", "-q")
    assert code == 1 and "02-b.md:5:" in err and "no heading or label with id 'eq-x'" in err
    assert "did you mean 'fig-x'" in err


def test_upgrading_pygments_or_markdown_it_renders_bodies_again(small, monkeypatch):
    import markdown_it
    import pygments

    root = small
    build(root, BuildOptions(search=False))
    assert build(root, BuildOptions(search=False)).stats.get("unchanged")
    monkeypatch.setattr(pygments, "__version__", pygments.__version__ + ".post-test")
    assert build(root, BuildOptions(search=False)).stats["bodies_rendered"] == 2
    monkeypatch.setattr(markdown_it, "__version__", markdown_it.__version__ + ".post-test")
    assert build(root, BuildOptions(search=False)).stats["bodies_rendered"] == 2
    assert build(root, BuildOptions(search=False)).stats["bodies_rendered"] == 0


@pytest.mark.parametrize("command", ["build", "check"])
def test_options_build_and_check_share_are_accepted_by_both(small, cli, command):
    code, out, err = cli(command, small, "-q", "--drafts", "--no-execute", "--keep-going", "--no-search",
                         "-o", small / "out")
    assert code == 0, err
    assert "usage" not in err
