"""Progress display for long builds, on stderr.

On a terminal: stage lines prefixed with the elapsed time, and a live bar (rich) while bodies are
rendered and pages written. Elsewhere (CI logs, pipes): the same stage lines, plain, and no bars.
`neuralpath build --quiet` passes no Progress at all.
"""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, stream=None, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.live = self.stream.isatty() if live is None else live

    def line(self, msg: str) -> None:
        if self.live:
            msg = f"[{time.perf_counter() - self.t0:5.2f}s] {msg}"
        print(msg, file=self.stream, flush=True)

    def task(self, name: str, total: int) -> "Task":
        return Task(self, name, total)


class Task:
    """A counted step: a transient rich bar on a terminal when the step is big enough to watch."""

    MIN_TOTAL = 50

    def __init__(self, progress: Progress, name: str, total: int):
        self.bar = None
        if progress.live and total >= self.MIN_TOTAL:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn
            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           console=Console(file=progress.stream), transient=True)
            self.bar.start()
            self.id = self.bar.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.advance(self.id, n)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
