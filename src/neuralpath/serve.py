"""`neuralpath serve`: build, serve on 127.0.0.1, watch the sources, rebuild what changed, reload browsers.

Rebuilds use the same build cache as `neuralpath build`, so a rebuild after saving one note parses and
renders that note and re-renders only the pages whose content changed (the note, and the pages that
list or link to it when its title or summary changed); their files are moved into place in the output. Open
pages hold a server-sent-events connection; after a rebuild they reload, after a failed build they show
an overlay with the same `path:line:col` messages the terminal prints. The reload script is injected
by the server into HTML responses only; files written by `neuralpath build` never contain it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
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
    """Owns the build state and the connected browsers; `rebuild()` is safe to call from any thread."""

    def __init__(self, root: Path, drafts: bool = False, output: Path | None = None, quiet: bool = False):
        self.root = Path(root).resolve()
        self.drafts = drafts
        self.output = output or self.root / ".neuralpath" / "serve"
        self.lock = threading.Lock()
        self.clients: set[asyncio.Queue] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.last_error: str | None = None
        self.quiet = quiet
        self.builds = 0
        self.last_seconds = 0.0

    def rebuild(self, search: bool = False) -> bool:
        with self.lock:
            t0 = time.perf_counter()
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
            self._log(f"rebuilt in {self.last_seconds * 1000:.0f} ms ({result.stats.get('bodies_rendered', 0)} "
                      f"bodies rendered, {result.stats.get('written', 0)} files written)")
            self.broadcast({"type": "reload"})
            return True

    def _log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=sys.stderr, flush=True)

    def broadcast(self, msg: dict) -> None:
        loop = self.loop
        if loop is None:
            return
        for q in list(self.clients):
            loop.call_soon_threadsafe(q.put_nowait, msg)

    def watched(self) -> list[Path]:
        from neuralpath.config import load_config
        from neuralpath.errors import Report
        cfg = load_config(self.root, Report(self.root))
        paths = [cfg.content_dir]
        if (self.root / "neuralpath.toml").is_file():
            paths.append(self.root / "neuralpath.toml")
        paths.append(Path(__file__).parent / "layout")
        return [p for p in paths if p.exists()]

    def relevant(self, path: str) -> bool:
        p = Path(path)
        if any(part.startswith(".") or part in ("__pycache__", "node_modules") for part in p.parts[-3:]):
            return False
        return not p.name.endswith(("~", ".swp", ".tmp"))

    async def watch(self) -> None:
        from watchfiles import awatch
        async for changes in awatch(*self.watched(), debounce=30, step=10):
            if any(self.relevant(path) for _, path in changes):
                await asyncio.to_thread(self.rebuild)

    def app(self):
        from starlette.requests import Request
        from starlette.responses import StreamingResponse
        from starlette.routing import Route

        from neuralpath.server import create_app

        async def events(request: Request):
            q: asyncio.Queue = asyncio.Queue()
            self.clients.add(q)
            if self.last_error:
                q.put_nowait({"type": "error", "text": self.last_error})

            async def stream():
                try:
                    yield ": connected\n\n"
                    while True:
                        try:
                            msg = await asyncio.wait_for(q.get(), timeout=15)
                            yield f"data: {json.dumps(msg)}\n\n"
                        except asyncio.TimeoutError:
                            yield ": keep-alive\n\n"
                        if await request.is_disconnected():
                            break
                finally:
                    self.clients.discard(q)

            return StreamingResponse(stream(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

        @asynccontextmanager
        async def lifespan(app):
            self.loop = asyncio.get_running_loop()
            task = asyncio.create_task(self.watch())
            try:
                yield
            finally:
                task.cancel()

        return create_app(self.output, inject=RELOAD_SCRIPT, extra_routes=[Route(EVENTS, events)],
                          lifespan=lifespan)


def serve(root: Path, host: str = "127.0.0.1", port: int = 8000, drafts: bool = False,
          open_browser: bool = False) -> int:
    import uvicorn

    dev = DevServer(root, drafts=drafts)
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
    try:
        uvicorn.run(dev.app(), host=host, port=port, log_level="warning")
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror}")
    return 0
