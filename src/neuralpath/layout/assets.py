"""The site's stylesheets: site.css with Pygments' palettes, and KaTeX's, each named by a hash of its text."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from neuralpath.cache import BuildCache, digest
from neuralpath.incremental import stylesheet_stamp
from neuralpath.markdown.highlight import pygments_css
from neuralpath.markdown.katex import katex_dir

STATIC = Path(__file__).parent / "static"


def site_css() -> str:
    return _site_css((STATIC / "site.css").stat().st_mtime_ns)  # the dev server sees edits to site.css


@lru_cache(maxsize=2)
def _site_css(mtime_ns: int) -> str:
    return (STATIC / "site.css").read_text(encoding="utf-8") + "\n/* Pygments */\n" + pygments_css()


@lru_cache(maxsize=1)
def katex_css() -> str:
    """KaTeX's stylesheet, served from assets/ beside its fonts folder: only the woff2 sources are kept
    (every browser that runs this site reads woff2; the woff/ttf fallbacks only add bytes)."""
    css = (katex_dir() / "katex.min.css").read_text(encoding="utf-8")
    css = re.sub(r',url\(fonts/[^)]+\.woff\) format\("woff"\),url\(fonts/[^)]+\.ttf\) format\("truetype"\)', "", css)
    return css.replace("url(fonts/", "url(katex/fonts/")


def stylesheets(cache: BuildCache | None = None) -> dict[str, tuple[str, str]]:
    """The site's and KaTeX's stylesheets as (file name, text), each name carrying a hash of the text so
    browsers may cache them for good. The site's is kept in the cache (making Pygments' palettes takes
    about 40 ms) under `incremental.stylesheet_stamp`."""
    stamp = stylesheet_stamp(STATIC / "site.css")
    hit = cache.get_meta("site_css") if cache is not None else None
    if hit is not None and hit[0] == stamp:
        site = hit[1]
    else:
        site = site_css()
        if cache is not None:
            cache.set_meta("site_css", (stamp, site))
    katex = katex_css()
    return {"css": (f"site.{digest(site)[:10]}.css", site), "katex_css": (f"katex.{digest(katex)[:10]}.css", katex)}
