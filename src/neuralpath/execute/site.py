"""The execute stage for a whole site: which notes run, cache lookups, parallel runs, located errors,
and the HTML shown under each block."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from neuralpath.execute.cache import ExecCache, cache_key

RUN_LANGS = ("python", "py", "python3")


class Zygote:
    """One warm runner process (see zygote.py); used by one thread at a time."""

    def __init__(self):
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen([sys.executable, "-m", "neuralpath.execute.zygote"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
        ready = self.proc.stdout.readline()
        if not ready:
            raise RuntimeError("the code runner did not start")

    def run(self, job: dict) -> dict:
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the code runner stopped unexpectedly")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            self.proc.kill()


def runnable_blocks(parsed, note_timeout: float) -> list[dict]:
    blocks = []
    for cb in parsed.code:
        if cb.lang not in RUN_LANGS or cb.options.get("norun"):
            continue
        try:
            timeout = float(cb.options.get("timeout", note_timeout))
        except (TypeError, ValueError):
            timeout = note_timeout
        blocks.append({"index": cb.index, "line": cb.line, "code": cb.code, "options": cb.options,
                       "timeout": timeout})
    return blocks


@dataclass(frozen=True)
class Executed:
    """What the execute stage gives later stages."""

    outputs: dict[str, dict[int, str]]  # note id -> {code block index -> output HTML}
    extras: dict[str, dict]  # note id -> page context (check summary, skipped for missing variables)
    files: dict[str, str]  # output path -> SVG text of each figure
    stats: dict[str, int]  # executed, cached, skipped
    # note id -> {code block index -> the block's result: stdout, stderr, value, truncated, figures
    # [{svg, alt}], error {type, message, line, traceback}, seconds} (notebook_export.py reads it)
    results: dict[str, dict[int, dict]] = field(default_factory=dict)


def execute_site(site, config, report, *, enabled=True, rerun=False, keep_going=False) -> Executed:
    cache = ExecCache(config.cache_dir)
    settings = {"memory_mb": config.build["memory_limit_mb"], "output_limit": config.build["output_limit_kb"]}
    jobs, outputs, extras, block_results = [], {}, {}, {}
    files: dict[str, str] = {}  # output path -> SVG text of each figure
    base = config.base_path
    stats = {"executed": 0, "cached": 0, "skipped": 0, "not_run": 0}
    for doc_id, parsed in site.parsed.items():
        doc = site.docs.get(doc_id)
        if doc is None:
            continue
        blocks = runnable_blocks(parsed, float(config.build["timeout"]))
        if not blocks:
            continue
        missing = [v for v in doc.all_requires if not os.environ.get(v)]
        if missing:
            extras[doc_id] = {"skipped": True, "missing": missing}
            report.info(doc.source.path, 1, f"code not run: requires {', '.join(missing)} (set it in the "
                        "environment to run this note's code)", rule="requires")
            stats["skipped"] += 1
            continue
        key = cache_key(blocks, settings)
        hit = None if rerun else cache.get(key)
        not_run = 0
        if hit is None and not enabled:  # --no-execute: the last run's outputs, for the blocks it ran as they are
            hit, not_run = _unchanged_part(cache.latest_for(doc_id), blocks)
            if not_run:
                first = blocks[len(blocks) - not_run]
                report.warning(doc.source.path, first["line"] - 1,
                               f"code not run (--no-execute): {not_run} block(s) from here on changed since their "
                               "last run, or follow one that did, and show no output", rule="not-run")
            if hit is None:
                stats["not_run"] += len(blocks)
                extras[doc_id] = {"summary": _not_run_text(len(blocks), len(blocks))}
                continue
        if hit is not None:
            stats["cached"] += 1
            _apply(doc, hit, blocks, outputs, extras, report, files, base, block_results)
            if not_run:
                stats["not_run"] += not_run
                extras[doc_id] = {**extras.get(doc_id, {}), "summary": _not_run_text(not_run, len(blocks))}
            continue
        jobs.append((doc, blocks, key))
    if jobs:
        results = _run_jobs(jobs, config, report, keep_going)
        for (doc, blocks, key), result in zip(jobs, results):
            if result is None:
                continue
            result["ran_on"] = dt.date.today().isoformat()
            result["python"] = sys.version.split()[0]
            stats["executed"] += 1
            failed = _apply(doc, result, blocks, outputs, extras, report, files, base, block_results)
            if not failed:
                result["codes"] = {str(b["index"]): b["code"] for b in blocks}  # what --no-execute compares
                cache.put(key, doc.id, result)
    return Executed(outputs, extras, files, stats, block_results)


def _unchanged_part(hit: dict | None, blocks: list[dict]) -> tuple[dict | None, int]:
    """The last run's results for the blocks before the first one whose code changed since that run (a
    later block's output may depend on a changed one, so it is not shown either), and how many blocks
    are left without output."""
    if hit is None or "codes" not in hit:
        return None, len(blocks)
    codes = hit["codes"]
    first = next((i for i, b in enumerate(blocks) if codes.get(str(b["index"])) != b["code"]), len(blocks))
    if first == len(blocks):
        return hit, 0
    keep = {b["index"] for b in blocks[:first]}
    if not keep:
        return None, len(blocks)
    return {**hit, "blocks": [br for br in hit["blocks"] if br["index"] in keep]}, len(blocks) - first


def _not_run_text(not_run: int, total: int) -> str:
    return (f"{not_run} of this page's {total} code block{'s' if total != 1 else ''} "
            f"{'was' if not_run == 1 else 'were'} not run in this build (built with --no-execute after "
            f"{'its' if not_run == 1 else 'their'} code changed): {'it shows' if not_run == 1 else 'they show'} "
            "no output, and its checks are not known to pass.")


def _run_jobs(jobs, config, report, keep_going):
    workers = max(1, min(len(jobs), os.cpu_count() or 1, 4))
    local = threading.local()
    zygotes = []
    lock = threading.Lock()
    stop = threading.Event()

    def one(item):
        doc, blocks, key = item
        if stop.is_set():
            return None
        z = getattr(local, "z", None)
        if z is None:
            z = local.z = Zygote()
            with lock:
                zygotes.append(z)
        scratch = config.cache_dir / "scratch" / doc.id
        job = {"id": doc.id, "cwd": str(doc.source.path.parent), "scratch": str(scratch), "blocks": blocks,
               "timeout": float(config.build["timeout"]), "memory_mb": config.build["memory_limit_mb"],
               "output_limit": config.build["output_limit_kb"] * 1024}
        res = z.run(job)
        if not keep_going and (res.get("crash") or any(b.get("error") and not _expected(b, blocks)
                                                         for b in res["blocks"])):
            stop.set()
        return res

    try:
        from concurrent.futures import ThreadPoolExecutor  # here: most builds run no code

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, jobs))
    finally:
        for z in zygotes:
            z.close()


def _expected(block_result, blocks) -> bool:
    opts = next((b["options"] for b in blocks if b["index"] == block_result["index"]), {})
    return bool(opts.get("raises"))


def raised(want: str, err: dict) -> bool:
    """Whether the exception reported in `err` is the one `{raises=want}` names: its class or a base
    class, by bare name (`LinAlgError`) or qualified (`numpy.linalg.LinAlgError`, `np.linalg.LinAlgError`)."""
    want = "numpy." + want[3:] if want.startswith("np.") else want
    types = err.get("types") or [err["type"]]
    return any(t == want or t.rsplit(".", 1)[-1] == want or t == f"builtins.{want}" for t in types)


def _apply(doc, result, blocks, outputs, extras, report, files, base, results) -> bool:
    """Render outputs (and keep each block's raw result in `results`), report failures; returns True
    when the note failed."""
    by_index = {b["index"]: b for b in blocks}
    html = outputs.setdefault(doc.id, {})
    raw = results.setdefault(doc.id, {})
    failed = False
    seconds = 0.0
    for br in result["blocks"]:
        block = by_index.get(br["index"])
        if block is None:
            continue
        seconds += br.get("seconds", 0.0)
        err = br.get("error")
        expected = block["options"].get("raises")
        if err and expected:
            want = expected if isinstance(expected, str) else None
            if want and not raised(want, err):
                failed = True
                report.error(doc.source.path, err["line"], f"expected {want} but the block raised "
                             f"{err['type']}: {err['message']}", rule="exec")
        elif err:
            failed = True
            tb = f"\n{err['traceback']}" if err.get("traceback") else ""
            report.error(doc.source.path, err["line"], f"code failed: {err['type']}: {err['message']}{tb}",
                         rule="exec")
        elif expected:
            failed = True
            report.error(doc.source.path, block["line"], f"block marked raises={expected} ran without an error",
                         rule="exec")
        if br.get("figures") and not str(block["options"].get("alt", "")).strip():
            report.warning(doc.source.path, block["line"] - 1, "this block draws a figure without alt text: "
                           'add {alt="what the figure shows"} after ```python', rule="figure-alt")
        html[br["index"]] = output_html(br, files, base)
        raw[br["index"]] = br
    crash = result.get("crash")
    if crash:
        failed = True
        idx = crash.get("index")
        line = by_index[idx]["line"] if idx in by_index else doc.source.body_line
        report.error(doc.source.path, line, crash["message"], rule="exec-" + crash["kind"])
    if not failed:
        n = len(result["blocks"])
        extras[doc.id] = {"summary": f"This page ran {n} code block{'s' if n != 1 else ''} in {seconds:.2f} s "
                                     f"with Python {result.get('python', '?')} when it was built on "
                                     f"{result.get('ran_on', '?')}; every check passed."}
    return failed


def output_html(br: dict, files: dict[str, str], base: str = "/") -> str:
    parts = []
    if br.get("stdout"):
        parts.append(f'<pre class="stdout">{escape(br["stdout"])}</pre>')
    if br.get("stderr"):
        parts.append(f'<pre class="stderr">{escape(br["stderr"])}</pre>')
    if br.get("value"):
        parts.append(f'<pre class="value">{escape(br["value"])}</pre>')
    if br.get("truncated"):
        parts.append('<p class="output-note">Output truncated at the size limit.</p>')
    for fig in br.get("figures", []):
        # Each figure is its own SVG file: no id collisions between figures, a small page DOM, lazy loading.
        alt = escape(fig.get("alt") or "Figure drawn by this code block")
        svg = fig["svg"]
        rel = f"assets/figures/{hashlib.blake2b(svg.encode(), digest_size=10).hexdigest()}.svg"
        files[rel] = svg
        w, h = _svg_size(svg)
        size = f' width="{w}" height="{h}"' if w and h else ""
        parts.append(f'<figure class="output-figure"><img src="{base}{rel}" alt="{alt}"{size} loading="lazy" '
                     f'decoding="async"></figure>')
    err = br.get("error")
    if err:
        parts.append(f'<pre class="error">{escape(err["type"])}: {escape(err["message"])}</pre>')
    if not parts:
        return ""
    return ('<div class="output"><p class="output-label">Output</p>' + "".join(parts) + "</div>")


def _svg_size(svg: str) -> tuple[int | None, int | None]:
    """Pixel size from the root element's width/height (matplotlib writes points)."""
    start = svg.find("<svg")
    head = svg[start: svg.find(">", start) + 1]
    dims = []
    for attr in ("width", "height"):
        m = re.search(attr + r'="([\d.]+)(pt|px)?"', head)
        if not m:
            return None, None
        v = float(m.group(1)) * (4 / 3 if m.group(2) == "pt" else 1)
        dims.append(round(v))
    return dims[0], dims[1]
