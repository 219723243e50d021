"""`neuralpath serve`: build, then serve the output folder on a local port (127.0.0.1 by default)."""

from __future__ import annotations

import sys
from pathlib import Path


def serve(root: Path, host: str = "127.0.0.1", port: int = 8000, drafts: bool = False,
          open_browser: bool = False) -> int:
    from neuralpath.build import BuildOptions, build
    from neuralpath.server import create_app
    import uvicorn

    result = build(root, BuildOptions(drafts=drafts))
    print(f"built {result.pages} pages in {result.seconds:.2f}s; serving http://{host}:{port}/ (Ctrl-C stops)",
          file=sys.stderr)
    if open_browser:
        import webbrowser
        webbrowser.open(f"http://{host}:{port}/")
    uvicorn.run(create_app(result.output), host=host, port=port, log_level="warning")
    return 0
