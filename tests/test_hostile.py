"""Bad and hostile input: one clear located message each, healthy notes still build, nothing crashes."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import MODULE, note, write_site
from neuralpath.build import BuildOptions, build
from neuralpath.errors import BuildFailed

HEALTHY = {f"{MODULE}/01-ok.md": note("Ok", "Healthy note with $a^2$.\n")}

# (name, files, exit code, expected message regex)
CASES = [
    ("not utf-8", {f"{MODULE}/02-bad.md": b"---\ntitle: x\n---\ncaf\xe9\n"}, 1,
     r"02-bad\.md:4:4: error: file is not UTF-8: invalid byte 0xe9 at byte offset 20"),
    ("front matter list", {f"{MODULE}/02-bad.md": "---\n- a\n- b\n---\nx\n"}, 1,
     r"02-bad\.md:2:1: error: front matter must be a mapping"),
    ("front matter unclosed", {f"{MODULE}/02-bad.md": "---\ntitle: x\nbody\n"}, 1,
     r"02-bad\.md:1:1: error: front matter is not closed"),
    ("unsafe yaml tag", {f"{MODULE}/02-bad.md": "---\ntitle: !!python/object/apply:os.system ['echo hi']\n---\n"}, 1,
     r"02-bad\.md:2:\d+: error: invalid front matter: unsupported YAML tag"),
    ("alias bomb", {f"{MODULE}/02-bad.md": "---\na: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\ntitle: t\n---\n"}, 1,
     r"02-bad\.md:2:\d+: error: YAML anchors and aliases"),
    ("wrong type", {f"{MODULE}/02-bad.md": '---\ntitle: "t"\nsummary: "s"\nstatus: 3\n---\n'}, 1,
     r"02-bad\.md:4:1: error: front matter field 'status' must be a string"),
    ("bad status", {f"{MODULE}/02-bad.md": '---\ntitle: "t"\nsummary: "s"\nstatus: done\n---\n'}, 1,
     r"02-bad\.md:4:1: error: status must be one of published, draft, planned"),
    ("unknown field", {f"{MODULE}/02-bad.md": '---\ntitle: "t"\nsummary: "s"\nprerequisite: []\n---\n'}, 0,
     r"02-bad\.md:4:1: warning: unknown front matter field 'prerequisite' for a note; did you mean 'prerequisites'\?"),
    ("missing summary", {f"{MODULE}/02-bad.md": '---\ntitle: "t"\n---\n'}, 1,
     r"02-bad\.md:1:1: error: front matter field 'summary' is required for a note"),
    ("duplicate id", {f"{MODULE}/02-ok.md": note("Ok again", "x")}, 1,
     r"02-ok\.md:1:1: error: duplicate id 'ok': also used by content/curriculum/1-foundations/01-algebra/01-ok\.md"),
    ("unicode collision", {f"{MODULE}/02-caf\u00e9.md": note("A", "x"), f"{MODULE}/03-cafe\u0301.md": note("B", "x")}, 1,
     r"duplicate id 'cafe'"),
    ("missing prerequisite", {f"{MODULE}/02-bad.md": note("B", "x", prerequisites="[nope]")}, 1,
     r"02-bad\.md:4:1: error: prerequisite 'nope' does not exist"),
    ("prerequisite cycle", {f"{MODULE}/02-p.md": note("P", "x", prerequisites="[q]"),
                            f"{MODULE}/03-q.md": note("Q", "x", prerequisites="[p]")}, 1,
     r"error: prerequisites form a cycle: (p -> q -> p|q -> p -> q)"),
    ("missing series member", {"content/series/s.md": '---\ntitle: S\nsummary: s\nmembers: [ok, ghost]\n---\n'}, 1,
     r"series/s\.md:4:1: error: series member 'ghost' does not exist"),
    ("broken anchor", {f"{MODULE}/02-bad.md": note("B", "See [x](note:ok#nowhere).\n")}, 1,
     r"02-bad\.md:5:8: error: link to 'ok#nowhere' but 'ok' has no heading or label with id 'nowhere'"),
    ("broken eqref", {f"{MODULE}/02-bad.md": note("B", "As \\eqref{eq:none} says.\n")}, 1,
     r"02-bad\.md:5:1: error: unknown label 'eq:none': no equation, theorem-like block or figure has it"),
    ("unbalanced tex", {f"{MODULE}/02-bad.md": note("B", "Line\n$$\n\\left( x\n$$\n")}, 1,
     r"02-bad\.md:\d+:\d+: error: TeX error: .*\\left\( x"),
    ("macro bomb", {f"{MODULE}/02-bad.md": note("B", "$\\def\\a{\\a\\a}\\a$\n")}, 1,
     r"02-bad\.md:5:\d+: error: TeX error: Too many expansions"),
    ("unclosed display math", {f"{MODULE}/02-bad.md": note("B", "Text\n\n$$\nx = 1\n\nmore\n")}, 0,
     r"02-bad\.md:7:1: warning: '\$\$' is not closed"),
    ("unterminated fence", {f"{MODULE}/02-bad.md": note("B", "Text\n\n```text\nx\n")}, 0,
     r"02-bad\.md:7:1: warning: code fence ``` opened here is never closed"),
    ("unclosed comment", {f"{MODULE}/02-bad.md": note("B", "Text\n\n<!-- hidden\n\nrest\n")}, 0,
     r"02-bad\.md:7:1: warning: HTML comment opened here is never closed"),
    ("image outside content", {f"{MODULE}/02-bad.md": note("B", "![pw](../../../../etc/passwd)\n")}, 1,
     r"02-bad\.md:5:1: error: image path '\.\./\.\./\.\./\.\./etc/passwd' points outside the content folder"),
    ("absolute image", {f"{MODULE}/02-bad.md": note("B", "![pw](/etc/passwd)\n")}, 1,
     r"02-bad\.md:5:1: error: image path '/etc/passwd' must be relative"),
    ("image without alt", {f"{MODULE}/02-bad.md": note("B", "![](pic.png)\n"), f"{MODULE}/pic.png": b"\x89PNG"}, 0,
     r"02-bad\.md:5:1: warning: image 'pic\.png' has no alt text"),
    ("unknown callout", {f"{MODULE}/02-bad.md": note("B", "> [!danger] X\n> y\n")}, 0,
     r"02-bad\.md:5:1: warning: unknown callout type '\[!danger\]'"),
    ("bad toml", {}, 1, r"neuralpath\.toml:1:\d+: error: invalid TOML"),
]


@pytest.mark.parametrize("name,files,code,pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fixture(name, files, code, pattern, tmp_path, cli):
    toml = "[site\n" if name == "bad toml" else None
    root = write_site(tmp_path / "site", {**HEALTHY, **files}, **({"toml": toml} if toml else {}))
    got, out, err = cli("build", root, "--no-execute")
    assert got == code, err
    assert re.search(pattern, err), err
    assert "Traceback" not in err
    if code == 0:
        assert (root / "public/notes/ok/index.html").is_file()  # the healthy note beside it still builds


def test_check_json_reports_same_findings(site, cli):
    root = site({**HEALTHY, f"{MODULE}/02-bad.md": note("B", "See [x](note:ghost).\n")})
    code, out, err = cli("check", root, "--format", "json")
    assert code == 1
    data = json.loads(out)
    f = data["findings"][0]
    assert f["path"].endswith("02-bad.md") and f["line"] == 5 and f["severity"] == "error"
    assert f["rule"] == "broken-link" and data["errors"] == 1
    assert not (root / "public").exists()  # check writes nothing


def test_check_strict_fails_on_warnings(site, cli):
    root = site({**HEALTHY, f"{MODULE}/02-w.md": note("W", "![](a.png)\n"), f"{MODULE}/a.png": b"x"})
    assert cli("check", root)[0] == 0
    assert cli("check", root, "--strict")[0] == 1


def test_bom_and_crlf_give_same_output(tmp_path, cli):
    body = note("Same", "## Head\n\nText $x$ here.\n\n```python {norun}\nx = 1\n```\n")
    a = write_site(tmp_path / "a", {f"{MODULE}/01-same.md": body})
    b = write_site(tmp_path / "b", {f"{MODULE}/01-same.md": b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode()})
    c = write_site(tmp_path / "c", {f"{MODULE}/01-same.md": body.replace("\n", "\r").encode()})
    pages = []
    for root in (a, b, c):
        assert cli("build", root)[0] == 0
        pages.append((root / "public/notes/same/index.html").read_text())
    assert pages[0] == pages[1] == pages[2]


def test_deep_nesting_and_pathological_inline(site, cli):
    body = ">" * 3000 + " deep\n\n" + "[" * 20000 + "\n\n" + "*a" * 20000 + "\n\n" + "- " * 2000 + "x\n"
    root = site({f"{MODULE}/01-deep.md": note("Deep", body)})
    code, out, err = cli("build", root)
    assert code == 0, err
    assert (root / "public/notes/deep/index.html").stat().st_size > 1000


def test_interrupted_build_keeps_previous_site(site, cli, monkeypatch):
    root = site(HEALTHY)
    assert cli("build", root)[0] == 0
    before = (root / "public/notes/ok/index.html").read_text()
    note = next(root.rglob("*ok*.md"))
    note.write_text(note.read_text() + "\nAn added sentence.\n")
    import neuralpath.write as w

    def boom(self, rel, key, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(w.Output, "put", boom)
    assert cli("build", root)[0] == 130
    assert (root / "public/notes/ok/index.html").read_text() == before
    assert [p.name for p in root.iterdir() if p.name.startswith(".public")] == []


def test_build_interrupted_while_moving_files_is_completed_by_the_next(site, cli, monkeypatch):
    root = site(HEALTHY)
    assert cli("build", root)[0] == 0
    note = next(root.rglob("*ok*.md"))
    note.write_text(note.read_text() + "\nAn added sentence.\n")
    import neuralpath.write as w
    real = w.recover
    calls = []

    def interrupted(out):
        calls.append(out)
        if (out.parent / f".{out.name}.commit").exists():
            raise KeyboardInterrupt  # after the journal is complete, before any file moved
        return real(out)

    monkeypatch.setattr(w, "recover", interrupted)
    assert cli("build", root)[0] == 130
    assert "An added sentence" not in (root / "public/notes/ok/index.html").read_text()
    assert (root / ".public.commit").is_dir()
    monkeypatch.setattr(w, "recover", real)
    import neuralpath.build as b
    monkeypatch.setattr(b, "recover", real)
    code, _, err = cli("check", root)  # any later command that writes nothing leaves it alone
    assert code == 0, err
    assert cli("build", root)[0] == 0
    assert "An added sentence" in (root / "public/notes/ok/index.html").read_text()
    assert [p.name for p in root.iterdir() if p.name.startswith(".public")] == []


# -- property test: random content either builds or fails with located findings ------------------

def tokens(pieces, max_size):
    return st.lists(st.sampled_from(pieces), max_size=max_size).map("".join)


TEX = tokens(list("x^_{}\\()[]+-=|&$ ab12") + ["\\frac", "\\left", "\\right", "\\def", "\\sum", "\\label{eq:a}"], 40)
MD = tokens(list("#*_`[]()!<>-|$\\:{}\n ab1") + ["```", "$$", "> [!note] ", "<!--", "(note:x)", "\\eqref{eq:a}",
                                                   "<script>", " onclick=", "![a](", "[^1]", "\n\n"], 150)
YAMLISH = tokens(list("abc:-[]{}'\"&*!\n 1") + ["title: ", "summary: ", "status: ", "prerequisites: ", "\n"], 40)


@settings(max_examples=60, deadline=20000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(front=YAMLISH, body=MD, tex=TEX)
def test_random_content_never_crashes(tmp_path_factory, front, body, tex):
    root = tmp_path_factory.mktemp("prop")
    write_site(root, {f"{MODULE}/01-r.md": "---\n" + front + "\n---\n" + body + f"\n\n${tex}$\n\n$$\n{tex}\n$$\n"})
    try:
        build(root, BuildOptions(write=False, execute=False))
    except BuildFailed as e:
        assert e.report.errors
        for f in e.report.findings:
            assert f.path and f.line >= 1 and f.col >= 1 and f.message


def test_file_and_javascript_urls_never_reach_the_page(site, cli):
    root = site({f"{MODULE}/01-x.md": note("X", "![pw](file:///etc/passwd) [a](javascript:alert(1)) [b](file:///etc/passwd)\n")})
    assert cli("build", root)[0] == 0
    html = (root / "public/notes/x/index.html").read_text()
    assert 'src="file:' not in html and 'href="file:' not in html and 'href="javascript:' not in html


def _fake_pagefind(tmp_path, body: str):
    script = tmp_path / "fake-pagefind"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return (str(script),)


def test_failing_search_indexer_is_a_warning_and_the_site_is_still_written(site, cli, monkeypatch, tmp_path):
    pytest.importorskip("pagefind")
    import neuralpath.search as search
    monkeypatch.setattr(search, "pagefind_command",
                        lambda: _fake_pagefind(tmp_path, "echo 'Error: could not read the records' >&2\nexit 3\n"))
    root = site(HEALTHY)
    code, out, err = cli("build", root)
    assert code == 0, err
    assert "search index failed: Error: could not read the records" in out + err
    assert (root / "public/notes/ok/index.html").is_file()
    assert [p.name for p in root.iterdir() if p.name.startswith(".public")] == []


def test_interrupted_build_stops_the_search_indexer(site, cli, monkeypatch, tmp_path):
    pytest.importorskip("pagefind")
    import os
    import time
    import neuralpath.search as search
    import neuralpath.write as w
    pid_file = tmp_path / "pagefind.pid"
    monkeypatch.setattr(search, "pagefind_command",
                        lambda: _fake_pagefind(tmp_path, f"echo $$ > {pid_file}\nexec sleep 60\n"))

    def interrupted(self, *args):
        for _ in range(500):  # the indexer runs while the pages are built: interrupt once it has started
            if pid_file.is_file() and pid_file.read_text().strip():
                break
            time.sleep(0.01)
        raise KeyboardInterrupt

    monkeypatch.setattr(w.Output, "stage", interrupted)
    root = site(HEALTHY)
    started = time.monotonic()
    assert cli("build", root)[0] == 130
    assert time.monotonic() - started < 30  # did not wait for the indexer
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped
    assert not (root / "public").exists()
    assert [p.name for p in root.iterdir() if p.name.startswith(".public")] == []


@pytest.mark.parametrize("name,files,code,pattern", CASES, ids=[c[0] for c in CASES])
def test_check_reports_what_build_reports(name, files, code, pattern, tmp_path, cli):
    """`check` is `build` without the writing: the same findings and exit code for every hostile input."""
    toml = "[site\n" if name == "bad toml" else None
    root = write_site(tmp_path / "site", {**HEALTHY, **files}, **({"toml": toml} if toml else {}))
    built, _, build_err = cli("build", root, "--no-execute", "--no-search", "-o", tmp_path / "out")
    checked, check_out, _ = cli("check", root, "--no-execute")
    assert checked == built
    findings = lambda text: sorted(l for l in text.splitlines() if re.search(r":\d+:\d+: (error|warning|info):", l))
    assert findings(check_out) == findings(build_err)
