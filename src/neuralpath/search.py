"""Full-text search with Pagefind, indexed from the build's own data rather than from the written pages.

Each document with a page becomes one small HTML record (`templates/search_record.html`): its title,
part and module as metadata, its type and part as filters, and its body with every KaTeX result
removed, so math markup never reaches the index and Pagefind reads a few kilobytes per page instead
of the page's full HTML. Pagefind comes from PyPI (`pagefind[extended]`, which ships the binary); without pagefind installed the site still builds and the search page says that
search is unavailable. The build skips this stage when no record changed since the last index.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from neuralpath.errors import Report


def pagefind_available() -> bool:
    try:
        import pagefind  # noqa: F401
        return True
    except ImportError:
        return False


def search_records(site, docs, bodies, env):
    """Yields (url, html) for each searchable document; bodies are read one at a time."""
    template = env.get_template("search_record.html")
    base = site.config.base_path
    for d in docs:
        yield base + d.url, template.render(doc=d, body=bodies.search(d.id), site=site.config.site)


class IndexJob:
    """Pagefind's CLI over the records, written to a temporary folder beside the output (its Python API
    sends every file through a JSON pipe, which measured 40x slower). `start` returns as soon as
    Pagefind runs, so the build writes its pages meanwhile; `finish` waits and reports."""

    TIMEOUT = 1800

    def __init__(self, dest: Path, report: Report, out: Path, progress=None, on_success=None):
        self.dest, self.report, self.out, self.progress, self.on_success = dest, report, out, progress, on_success
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.search-", dir=out.parent))
        self.proc = None
        self.count = 0

    def start(self, records) -> None:
        for url, html in records:
            page = self.tmp / url.lstrip("/") / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(html, encoding="utf-8")
            self.count += 1
        self.proc = subprocess.Popen([sys.executable, "-m", "pagefind", "--site", str(self.tmp), "--output-path",
                                      str(self.dest), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    def finish(self) -> bool:
        try:
            out, err = self.proc.communicate(timeout=self.TIMEOUT)
        except subprocess.TimeoutExpired:
            self.cancel()
            self.report.warning(self.out, 1, f"search index failed: pagefind ran longer than {self.TIMEOUT} s",
                                rule="search")
            return False
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self.proc.returncode != 0 or not (self.dest / "pagefind-entry.json").is_file():
            msg = (err or out).strip().splitlines()[-1:] or ["pagefind wrote no index"]
            self.report.warning(self.out, 1, f"search index failed: {msg[0]}", rule="search")
            return False
        if self.progress:
            self.progress.line(f"search index built for {self.count} pages")
        if self.on_success:
            self.on_success()
        return True

    def cancel(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)
