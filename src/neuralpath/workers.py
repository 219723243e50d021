"""Worker processes: the one place that knows about forking and what workers inherit.

A stage that has many independent items (parsing, rendering math, rendering bodies, writing pages)
asks `can_fork(n)`; if yes it puts what its workers need into `state(...)`, forks a pool with `pool()`,
and maps a module-level function over chunks. Workers read their inputs with `job()`: the state is
copied into each worker by the fork, so nothing is pickled on the way in. Results come back pickled.

Forking is used only where it is safe:
- the platform has `fork` (Linux, and not Windows or macOS' default `spawn`): elsewhere a build runs in
  one process, with the same results;
- V8 (KaTeX) has not started in this process: its threads do not survive a fork;
- the build cache is a file, so each worker opens a connection of its own;
- there are enough items to repay starting the workers (`MIN_TASKS`).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from neuralpath.markdown import katex

MIN_TASKS = 24  # fewer items than this are done in the parent: a fork costs ~20 ms per worker

_STATE: dict | None = None  # what the running stage's workers read (set in the parent before the fork)


def fork_available() -> bool:
    """Whether this platform can fork worker processes that inherit the parent's memory."""
    if not hasattr(os, "fork") or sys.platform in ("win32", "darwin"):  # macOS: fork is unsafe with threads
        return False
    import multiprocessing  # here: a build that forks nothing does not import it

    return "fork" in multiprocessing.get_all_start_methods()


def jobs(requested: int = 0) -> int:
    """Worker processes to use: `requested`, or one per core."""
    return requested or os.cpu_count() or 1


def can_fork(tasks: int, requested_jobs: int, cache_on_disk: bool) -> bool:
    """Worth and safe to fork workers for `tasks` items (see the module docstring)."""
    return (tasks >= MIN_TASKS and jobs(requested_jobs) > 1 and cache_on_disk and not katex.V8_STARTED
            and fork_available())


@contextmanager
def state(**values):
    """Make `values` what the workers forked inside this block see through `job()`."""
    global _STATE
    previous, _STATE = _STATE, values
    try:
        yield
    finally:
        _STATE = previous


def job() -> dict:
    """In a worker: the state the parent set before forking it."""
    if _STATE is None:
        raise RuntimeError("job() called outside a worker state")
    return _STATE


def pool(requested_jobs: int = 0, initializer=None):
    """A pool of forked workers (use as a context manager). Call only when `can_fork` says so."""
    import multiprocessing

    return multiprocessing.get_context("fork").Pool(jobs(requested_jobs), initializer=initializer)
