#!/usr/bin/env python3
"""Per-note overhead of executed code in Neural-Path.

    python bench/exec_bench.py --notes 100,500 --runs 3

For K notes that each hold one trivial block (```` ```python ```` with `x = 1`) it builds:

  baseline-cold   the same notes with ```` ```python {norun} ````, no .neuralpath/ and no public/
  exec-cold       code runs: no .neuralpath/ (no execution cache) and no public/
  exec-cached     execution results come from .neuralpath/exec/; the build cache and public/ are deleted,
                  so only the execution cache differs from baseline-cold
  baseline-warm   norun notes built again with every cache in place
  exec-warm       executed notes built again with every cache in place

and prints the median wall time of each, and the per-note overhead of execution:
  cold:   (exec-cold   - baseline-cold) / K
  cached: (exec-cached - baseline-cold) / K
  warm:   (exec-warm   - baseline-warm) / K
It prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as runmod  # noqa: E402
from run import NeuralPath, measure  # noqa: E402

PER_MODULE = 40


def write_site(root: Path, k: int, norun: bool) -> None:
    if root.exists():
        shutil.rmtree(root)
    (root / "content" / "curriculum" / "1-code").mkdir(parents=True)
    (root / "neuralpath.toml").write_text('[site]\ntitle = "Exec benchmark"\nbase_url = "https://bench.example.org/"\n')
    part = root / "content" / "curriculum" / "1-code"
    (part / "_index.md").write_text('---\ntitle: "Code"\nsummary: "Notes with one code block each."\n---\n')
    fence = "```python {norun}" if norun else "```python"
    for i in range(k):
        mod = part / f"{i // PER_MODULE + 1:02d}-module-{i // PER_MODULE + 1}"
        if not mod.exists():
            mod.mkdir()
            (mod / "_index.md").write_text(f'---\ntitle: "Module {i // PER_MODULE + 1}"\nsummary: "Code."\n---\n')
        (mod / f"{i % PER_MODULE + 1:02d}-exec-{i:05d}.md").write_text(
            f'---\ntitle: "Exec note {i}"\nsummary: "One trivial code block."\n---\n\n'
            f"## Code\n\nThis note holds a single trivial code block, number {i}.\n\n{fence}\nx = 1\n```\n")


def clean(site: Path, keep_exec: bool = False) -> None:
    shutil.rmtree(site / "public", ignore_errors=True)
    cache = site / ".neuralpath"
    if not keep_exec:
        shutil.rmtree(cache, ignore_errors=True)
    elif cache.exists():
        for child in cache.iterdir():
            if child.name != "exec":
                shutil.rmtree(child) if child.is_dir() else child.unlink()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Per-note overhead of executed Python blocks in Neural-Path.")
    ap.add_argument("--notes", default="100,500", help="comma-separated note counts (default 100,500)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp/neuralpath-exec-bench")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--neuralpath-src", metavar="DIR", help="run the engine from DIR/neuralpath (see run.py)")
    args = ap.parse_args(argv)
    if args.neuralpath_src:
        runmod.ENGINE_SRC = Path(args.neuralpath_src).resolve()
    tool = NeuralPath()
    print(f"neuralpath {tool.version()}", file=sys.stderr)
    if not tool.available():
        print("neuralpath is not installed", file=sys.stderr)
        return 2
    work = Path(args.workdir)
    lines = ["| K notes | baseline cold (s) | exec cold (s) | exec cached (s) | baseline warm (s) | exec warm (s) "
             "| overhead cold (ms/note) | overhead cached (ms/note) | overhead warm (ms/note) | peak RSS exec cold (MB) |",
             "|" + "---|" * 10]
    for k in [int(x) for x in args.notes.split(",") if x.strip()]:
        base, ex = work / f"k{k}" / "norun", work / f"k{k}" / "exec"
        write_site(base, k, norun=True)
        write_site(ex, k, norun=False)
        t = {name: [] for name in ("baseline-cold", "exec-cold", "exec-cached", "baseline-warm", "exec-warm")}
        rss = []

        def run(name, site):
            m = measure(tool.command(site), site, args.timeout, tool.env())
            if m.rc != 0:
                print(f"build failed ({name}, K={k}): exit {m.rc}\n{m.stderr[-3000:]}", file=sys.stderr)
                raise SystemExit(1)
            t[name].append(m.wall)
            print(f"  K={k:<5} {name:<14} {m.wall:7.2f}s {m.peak_rss_mb:5.0f} MB", file=sys.stderr)
            return m

        for r in range(args.runs):
            clean(base)
            run("baseline-cold", base)
            run("baseline-warm", base)
            clean(ex)
            rss.append(run("exec-cold", ex).peak_rss_mb)
            run("exec-warm", ex)
            clean(ex, keep_exec=True)
            run("exec-cached", ex)
        med = {name: statistics.median(v) for name, v in t.items()}
        per = lambda a, b: (med[a] - med[b]) / k * 1000
        lines.append(f"| {k} | {med['baseline-cold']:.2f} | {med['exec-cold']:.2f} | {med['exec-cached']:.2f} | "
                     f"{med['baseline-warm']:.2f} | {med['exec-warm']:.2f} | {per('exec-cold', 'baseline-cold'):.1f} | "
                     f"{per('exec-cached', 'baseline-cold'):.1f} | {per('exec-warm', 'baseline-warm'):.1f} | "
                     f"{max(rss):.0f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
