"""Build-time math: KaTeX running in-process in an embedded V8 (mini-racer).

KaTeX comes from the npm registry (package.json + package-lock.json, installed by `npm ci`); a built
wheel carries the same files under `neuralpath/_katex/`, so users of the wheel need no node.
Rendered expressions are cached by the hash of (TeX, display mode, macros, KaTeX version).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


class KatexMissing(RuntimeError):
    pass


def katex_dir() -> Path:
    """Folder holding katex.min.js, katex.min.css and fonts/."""
    candidates = []
    if os.environ.get("NEURALPATH_KATEX_DIR"):
        candidates.append(Path(os.environ["NEURALPATH_KATEX_DIR"]))
    candidates.append(HERE / "_katex")  # inside an installed wheel
    for parent in HERE.parents:  # a source checkout with node_modules (editable install)
        candidates.append(parent / "node_modules" / "katex" / "dist")
        if (parent / "pyproject.toml").is_file():
            break
    for c in candidates:
        if (c / "katex.min.js").is_file():
            return c
    raise KatexMissing("KaTeX is not installed: run `npm ci` in the Neural-Path repository (or install the "
                       "neuralpath wheel, which carries it), or set NEURALPATH_KATEX_DIR")


_JS = r"""
// KaTeX's output made valid and smaller HTML without changing what is displayed or read aloud:
// - `width` on <mtd> (array column spacing) is not in HTML's MathML content model;
// - an operator name in a script (\ell_{\max}) gets a third child U+2061 inside <msub>;
// - a negative CSS height is invalid and ignored by browsers anyway;
// - <math> needs no xmlns in HTML, and an attribute value without spaces, quotes, =, <, >, backticks
//   or & needs no quotes, nor the last declaration of a style its semicolon (KaTeX escapes every quote
//   in text, so `="` only opens an attribute). Done here: V8's regular expressions are fast.
function npTidy(html) {
  return html.replace(/(<mtd\b[^>]*?)\s+width="[^"]*"/g, "$1")
    .replace(/<mo>\u2061<\/mo>(?=<\/msub>|<\/msup>|<\/msubsup>|<\/munder>|<\/mover>)/g, "")
    .replace(/height:-[0-9.]+em;?/g, "")
    .replace(/ xmlns="http:\/\/www\.w3\.org\/1998\/Math\/MathML"/g, "")
    .replace(/="([^"\s'=<>`&]+?);?"(?=[\s>])/g, "=$1");
}
function npOptions(display, macros, maxExpand) {
  return {displayMode: display, macros: macros, throwOnError: true, output: "htmlAndMathml",
          trust: false, strict: "ignore", maxExpand: maxExpand, maxSize: 20, globalGroup: false};
}
function npError(e) {
  return JSON.stringify({error: String(e && e.message || e),
                         position: (e && typeof e.position === "number") ? e.position : null});
}
function npRender(tex, display, macros, maxExpand) {
  try {
    return JSON.stringify({html: npTidy(katex.renderToString(tex, npOptions(display, JSON.parse(macros), maxExpand)))});
  } catch (e) {
    return npError(e);
  }
}
function npBatch(items, macros, maxExpand) {
  // one string back: results separated by NUL (which no rendered expression contains: markdown-it
  // replaces it in the source); an error is U+0001 followed by its JSON. Far cheaper to hand over
  // than one JSON document of escaped HTML.
  var m = JSON.parse(macros), its = JSON.parse(items), out = new Array(its.length);
  for (var i = 0; i < its.length; i++) {
    try {
      out[i] = npTidy(katex.renderToString(its[i][0], npOptions(its[i][1], Object.assign({}, m), maxExpand)));
    } catch (e) {
      out[i] = "\u0001" + npError(e);
    }
  }
  return out.join("\u0000");
}
"""


@dataclass(frozen=True)
class MathResult:
    html: str | None
    error: str | None = None
    position: int | None = None  # offset into the TeX source where KaTeX stopped


_LOCAL = threading.local()  # one JS context per thread, shared by every Katex (macros go with each call)
V8_STARTED = False  # once V8 runs in this process it must not fork (its threads do not survive)


class Katex:
    """One embedded JS context per thread; results memoised by content hash."""

    MAX_TEX = 20_000

    def __init__(self, macros: dict[str, str] | None = None, max_expand: int = 1000):
        self.dir = katex_dir()
        self.macros = dict(macros or {})
        self.macros_json = json.dumps(macros or {}, sort_keys=True)
        self.max_expand = max_expand
        self.version = self._read_version()
        self.cache = {}  # read-only store of earlier results (the build cache's math table); get/__contains__
        self.loaded: dict[str, MathResult] = {}  # results `prerender` fetched from the cache in one go
        self.fresh: dict[str, MathResult] = {}  # results rendered by this instance, to be stored by the caller

    def _read_version(self) -> str:
        pkg = self.dir.parent / "package.json"
        if pkg.is_file():
            return json.loads(pkg.read_text())["version"]
        ver = self.dir / "VERSION"
        return ver.read_text().strip() if ver.is_file() else "unknown"

    def _ctx(self):
        ctx = getattr(_LOCAL, "ctx", None)
        if ctx is None:
            global V8_STARTED
            V8_STARTED = True
            from py_mini_racer import MiniRacer
            ctx = MiniRacer()
            ctx.eval((self.dir / "katex.min.js").read_text(encoding="utf-8"))
            ctx.eval(_JS)
            _LOCAL.ctx = ctx
        return ctx

    def key(self, tex: str, display: bool) -> str:
        h = hashlib.blake2b(digest_size=16)
        for part in (self.version, self.macros_json, "D" if display else "I", tex):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()

    BATCH = 100  # expressions per call into V8: bigger batches made V8 collect garbage more (measured)

    def prerender(self, requests) -> None:
        """Render many expressions with one call into the JS engine per batch (a per-call overhead
        dominates single renders); results land in the cache that `render` reads."""
        wanted: dict[str, tuple[str, bool]] = {}
        for tex, display in requests:
            k = self.key(tex, display)
            if k not in self.fresh and k not in self.loaded and len(tex) <= self.MAX_TEX:
                wanted.setdefault(k, (tex, display))
        get_many = getattr(self.cache, "get_many", None)
        if get_many is not None:  # one query for the lot, rather than two per expression
            self.loaded.update(get_many(list(wanted)))
        todo = [(k, tex, display) for k, (tex, display) in wanted.items()
                if k not in self.loaded and (get_many is not None or k not in self.cache)]
        for i in range(0, len(todo), self.BATCH):
            chunk = todo[i:i + self.BATCH]
            raw = self._ctx().call("npBatch", json.dumps([[t, d] for _, t, d in chunk]), self.macros_json,
                                   self.max_expand)
            results = raw.split("\x00")
            if len(results) != len(chunk):  # a NUL inside an expression after all: one call each
                results = [None] * len(chunk)
            for (k, tex, display), out in zip(chunk, results):
                if out is None:
                    self.fresh[k] = self._render_one(tex, display)
                elif out.startswith("\x01"):
                    data = json.loads(out[1:])
                    self.fresh[k] = MathResult(None, data.get("error"), data.get("position"))
                else:
                    self.fresh[k] = MathResult(out)

    def render(self, tex: str, display: bool) -> MathResult:
        k = self.key(tex, display)
        hit = self.fresh.get(k) or self.loaded.get(k) or self.cache.get(k)
        if hit is not None:
            return hit
        if len(tex) > self.MAX_TEX:
            res = MathResult(None, f"expression is {len(tex)} characters long; the limit is {self.MAX_TEX}")
        else:
            res = self._render_one(tex, display)
        self.fresh[k] = res
        return res

    def _render_one(self, tex: str, display: bool) -> MathResult:
        data = json.loads(self._ctx().call("npRender", tex, display, self.macros_json, self.max_expand))
        return MathResult(data.get("html"), data.get("error"), data.get("position"))
