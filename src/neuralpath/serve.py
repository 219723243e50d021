"""`neuralpath serve`: build, serve on 127.0.0.1, watch the sources, rebuild what changed, reload browsers.

Rebuilds use the same build cache as `neuralpath build`, so a rebuild after saving one note parses and
renders that note and re-renders only the pages whose content changed (the note, and the pages that
list or link to it when its title or summary changed); their files are moved into place in the output. Open
pages hold a server-sent-events connection; after a rebuild they reload, after a failed build they show
an overlay with the same `path:line:col` messages the terminal prints; a rebuild that wrote and removed
nothing reloads no page (it only clears the overlay of a failed build). The reload script is injected
by the server into HTML responses only; files written by `neuralpath build` never contain it.

An event stream ends as soon as its browser disconnects or the server stops (`DevServer.stop`, which the
uvicorn server from `DevServer.uvicorn_server` calls when it shuts down), and the watcher thread ends with
the app's lifespan. `watching`, `wait_for_clients` and `wait_for_rebuilds` let a caller (the tests) wait
for the watcher, a connected browser or a finished rebuild instead of sleeping.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
import traceback
from contextlib import asynccontextmanager
from pathlib import Path

from neuralpath.build import BuildOptions, build
from neuralpath.errors import BuildFailed, UsageError
from neuralpath.write import MARKER

EVENTS = "/__neuralpath/events"

RELOAD_SCRIPT = """<script>(function(){var es=new EventSource("%s");
function overlay(t){var d=document.getElementById("np-overlay");if(!d){d=document.createElement("div");d.id="np-overlay";
d.setAttribute("role","alert");d.style.cssText="position:fixed;left:0;right:0;top:0;max-height:70vh;overflow:auto;background:#3a0d0d;color:#fff;font:14px/1.5 ui-monospace,monospace;padding:16px 20px;z-index:2147483647;white-space:pre-wrap;box-shadow:0 4px 16px rgba(0,0,0,.4)";
document.body.appendChild(d)}d.textContent="neuralpath: build failed\\n\\n"+t}
es.onmessage=function(e){var m=JSON.parse(e.data);if(m.type==="reload"){location.reload()}
else if(m.type==="error"){overlay(m.text)}else if(m.type==="ok"){var d=document.getElementById("np-overlay");if(d)d.remove()}};
})();</script>""" % EVENTS


class DevServer:
    """Owns the build state and the connected browsers; `rebuild()` is safe to call from any thread.

    Observable state (for callers in other threads): `watching` is set once the file watcher is in
    place (changes from then on trigger a rebuild); `clients` holds a queue per connected browser
    (`wait_for_clients`); `rebuilds` counts finished rebuilds, failed ones included
    (`wait_for_rebuilds`), and `reloads` the reloads sent.
    """

    def __init__(self, root: Path, drafts: bool = False, output: Path | None = None, quiet: bool = False):
        self.root = Path(root).resolve()
        self.drafts = drafts
        self.output = output or self.root / ".neuralpath" / "serve"
        self.lock = threading.Lock()  # one rebuild at a time
        self.clients: set[asyncio.Queue] = set()  # changed in the event loop's thread only
        self.loop: asyncio.AbstractEventLoop | None = None
        self.last_error: str | None = None
        self.quiet = quiet
        self.builds = 0  # successful builds
        self.rebuilds = 0  # finished builds, failed ones included
        self.reloads = 0  # reload messages sent
        self.last_seconds = 0.0
        self.last_stats: dict = {}  # the last successful build's stats
        self.watching = threading.Event()
        self._state = threading.Condition()  # notified when clients, rebuilds or reloads change
        self._stop_watch = threading.Event()
        self._watcher: threading.Thread | None = None
        self._closing = False  # set in the loop's thread by stop(): event streams end, new ones end at once

    # -- building ------------------------------------------------------------------------------
    def rebuild(self, search: bool = True) -> bool:
        """Build into the served folder; with search, an edit's notes go to the index's delta bundle
        (search.py), about 10 ms of Pagefind, so what a reader searches for is what the page says."""
        with self.lock:
            try:
                return self._rebuild(search)
            finally:
                with self._state:
                    self.rebuilds += 1
                    self._state.notify_all()

    def _rebuild(self, search: bool) -> bool:
        t0 = time.perf_counter()
        failed_before = self.last_error is not None
        # only the first build (before the server's threads start) may fork render workers
        opts = BuildOptions(output=self.output, drafts=self.drafts, search=search, reuse_search=not search,
                            jobs=0 if self.builds == 0 and self.last_error is None else 1)
        try:
            result = build(self.root, opts)
        except BuildFailed as e:
            self.last_error = e.report.as_text()
            self._log(self.last_error + f"\nbuild failed: {len(e.report.errors)} error(s); waiting for changes")
            self.broadcast({"type": "error", "text": self.last_error})
            return False
        self.builds += 1
        self.last_seconds = time.perf_counter() - t0
        self.last_error = None
        warn = result.report.as_text()
        if warn:
            self._log(warn)
        stats = self.last_stats = dict(result.stats)
        written, removed = stats.get("written", 0), stats.get("removed", 0)
        changed = not stats.get("unchanged") and bool(written or removed)
        self._log(f"rebuilt in {self.last_seconds * 1000:.0f} ms ({stats.get('bodies_rendered', 0)} "
                  f"bodies rendered, {written} files written" + (f", {removed} removed" if removed else "") + ")"
                  + ("" if changed or self.rebuilds == 0 else "; the site did not change: no reload"))
        if changed:
            with self._state:
                self.reloads += 1
                self._state.notify_all()
            self.broadcast({"type": "reload"})
        elif failed_before:
            self.broadcast({"type": "ok"})  # the pages shown are current: only the overlay goes
        return True

    def _log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=sys.stderr, flush=True)

    # -- browsers ------------------------------------------------------------------------------
    def broadcast(self, msg: dict) -> None:
        """Send `msg` to every connected browser; from any thread."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._deliver, msg)
        except RuntimeError:  # the loop closed meanwhile: nobody is listening
            pass

    def _deliver(self, msg: dict | None) -> None:
        for q in list(self.clients):
            q.put_nowait(msg)

    def _set_clients(self, change, q: asyncio.Queue) -> None:
        with self._state:
            change(q)
            self._state.notify_all()

    def wait_for_clients(self, count: int, timeout: float = 10) -> bool:
        """Wait until exactly `count` browsers are connected (their queues registered); False on timeout."""
        with self._state:
            return self._state.wait_for(lambda: len(self.clients) == count, timeout)

    def wait_for_rebuilds(self, count: int, timeout: float = 30) -> bool:
        """Wait until `count` rebuilds (failed ones included) have finished; False on timeout."""
        with self._state:
            return self._state.wait_for(lambda: self.rebuilds >= count, timeout)

    def stop(self) -> None:
        """End every event stream (and refuse new ones) and stop the watcher; from any thread. The
        uvicorn server of `uvicorn_server` calls it when it shuts down, before it waits for open
        connections to finish."""
        self._stop_watch.set()
        loop = self.loop
        if loop is None or loop.is_closed():
            return

        def close():
            self._closing = True
            self._deliver(None)

        try:
            loop.call_soon_threadsafe(close)
        except RuntimeError:
            pass

    async def _stream(self, request):
        """One browser's event stream: a comment once connected, then one `data:` line per message, a
        comment every 15 s; it ends when the browser disconnects or the server stops."""
        q: asyncio.Queue = asyncio.Queue()
        self._set_clients(self.clients.add, q)
        gone = asyncio.ensure_future(_disconnected(request.receive))
        get: asyncio.Future | None = None
        try:
            if self._closing:
                return
            if self.last_error:
                q.put_nowait({"type": "error", "text": self.last_error})
            yield ": connected\n\n"
            while True:
                if get is None:
                    get = asyncio.ensure_future(q.get())
                done, _ = await asyncio.wait((get, gone), timeout=15, return_when=asyncio.FIRST_COMPLETED)
                if gone in done:
                    return
                if get in done:
                    msg, get = get.result(), None
                    if msg is None:  # stop()
                        return
                    yield f"data: {json.dumps(msg)}\n\n"
                else:
                    yield ": keep-alive\n\n"
        finally:
            for task in (get, gone):
                if task is not None:
                    task.cancel()
            self._set_clients(self.clients.discard, q)

    # -- watching ------------------------------------------------------------------------------
    def watched(self) -> list[Path]:
        from neuralpath.config import load_config
        from neuralpath.errors import Report
        cfg = load_config(self.root, Report(self.root))
        paths = [cfg.content_dir]
        if (self.root / "neuralpath.toml").is_file():
            paths.append(self.root / "neuralpath.toml")
        paths.append(cfg.bib_path)  # the BibTeX file (watched when it exists)
        paths.append(Path(__file__).parent / "layout")
        return [p for p in paths if p.exists()]

    def relevant(self, path: str) -> bool:
        p = Path(path)
        if any(part.startswith(".") or part in ("__pycache__", "node_modules") for part in p.parts[-3:]):
            return False
        return not p.name.endswith(("~", ".swp", ".tmp"))

    def watch(self) -> None:
        """Watch the sources and rebuild after each batch of relevant changes until `stop()`; runs in a
        thread of its own (the rebuild runs there too; changes made meanwhile are collected by the
        watcher and give the next batch)."""
        from watchfiles import watch

        ready, stop = self.watching, self._stop_watch

        class StopEvent:
            # watchfiles calls is_set() on every step of its wait, and only once its watches are in
            # place (RustNotify registers them when it is created): the first call means "watching"
            def is_set(self) -> bool:
                if not ready.is_set():
                    ready.set()
                return stop.is_set()

        try:
            for changes in watch(*self.watched(), debounce=30, step=10, stop_event=StopEvent(),
                                 raise_interrupt=False):
                if stop.is_set():
                    break
                if any(self.relevant(path) for _, path in changes):
                    try:
                        self.rebuild()
                    except Exception:  # noqa: BLE001 - an engine bug must not stop the watcher
                        self._log(traceback.format_exc() + "rebuild crashed; waiting for changes")
        except Exception:  # noqa: BLE001
            self._log(traceback.format_exc() + "the file watcher stopped: restart `neuralpath serve`")
        finally:
            self.watching.clear()

    # -- serving -------------------------------------------------------------------------------
    def app(self):
        from starlette.requests import Request
        from starlette.responses import StreamingResponse
        from starlette.routing import Route

        from neuralpath.server import create_app

        async def events(request: Request):
            return StreamingResponse(self._stream(request), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

        @asynccontextmanager
        async def lifespan(app):
            self.loop = asyncio.get_running_loop()
            self._closing = False
            self._stop_watch = threading.Event()
            self.watching.clear()
            self._watcher = threading.Thread(target=self.watch, name="neuralpath-watch")
            self._watcher.start()
            try:
                yield
            finally:
                self.stop()
                await asyncio.to_thread(self._watcher.join)  # a rebuild under way finishes first
                self._watcher = None

        return create_app(self.output, inject=RELOAD_SCRIPT, extra_routes=[Route(EVENTS, events)],
                          lifespan=lifespan)

    def uvicorn_server(self, host: str = "127.0.0.1", port: int = 8000, **config):
        """A uvicorn server for `app()` that ends the event streams when it shuts down (uvicorn waits
        for open responses before it runs the lifespan's shutdown, and an event stream never ends on
        its own)."""
        import uvicorn

        dev = self

        class Server(uvicorn.Server):
            async def shutdown(self, *args, **kwargs):
                dev.stop()
                await super().shutdown(*args, **kwargs)

        config.setdefault("log_level", "warning")
        return Server(uvicorn.Config(self.app(), host=host, port=port, **config))


async def _disconnected(receive) -> None:
    """Return once the client has gone (ASGI `http.disconnect`); the request body is read and dropped."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _check_port(host: str, port: int) -> None:
    """Fail before building when the address cannot be listened on (a port in use, a foreign host)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as e:
            hint = f"; choose another with --port (e.g. --port {port + 1})" if e.errno in (48, 98) else ""
            raise UsageError(f"cannot listen on {host}:{port}: {e.strerror}{hint}") from None


def serve(root: Path, host: str = "127.0.0.1", port: int = 8000, drafts: bool = False,
          open_browser: bool = False, quiet: bool = False) -> int:
    _check_port(host, port)
    dev = DevServer(root, drafts=drafts, quiet=quiet)
    if not dev.rebuild(search=True) and dev.builds == 0 and not dev.output.exists():
        # the first build failed and there is nothing to show yet: serve the overlay on an empty site
        dev.output.mkdir(parents=True, exist_ok=True)
        (dev.output / "index.html").write_text("<!doctype html><title>Build failed</title><body></body>")
        (dev.output / MARKER).write_text("placeholder written by `neuralpath serve` after a failed first build\n")
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {host} exposes your drafts to the network", file=sys.stderr)
    url = f"http://{'localhost' if host == '127.0.0.1' else host}:{port}/"
    print(f"serving {url} (watching for changes; Ctrl-C stops)", file=sys.stderr)
    if open_browser:
        import webbrowser
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = dev.uvicorn_server(host, port)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror}")
    except SystemExit:
        if server.started:
            raise
        # uvicorn printed why (e.g. the port is taken) and exits when it cannot start
        raise UsageError(f"cannot listen on {host}:{port}") from None
    return 0
