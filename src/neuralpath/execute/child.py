"""Runs inside a forked child of the zygote: executes one note's blocks and streams results.

Each message is one JSON line on `out` (a file descriptor):
  {"event": "start", "index": i}   a block starts (the parent resets its timeout)
  {"event": "block", ...}          a block finished: stdout, stderr, value, figures, error
  {"event": "done"}                all blocks ran
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import linecache
import os
import re
import sys
import tempfile
import time
import traceback

NOTE_PREFIX = "<note-block-"
BLOCK_LINES: dict[str, int] = {}  # virtual file name of a block -> its first line in the note


class _Tee(io.StringIO):
    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit
        self.truncated = False

    def write(self, s):  # keep at most `limit` characters, remember that more was written
        room = self.limit - self.tell()
        if room <= 0:
            self.truncated = self.truncated or bool(s)
            return len(s)
        if len(s) > room:
            self.truncated = True
            super().write(s[:room])
            return len(s)
        return super().write(s)


def _install_write_guard(allowed: list[str]) -> None:
    allowed = [os.path.realpath(a) for a in allowed]

    def hook(event, args):
        if event != "open" or not args:
            return
        path, mode = args[0], args[1] if len(args) > 1 else "r"
        flags = args[2] if len(args) > 2 else 0
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if not writing or not isinstance(path, (str, bytes, os.PathLike)):
            return
        real = os.path.realpath(os.fsdecode(path))
        if not any(real == a or real.startswith(a + os.sep) for a in allowed):
            raise PermissionError(f"notes may write only inside their scratch folder ({allowed[0]}); "
                                  f"refused: {real}")

    sys.addaudithook(hook)


def _figures(plt, alt: str, salt: str) -> list[dict]:
    out = []
    for k, num in enumerate(plt.get_fignums()):
        fig = plt.figure(num)
        buf = io.StringIO()
        with plt.rc_context({"svg.hashsalt": f"{salt}-{k}", "svg.fonttype": "none"}):
            fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
        svg = buf.getvalue()
        svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
        out.append({"svg": svg, "alt": alt})
    plt.close("all")
    return out


def _trim(exc: BaseException) -> tuple[int | None, str]:
    """(file line of the failing statement in the note, traceback limited to the note's own frames)."""
    if isinstance(exc, SyntaxError) and exc.filename in BLOCK_LINES and exc.lineno:
        line = BLOCK_LINES[exc.filename] + exc.lineno - 1
        return line, f"  line {line}: {(exc.text or '').strip()}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in BLOCK_LINES]
    if not frames:
        return None, ""
    lines = [f"  line {BLOCK_LINES[f.filename] + f.lineno - 1}: {(f.line or '').strip()}" for f in frames]
    last = frames[-1]
    return BLOCK_LINES[last.filename] + last.lineno - 1, "\n".join(lines)


def run_note(job: dict, out_fd: int) -> None:
    out = os.fdopen(out_fd, "w", buffering=1)

    def send(msg: dict) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    os.chdir(job["cwd"])
    scratch = job["scratch"]
    os.makedirs(scratch, exist_ok=True)
    os.environ["NEURALPATH_SCRATCH"] = scratch
    tmp = os.path.join(scratch, "tmp")
    os.makedirs(tmp, exist_ok=True)
    os.environ["TMPDIR"] = tmp
    tempfile.tempdir = tmp
    _install_write_guard([scratch])
    try:
        import resource
        limit = job["memory_mb"] * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (current + limit, hard))
    except (ImportError, OSError, ValueError):
        pass
    import matplotlib.pyplot as plt
    ns: dict = {"__name__": "__main__"}
    limit_chars = job["output_limit"]
    for block in job["blocks"]:
        i = block["index"]
        send({"event": "start", "index": i})
        opts = block["options"]
        stdout, stderr = _Tee(limit_chars), _Tee(limit_chars)
        value = None
        error = None
        t0 = time.perf_counter()
        fname = f"{NOTE_PREFIX}{i}>"
        BLOCK_LINES[fname] = block["line"]
        linecache.cache[fname] = (len(block["code"]), None, block["code"].splitlines(True), fname)
        try:
            tree = ast.parse(block["code"], filename=fname)
            last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            if last is not None and _ends_with_semicolon(block["code"], last):
                last = None  # `expr;` runs but shows no value, as in Jupyter
            if last is not None:
                tree.body = tree.body[:-1]
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                exec(compile(tree, fname, "exec"), ns)
                if last is not None:
                    v = eval(compile(ast.Expression(last.value), fname, "eval"), ns)
                    if v is not None:
                        value = repr(v)[:limit_chars]
        except BaseException as exc:  # noqa: BLE001 - everything a note raises is reported
            line, tb = _trim(exc)
            kind = type(exc).__name__
            msg = str(exc)
            if isinstance(exc, SystemExit):
                msg = f"the block called sys.exit({exc.code!r}); notes must not exit the interpreter"
            elif isinstance(exc, AssertionError) and not msg:
                msg = "assertion failed"
            elif isinstance(exc, MemoryError):
                msg = f"the block used more than the memory limit ({job['memory_mb']} MB)"
            error = {"type": kind, "message": msg, "line": line or block["line"], "traceback": tb,
                     "types": [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]}
        figures = []
        try:
            if plt.get_fignums():
                figures = _figures(plt, str(opts.get("alt", "")), f"{job['id']}-{i}")
        except Exception as exc:  # noqa: BLE001
            error = error or {"type": type(exc).__name__, "message": f"could not save figure: {exc}",
                              "line": block["line"], "traceback": ""}
        send({"event": "block", "index": i, "stdout": stdout.getvalue(), "stderr": stderr.getvalue(),
              "truncated": stdout.truncated or stderr.truncated, "value": value, "figures": figures,
              "error": error, "seconds": time.perf_counter() - t0})
        expected = opts.get("raises")
        if error and not expected:
            break
    send({"event": "done"})
    out.close()


def _ends_with_semicolon(code: str, stmt) -> bool:
    """Whether the statement is followed by `;` on its last line (comments after it allowed)."""
    lines = code.splitlines()
    if stmt.end_lineno is None or stmt.end_lineno > len(lines):
        return False
    return lines[stmt.end_lineno - 1][stmt.end_col_offset:].lstrip().startswith(";")
