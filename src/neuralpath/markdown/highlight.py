"""Build-time syntax highlighting with Pygments (CSS classes; light and dark palettes in the site CSS).

Results are kept by content (`STORE`, the build cache's code table): a note whose prose changed does not
highlight its code again, and a build that highlights nothing new never imports a lexer (compiling the
Python, Bash and YAML lexers' patterns alone takes about 0.1 s).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from html import escape

import pygments

from neuralpath.markdown.compact import unquote_attributes

STORE = None  # set by the build: earlier results by `code_key` (get -> html or None)
FRESH: dict[str, str] = {}  # results highlighted by this process that the build has not stored yet


def code_key(code: str, lang: str) -> str:
    return hashlib.blake2b(f"{pygments.__version__}\0{lang}\0{code}".encode("utf-8", "surrogatepass"),
                           digest_size=16).hexdigest()


def highlight(code: str, lang: str) -> str:
    """HTML for the inside of a <code> element; unknown languages are escaped, not guessed."""
    if not lang:
        return escape(code)
    key = code_key(code, lang)
    hit = FRESH.get(key)
    if hit is None and STORE is not None:
        hit = STORE.get(key)
    if hit is not None:
        return hit
    lexer = _lexer(lang)
    if lexer is None:
        return escape(code)
    from pygments import highlight as _highlight

    html = FRESH[key] = unquote_attributes(_highlight(code, lexer, _formatter()))
    return html


@lru_cache(maxsize=1)
def _formatter():
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True, classprefix="hl-")


@lru_cache(maxsize=256)
def _lexer(lang: str):
    """Lexers by name, looked up once (the lookup scans Pygments' registry) and reused: they hold no state."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


CODE_BG = {"light": "#f3f1ec", "dark": "#1d2327"}  # must match --code-bg in site.css


def _lum(hex6: str) -> float:
    def ch(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex6[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_lum(a), _lum(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _readable(color: str, bg: str, dark: bool) -> str:
    """Move a token colour towards white (dark theme) or black (light theme) until it reaches WCAG AA 4.5:1."""
    c = color.lstrip("#")
    if len(c) == 3:
        c = "".join(x * 2 for x in c)
    b = bg.lstrip("#")
    rgb = [int(c[i:i + 2], 16) for i in (0, 2, 4)]
    target = 255 if dark else 0
    for _ in range(40):
        hexed = "".join(f"{v:02x}" for v in rgb)
        if contrast(hexed, b) >= 4.6:
            return "#" + hexed
        rgb = [round(v + (target - v) * 0.1) for v in rgb]
    return "#" + "".join(f"{v:02x}" for v in rgb)


def _fix_contrast(css: str, bg: str, dark: bool) -> str:
    return re.sub(r"(?<![-\w])color: (#[0-9a-fA-F]{3,6})", lambda m: "color: " + _readable(m.group(1), bg, dark), css)


def pygments_css() -> str:
    """Light palette for :root, dark palette under [data-theme=dark] and prefers-color-scheme."""
    from pygments.formatters import HtmlFormatter

    light = _fix_contrast(HtmlFormatter(style="default", classprefix="hl-").get_style_defs(".highlight"),
                          CODE_BG["light"], False)
    dark = _fix_contrast(HtmlFormatter(style="github-dark", classprefix="hl-").get_style_defs(".highlight"),
                         CODE_BG["dark"], True)
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
