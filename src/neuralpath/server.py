"""An ASGI app (Starlette) that serves one built site folder and nothing outside it.

Paths are normalised and must stay inside the site: `..`, encoded dots, backslashes and absolute
paths give 404. HEAD and conditional requests (ETag / If-None-Match, Last-Modified) are handled by
Starlette's FileResponse.
"""

from __future__ import annotations

from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route


def resolve_path(site: Path, url_path: str) -> Path | None:
    """Map a URL path to a file inside `site`, or None when it does not exist or escapes the site."""
    raw = unquote(url_path)
    if "\x00" in raw or "\\" in raw:
        return None
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    target = site.joinpath(*parts) if parts else site
    try:
        real = target.resolve()
    except (OSError, RuntimeError):
        return None
    if real != site and site not in real.parents:
        return None
    if real.is_dir():
        real = real / "index.html"
    return real if real.is_file() else None


def _not_modified_since(header: str, mtime: float) -> bool:
    try:
        return int(mtime) <= parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return False


def create_app(site_dir: Path, inject: str | None = None, extra_routes=(), lifespan=None) -> Starlette:
    site = Path(site_dir).resolve()

    async def handle(request: Request) -> Response:
        path = request.url.path
        target = resolve_path(site, path)
        if target is None:
            missing = site / "404.html"
            body = missing.read_bytes() if missing.is_file() else b"Not found"
            return HTMLResponse(body, status_code=404)
        if target.name == "index.html" and not path.endswith("/") and not path.endswith("index.html"):
            return RedirectResponse(path + "/", status_code=301)
        if inject and target.suffix == ".html":
            html = target.read_text(encoding="utf-8").replace("</body>", inject + "</body>", 1)
            return HTMLResponse(html, status_code=404 if target.name == "404.html" and path != "/404.html" else 200,
                                headers={"Cache-Control": "no-store"})
        st = target.stat()
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        last_modified = formatdate(st.st_mtime, usegmt=True)
        inm = request.headers.get("if-none-match")
        ims = request.headers.get("if-modified-since")
        if (inm and etag in [t.strip() for t in inm.split(",")]) or (
                not inm and ims and _not_modified_since(ims, st.st_mtime)):
            return Response(status_code=304, headers={"ETag": etag, "Last-Modified": last_modified})
        return FileResponse(target, stat_result=st, headers={"ETag": etag, "Last-Modified": last_modified,
                                                             "Cache-Control": "no-cache"})

    routes = [*extra_routes, Route("/{path:path}", handle, methods=["GET", "HEAD"])]
    return Starlette(routes=routes, lifespan=lifespan)
