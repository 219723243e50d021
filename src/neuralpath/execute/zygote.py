"""A warm parent process: imports numpy and matplotlib once, then forks one child per note.

Forking a pre-imported parent gives each note a clean interpreter state (nothing leaks between notes)
at a few milliseconds per note instead of the ~1 s that a fresh interpreter with these imports costs.
Reads jobs as JSON lines on stdin and writes one JSON result line per job on stdout.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time


def _warm() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        import numpy  # noqa: F401
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
        import scipy.linalg  # noqa: F401
        import scipy.special  # noqa: F401
        import scipy.stats  # noqa: F401
    except ImportError:
        pass


def run_job(job: dict) -> dict:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 0
        try:
            from neuralpath.execute.child import run_note
            run_note(job, w)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)
    os.close(w)
    blocks: dict[int, dict] = {}
    current = None
    done = False
    timeout_hit = None
    buf = b""
    deadline = time.monotonic() + job["timeout"]
    timeouts = {b["index"]: b["timeout"] for b in job["blocks"]}
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timeout_hit = current
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([r], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            msg = json.loads(line)
            if msg["event"] == "start":
                current = msg["index"]
                deadline = time.monotonic() + timeouts.get(current, job["timeout"])
            elif msg["event"] == "block":
                blocks[msg["index"]] = msg
            elif msg["event"] == "done":
                done = True
    os.close(r)
    _, status = os.waitpid(pid, 0)
    result = {"id": job["id"], "blocks": [blocks[k] for k in sorted(blocks)], "done": done}
    if timeout_hit is not None:
        result["crash"] = {"index": timeout_hit, "kind": "timeout",
                           "message": f"block did not finish within {timeouts.get(timeout_hit, job['timeout'])} s "
                                      "and was stopped (set a longer limit with {timeout=N})"}
    elif not done:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        how = f"was killed by signal {signal.Signals(sig).name}" if sig else f"exited with status {code}"
        if sig == signal.SIGKILL:
            how += " (out of memory?)"
        result["crash"] = {"index": current, "kind": "crash",
                           "message": f"the interpreter running this block {how}; os._exit, a segfault or "
                                      "exhausted memory end a note this way"}
    return result


def main() -> None:
    _warm()
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        try:
            res = run_job(job)
        except Exception as exc:  # noqa: BLE001
            res = {"id": job.get("id"), "blocks": [], "done": False,
                   "crash": {"index": None, "kind": "crash", "message": f"runner failure: {exc}"}}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
