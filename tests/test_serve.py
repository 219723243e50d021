"""The dev server on loopback: pages, path traversal, live reload over SSE, error overlay, incremental writes.

Nothing here sleeps for a guessed time: tests wait for the server's own signals (the watcher is in place,
a browser's stream is registered, a rebuild finished) and for messages on the stream.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import threading

import pytest

from conftest import MODULE, note, running
from neuralpath.build import BuildOptions, build
from neuralpath.serve import EVENTS, DevServer

SITE = {
    f"{MODULE}/01-a.md": note("Alpha", "## Part\n\nAlpha text with $x$.\n"),
    f"{MODULE}/02-b.md": note("Beta", "Beta text.\n"),
    f"{MODULE}/03-c.md": note("Gamma", "Gamma text.\n"),
    "content/secret.txt": "not for the web",
}


@pytest.fixture
def dev(site):
    root = site(SITE)
    server = DevServer(root, quiet=True)
    assert server.rebuild()
    with running(server) as port:
        assert server.watching.wait(10), "the file watcher did not start"
        yield root, server, port


def request(port, path, method="GET", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, headers=headers or {})  # the path is sent exactly as given
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


class SSE:
    """A minimal server-sent-events client in a thread, collecting messages."""

    def __init__(self, port):
        self.messages = []  # not yet taken by wait_for
        self.received = []  # every message, in order
        self.changed = threading.Condition()
        self.connected = threading.Event()  # the stream's ": connected" comment arrived
        self.ended = threading.Event()  # the server closed the stream (or the socket failed)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(f"GET {EVENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        buf = b""
        try:
            while chunk := self.sock.recv(65536):
                *lines, buf = (buf + chunk).split(b"\n")
                for line in lines:  # chunk sizes and headers are lines too: only ours are looked at
                    if line.startswith(b": connected"):
                        self.connected.set()
                    elif line.startswith(b"data: "):
                        with self.changed:
                            msg = json.loads(line[6:])
                            self.messages.append(msg)
                            self.received.append(msg)
                            self.changed.notify_all()
        except OSError:
            pass
        finally:
            self.ended.set()

    def wait_for(self, kind, timeout=20):
        with self.changed:
            if not self.changed.wait_for(lambda: any(m["type"] == kind for m in self.messages), timeout):
                raise AssertionError(f"no {kind!r} event; got {self.messages}")
            m = next(m for m in self.messages if m["type"] == kind)
            self.messages.remove(m)
            return m

    def kinds(self):
        with self.changed:
            return [m["type"] for m in self.received]

    def close(self):
        try:  # shutdown first: close() alone sends nothing while the reader thread is blocked in recv()
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=10)


def connect(server, port, clients=1):
    """An SSE client whose stream the server has registered: from then on every broadcast reaches it."""
    sse = SSE(port)
    assert server.wait_for_clients(clients), f"{len(server.clients)} clients connected, expected {clients}"
    assert sse.connected.wait(10)
    return sse


def test_serves_pages_and_injects_reload_only_when_serving(dev):
    root, server, port = dev
    status, headers, body = request(port, "/notes/a/")
    assert status == 200 and b"Alpha text" in body and EVENTS.encode() in body
    on_disk = (server.output / "notes/a/index.html").read_text()
    assert EVENTS not in on_disk  # the file on disk (what `build` writes) has no reload script
    assert request(port, "/notes/a")[0] == 301


@pytest.mark.parametrize("path", ["/../neuralpath.toml", "/notes/../../neuralpath.toml", "/%2e%2e/neuralpath.toml",
                                  "/%2e%2e%2f%2e%2e%2fneuralpath.toml", "/..%5c..%5cneuralpath.toml", "//etc/passwd",
                                  "/etc/passwd", "/content/secret.txt", "/%00"])
def test_traversal_attempts_get_404(dev, path):
    root, server, port = dev
    status, _, body = request(port, path)
    assert status == 404
    assert b"not for the web" not in body and b"[site]" not in body


def test_head_and_conditional_requests(dev):
    root, server, port = dev
    css = "/" + re.search(r'href="/(assets/site\.[0-9a-f]+\.css)"', request(port, "/")[2].decode()).group(1)
    status, headers, body = request(port, css, "HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 1000
    etag = headers["etag"]
    assert request(port, css, headers={"If-None-Match": etag})[0] == 304
    assert request(port, css, headers={"If-Modified-Since": headers["last-modified"]})[0] == 304
    assert request(port, css, headers={"If-None-Match": '"other"'})[0] == 200


def test_edit_reloads_browser_and_rewrites_only_affected_pages(dev):
    root, server, port = dev
    out = server.output
    inode = lambda rel: (out / rel).stat().st_ino
    before = {rel: inode(rel) for rel in ("notes/a/index.html", "notes/c/index.html", "modules/01-algebra/index.html")}
    sse = connect(server, port)
    path = root / MODULE / "01-a.md"
    path.write_text(path.read_text().replace("Alpha text", "Alpha edited"))
    sse.wait_for("reload")
    assert b"Alpha edited" in request(port, "/notes/a/")[2]
    assert inode("notes/a/index.html") != before["notes/a/index.html"]  # rewritten
    assert inode("notes/c/index.html") == before["notes/c/index.html"]  # untouched: same file, hard-linked
    # a title change also changes the pages that list the note (module page), and not unrelated notes
    path.write_text(path.read_text().replace('title: "Alpha"', 'title: "Alpha Renamed"'))
    sse.wait_for("reload")
    assert b"Alpha Renamed" in request(port, "/modules/01-algebra/")[2]
    assert inode("modules/01-algebra/index.html") != before["modules/01-algebra/index.html"]
    assert inode("notes/c/index.html") == before["notes/c/index.html"]
    sse.close()


def test_error_overlay_appears_and_clears(dev):
    root, server, port = dev
    sse = connect(server, port)
    path = root / MODULE / "02-b.md"
    good = path.read_text()
    path.write_text(good + "\nBroken $\\frac{1}{$ math.\n")
    msg = sse.wait_for("error")
    assert "02-b.md:7:" in msg["text"] and "TeX error" in msg["text"]
    assert request(port, "/notes/b/")[0] == 200  # the last good site is still served
    path.write_text(good)
    sse.wait_for("ok")  # the overlay goes; the site is as it was before the error, so no reload
    assert "reload" not in sse.kinds()
    sse.close()


def test_deleted_and_renamed_notes(dev):
    root, server, port = dev
    sse = connect(server, port)
    (root / MODULE / "03-c.md").rename(root / MODULE / "03-delta.md")
    sse.wait_for("reload")
    assert request(port, "/notes/c/")[0] == 404
    assert request(port, "/notes/delta/")[0] == 200
    sse.close()


def test_rebuild_that_changes_nothing_sends_no_reload(dev):
    root, server, port = dev
    sse = connect(server, port)
    path = root / MODULE / "02-b.md"
    rebuilds, reloads = server.rebuilds, server.reloads
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched: newer, same content
    assert server.wait_for_rebuilds(rebuilds + 1), "touching a note started no rebuild"
    assert server.last_stats.get("written", 0) == 0 and server.last_stats.get("removed", 0) == 0
    path.write_text(path.read_text())  # saved with identical content
    assert server.wait_for_rebuilds(rebuilds + 2), "saving a note started no rebuild"
    assert server.reloads == reloads
    path.write_text(path.read_text().replace("Beta text", "Beta edited"))
    sse.wait_for("reload")
    assert server.reloads > reloads
    assert b"Beta edited" in request(port, "/notes/b/")[2]
    # the stream is ordered: a reload sent for the touch or the identical save would have come first
    assert sse.kinds() == ["reload"]
    sse.close()


def test_streams_end_with_their_client_and_with_the_server(site):
    root = site({f"{MODULE}/01-a.md": note("Alpha", "Alpha text.\n")})
    server = DevServer(root, quiet=True)
    assert server.rebuild()
    threads_before = set(threading.enumerate())
    with running(server) as port:
        assert server.watching.wait(10)
        leaving = connect(server, port)
        staying = connect(server, port, clients=2)
        leaving.close()
        # the server notices the disconnect at once, not at the next 15 s keep-alive
        assert server.wait_for_clients(1, timeout=2), "a closed client is still registered"
        assert not staying.ended.is_set()
    # running() has checked that the uvicorn thread ended: stopping the server ended the open stream
    assert staying.ended.wait(5), "stopping the server left an event stream open"
    staying.close()
    assert not server.clients and not server.watching.is_set()
    left = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    assert left == [], f"threads outlived the server: {left}"
    # (threads other tests left behind, such as a browser driver's executor, are not this server's)
    assert [t for t in threading.enumerate() if not t.daemon and t not in threads_before] == []


def test_build_output_has_no_reload_script(site, tmp_path):
    root = site({f"{MODULE}/01-a.md": note("A", "x")})
    result = build(root, BuildOptions())
    for page in result.output.rglob("*.html"):
        assert EVENTS not in page.read_text()


def test_incremental_build_renders_only_the_changed_note(site):
    files = {f"{MODULE}/{i:02d}-n{i}.md": note(f"N{i}", f"Body {i} with $x_{i}$.\n") for i in range(1, 11)}
    root = site(files)
    first = build(root, BuildOptions(search=False))
    assert first.stats["bodies_rendered"] == 10
    unchanged = build(root, BuildOptions(search=False))
    assert unchanged.stats["bodies_rendered"] == 0 and unchanged.stats["parsed"] == 0
    assert unchanged.stats["written"] == 0
    p = root / MODULE / "05-n5.md"
    p.write_text(p.read_text().replace("Body 5", "Body five"))
    one = build(root, BuildOptions(search=False))
    assert one.stats["bodies_rendered"] == 1 and one.stats["parsed"] == 1
    assert one.stats["written"] == 1  # only notes/n5/index.html changed
    clean = build(root, BuildOptions(search=False, clean=True))
    assert clean.stats["bodies_rendered"] == 10
