"""Full-text search with Pagefind: the index is built over the staged site before it is swapped in.

Pagefind comes from PyPI (`pagefind[extended]`, which ships the binary). Only elements marked
`data-pagefind-body` are indexed; math carries `data-pagefind-ignore`. Without pagefind installed the
site still builds and the search page says that search is unavailable.
"""

from __future__ import annotations

import subprocess
import sys

from neuralpath.errors import Report


def pagefind_available() -> bool:
    try:
        import pagefind  # noqa: F401
        return True
    except ImportError:
        return False


def build_index(staging, report: Report, progress=None) -> bool:
    if not pagefind_available():
        report.info(staging.out, 1, "search index not built: install the 'search' extra (pagefind)", rule="search")
        return False
    proc = subprocess.run([sys.executable, "-m", "pagefind", "--site", str(staging.dir), "--output-subdir",
                           "pagefind", "--quiet"], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["unknown error"]
        report.warning(staging.out, 1, f"search index failed: {msg[0]}", rule="search")
        return False
    if progress:
        progress("search index built with pagefind")
    return True
