"""Save-to-reload latency of `neuralpath serve`, and `build` time after one changed note.

    .venv/bin/python bench/serve_bench.py [SITE ...]      (default: the bundled site)

For each site: start the dev server on a loopback port, open a server-sent-events connection like a
browser, append a sentence to one note, and time from the file write to the "reload" message (median
of 9 edits). Then time `neuralpath build` (CLI, caches on disk) after one changed note. Prints figures;
restores every file it edits.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def sse_wait(port: int, fire, timeout: float = 60.0) -> float:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(b"GET /__neuralpath/events HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while b": connected" not in buf:
        buf += sock.recv(4096)
    t0 = time.perf_counter()
    fire()
    while True:
        chunk = sock.recv(65536)
        buf += chunk
        for line in buf.split(b"\n"):
            if line.startswith(b"data: ") and json.loads(line[6:])["type"] in ("reload", "error"):
                sock.close()
                return time.perf_counter() - t0
        buf = buf[buf.rfind(b"\n") + 1:]


def bench(site: Path) -> None:
    from conftest import running
    from neuralpath.serve import DevServer
    dev = DevServer(site, quiet=True)
    t = time.perf_counter()
    dev.rebuild(search=False)
    first = time.perf_counter() - t
    notes = sorted((site / "content").rglob("*.md")) if (site / "content").is_dir() else sorted(site.rglob("*.md"))
    note = next(p for p in notes if not p.name.startswith("_") and "status: planned" not in p.read_text())
    original = note.read_text()
    times = []
    try:
        with running(dev.app()) as port:
            time.sleep(0.5)
            for i in range(9):
                times.append(sse_wait(port, lambda: note.write_text(original + f"\nEdit number {i}.\n")))
                time.sleep(0.3)
        one = {}
        for label, flags in (("no search index", ["--no-search"]), ("with the search index", [])):
            note.write_text(original)
            subprocess.run([sys.executable, "-m", "neuralpath", "build", "-q", *flags, str(site)], check=True)
            note.write_text(original + "\nOne more sentence.\n")
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "neuralpath", "build", "-q", *flags, str(site)], check=True)
            one[label] = time.perf_counter() - t
    finally:
        note.write_text(original)
    print(f"{site}: first dev build {first:.2f} s; save-to-reload median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); CLI build after one changed note: "
          + ", ".join(f"{v:.2f} s ({k})" for k, v in one.items()))


if __name__ == "__main__":
    for arg in sys.argv[1:] or [str(REPO)]:
        bench(Path(arg).resolve())
