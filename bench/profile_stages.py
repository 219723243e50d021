#!/usr/bin/env python3
"""Where Neural-Path's build time goes, by stage, from a cProfile dump.

    python -m cProfile -o /tmp/np.prof -m neuralpath build SITE     # make the profile (cold: rm -rf SITE/public SITE/.neuralpath)
    python bench/profile_stages.py /tmp/np.prof                      # summarise it

or both at once (deletes SITE/public and SITE/.neuralpath first unless --warm):

    python bench/profile_stages.py --run SITE [--warm] [-o /tmp/np.prof]

Each stage is the cumulative time of the engine function that implements it (found by file and function
name, so a renamed function shows as "not found" rather than a wrong figure). Sub-stages of rendering
(KaTeX, Pygments) are shown inside it; "other" rows are what is left of the parent. cProfile adds
overhead to every Python call, so shares matter more than absolute seconds; time spent inside V8
(KaTeX) or in a child process (Pagefind) is counted as wall time of the Python call that waits for it.
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import subprocess
import sys
from pathlib import Path

# stage -> list of (file suffix, function name), parent stage; the cumulative times of all that are found are
# added up (list only functions that do not call each other)
STAGES = [
    ("build total (Builder.run)", [("neuralpath/build.py", "run")], None),
    ("load config + content", [("neuralpath/content/loader.py", "load_content")], "build total (Builder.run)"),
    ("build cache load", [("neuralpath/cache.py", "load")], "build total (Builder.run)"),
    ("parse (markdown-it)", [("neuralpath/markdown/parser.py", "parse_document")], "build total (Builder.run)"),
    ("resolve (graph, links, labels)", [("neuralpath/graph.py", "resolve")], "build total (Builder.run)"),
    ("execute code", [("neuralpath/build.py", "_execute")], "build total (Builder.run)"),
    ("render bodies", [("neuralpath/build.py", "_render_bodies")], "build total (Builder.run)"),
    ("  math: KaTeX (prerender batches + render)", [("neuralpath/markdown/katex.py", "prerender"),
                                                  ("neuralpath/markdown/katex.py", "render")], "render bodies"),
    ("    of which V8 start + katex.min.js load", [("neuralpath/markdown/katex.py", "_ctx")], None),
    ("  highlighting (Pygments)", [("neuralpath/markdown/highlight.py", "highlight")], "render bodies"),
    ("templates (Jinja2 layout)", [("neuralpath/layout/pages.py", "all_pages")], "build total (Builder.run)"),
    ("write (staging, assets, sitemap, feed)", [("neuralpath/build.py", "_write")], "build total (Builder.run)"),
    ("  search index (Pagefind subprocess)", [("neuralpath/search.py", "build_index")],
     "write (staging, assets, sitemap, feed)"),
    ("build cache save", [("neuralpath/cache.py", "save")], "build total (Builder.run)"),
]


def find(stats: pstats.Stats, file_suffix: str, func: str):
    best = None
    for (fn, line, name), (cc, nc, tt, ct, callers) in stats.stats.items():
        if name == func and fn.replace("\\", "/").endswith(file_suffix):
            if best is None or ct > best[1]:
                best = (nc, ct)
    return best


def summarise(prof: Path) -> str:
    st = pstats.Stats(str(prof))
    total = st.total_tt
    rows, got = [], {}
    for label, cands, parent in STAGES:
        hit = None
        for suffix, func in cands:
            h = find(st, suffix, func)
            if h:
                hit = h if hit is None else (hit[0] + h[0], hit[1] + h[1])
        got[label] = hit[1] if hit else None
        rows.append((label, hit, parent))
    out = [f"profile: {prof}  (total {total:.2f} s of profiled wall time, including interpreter start-up and imports)",
           "", "| stage | calls | cumulative (s) | share of build |", "|---|---|---|---|"]
    build = got.get("build total (Builder.run)") or total
    children: dict[str, float] = {}
    for label, hit, parent in rows:
        if hit is None:
            out.append(f"| {label} | – | not found | – |")
            continue
        nc, ct = hit
        if parent:
            children[parent] = children.get(parent, 0.0) + ct
        out.append(f"| {label} | {nc} | {ct:.2f} | {100 * ct / build:.1f}% |")
    for parent in ("render bodies",):
        if got.get(parent) is not None:
            rest = got[parent] - children.get(parent, 0.0)
            out.append(f"| render bodies: other (markdown-it render rules, links, escaping) | | {rest:.2f} | "
                       f"{100 * rest / build:.1f}% |")
    if got.get("build total (Builder.run)") is not None:
        rest = build - children.get("build total (Builder.run)", 0.0)
        out.append(f"| build: other (not in a stage above) | | {rest:.2f} | {100 * rest / build:.1f}% |")
        outside = total - build  # can come out negative: cProfile's totals and threads that wait do not add up exactly
        out.append(f"| outside Builder.run (start-up, imports, CLI) | | {max(outside, 0.0):.2f} | |")
    out += ["", "top 15 functions by own time:", ""]
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:15]
    out.append("| function | calls | own (s) | cumulative (s) |")
    out.append("|---|---|---|---|")
    for (fn, line, name), (cc, nc, tt, ct, _) in rows:
        short = "/".join(Path(fn).parts[-2:]) if fn != "~" else ""
        out.append(f"| {short}:{line}({name}) | {nc} | {tt:.2f} | {ct:.2f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Summarise a cProfile dump of `neuralpath build` by stage.")
    ap.add_argument("prof", nargs="?", help="a .prof file from python -m cProfile -o")
    ap.add_argument("--run", metavar="SITE", help="profile `neuralpath build SITE` first")
    ap.add_argument("--warm", action="store_true", help="with --run: keep public/ and .neuralpath/ (warm build)")
    ap.add_argument("-o", "--output", default="/tmp/np.prof", help="with --run: where to write the profile")
    ap.add_argument("--neuralpath-src", metavar="DIR", help="with --run: profile the engine in DIR/neuralpath")
    ap.add_argument("build_args", nargs="*", help="with --run: extra arguments for `neuralpath build` (after --)")
    args = ap.parse_args(argv)
    prof = args.prof
    if args.run:
        site = Path(args.run)
        if not args.warm:
            shutil.rmtree(site / "public", ignore_errors=True)
            shutil.rmtree(site / ".neuralpath", ignore_errors=True)
        env = dict(os.environ)
        if args.neuralpath_src:
            env["PYTHONPATH"] = str(Path(args.neuralpath_src).resolve())
            katex = Path(__file__).resolve().parent.parent / "node_modules" / "katex" / "dist"
            if katex.is_dir():
                env.setdefault("NEURALPATH_KATEX_DIR", str(katex))
        rc = subprocess.call([sys.executable, "-m", "cProfile", "-o", args.output, "-m", "neuralpath", "build",
                              str(site), "--quiet", *args.build_args], env=env)
        if rc != 0:
            print(f"neuralpath build failed with exit {rc}", file=sys.stderr)
            return rc
        prof = args.output
    if not prof:
        ap.error("give a .prof file or --run SITE")
    print(summarise(Path(prof)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
