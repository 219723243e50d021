"""Build-time syntax highlighting with Pygments (CSS classes; light and dark palettes in the site CSS)."""

from __future__ import annotations

from functools import lru_cache
from html import escape

from pygments import highlight as _highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True, classprefix="hl-")


@lru_cache(maxsize=4096)
def highlight(code: str, lang: str) -> str:
    """HTML for the inside of a <code> element; unknown languages are escaped, not guessed."""
    if not lang:
        return escape(code)
    try:
        lexer = get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return escape(code)
    return _highlight(code, lexer, _FORMATTER)


def pygments_css() -> str:
    """Light palette for :root, dark palette under [data-theme=dark] and prefers-color-scheme."""
    light = HtmlFormatter(style="default", classprefix="hl-").get_style_defs(".highlight")
    dark = HtmlFormatter(style="github-dark", classprefix="hl-").get_style_defs(".highlight")
    dark_rules = "\n".join(
        line.replace(".highlight", ":root[data-theme=dark] .highlight", 1)
        for line in dark.splitlines() if line.startswith(".highlight .")
    )
    auto_rules = "\n".join(
        "  " + line.replace(".highlight", ":root:not([data-theme=light]) .highlight", 1)
        for line in dark.splitlines() if line.startswith(".highlight .")
    )
    light_rules = "\n".join(line for line in light.splitlines() if line.startswith(".highlight ."))
    # background colours come from the site palette, not Pygments
    strip = lambda s: "\n".join(l for l in s.splitlines() if "background" not in l or " .hll" in l)
    return (strip(light_rules) + "\n" + strip(dark_rules) +
            "\n@media (prefers-color-scheme: dark) {\n" + strip(auto_rules) + "\n}\n")
