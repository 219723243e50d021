#!/usr/bin/env python3
"""Stage-by-stage timing of one `neuralpath build` without a profiler, and the build's peak memory.

    .venv/bin/python bench/stages.py SITE [--no-search] [--clean]

Prints each stage line with the seconds since the start, then the build's stats, and the peak of the
summed proportional set size (PSS) of the build's process tree (this process and its render workers,
sampled every 0.2 s from /proc).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import _tree_rss  # noqa: E402  (PSS of a process tree)

from neuralpath.build import BuildOptions, build  # noqa: E402
from neuralpath.progress import Progress  # noqa: E402


class StageLines(Progress):
    def __init__(self):
        super().__init__(stream=sys.stdout, live=False)

    def line(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.2f}] {msg}", flush=True)

    def task(self, name: str, total: int):
        self.line(f"start {name} ({total})")
        return super().task(name, total)


def main() -> None:
    site = Path(sys.argv[1])
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(os.getpid()))
            done.wait(0.2)

    threading.Thread(target=sample, daemon=True).start()
    result = build(site, BuildOptions(progress=StageLines(), search="--no-search" not in sys.argv,
                                      clean="--clean" in sys.argv))
    done.set()
    print(result.stats)
    print(f"total {result.seconds:.2f} s; peak memory (process tree PSS) {peak[0] / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
