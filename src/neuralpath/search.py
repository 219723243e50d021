"""Full-text search with Pagefind, indexed from the build's own data rather than from the written pages.

Each document with a page becomes one small HTML record (`templates/search_record.html`): its title,
part and module as metadata, its type and part as filters, and its body with every KaTeX result
removed, so math markup never reaches the index and Pagefind reads a few kilobytes per page instead
of the page's full HTML. Pagefind comes from PyPI (`pagefind[extended]`, which ships the binary); without pagefind installed the site still builds and the search page says that
search is unavailable. The build skips this stage when no record changed since the last index.
"""

from __future__ import annotations

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


def build_index(records, dest: Path, report: Report, out: Path, total: int, progress=None) -> bool:
    """Write the Pagefind bundle for `records` into `dest`; returns False (after a warning) on failure.

    The records are written to a temporary folder that Pagefind's CLI indexes (its Python API sends
    every file through a JSON pipe, which measured 40x slower than the CLI reading files)."""
    with tempfile.TemporaryDirectory(prefix="neuralpath-search-") as tmp:
        src = Path(tmp)
        for url, html in records:
            page = src / url.lstrip("/") / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(html, encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "pagefind", "--site", str(src), "--output-path", str(dest),
                               "--quiet"], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0 or not (dest / "pagefind-entry.json").is_file():
        msg = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["pagefind wrote no index"]
        report.warning(out, 1, f"search index failed: {msg[0]}", rule="search")
        return False
    if progress:
        progress.line(f"search index built for {total} pages")
    return True
