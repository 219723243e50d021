"""Reading a text file: UTF-8 decoding, line endings, YAML front matter with line numbers.

Front matter is loaded with PyYAML's safe loader only; anchors and aliases are refused (front matter
never needs them, and they are the vector for "billion laughs" expansion).
"""

from __future__ import annotations

import hashlib
import pickle
import re
from pathlib import Path

from neuralpath.content.model import Source
from neuralpath.errors import Report

FENCE = re.compile(r"^---[ \t]*$")
CLOSING = re.compile(r"^(?:---[ \t]*|\.\.\.\s*)$", re.M)  # the line that ends front matter
MAX_BYTES = 50 * 1024 * 1024


def decode(path: Path, raw: bytes, report: Report) -> str | None:
    """UTF-8 (a BOM is accepted) with CRLF and CR normalised to LF; else a located error."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        report.error(path, line, f"file is not UTF-8: invalid byte 0x{raw[e.start]:02x} at byte offset "
                     f"{e.start}; re-save the file as UTF-8", col=col, rule="encoding")
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        i = text.index("\x00")
        report.error(path, text.count("\n", 0, i) + 1, "file contains a NUL character; is it a binary file?",
                     rule="encoding")
        return None
    return text


_SOURCES: dict[Path, tuple[int, int, Source]] = {}  # path -> (size, mtime, Source): re-read only after a change
# Set by the build: what earlier builds read cleanly, by path: (size, mtime_ns, stored front matter). A file
# whose size and mtime match is not read: its front matter comes from here and its body is read on demand.
STORED: dict[str, tuple[int, int, bytes]] | None = None
FRESH: list[tuple[Path, int, int, Source]] = []  # clean reads from disk since the build last collected them
SEEN: set[str] = set()  # every path asked for while STORED is set


def read_source(path: Path, report: Report) -> Source | None:
    """The file's Source; a long-running process (the dev server) reads an unchanged file only once, and
    a build reads an unchanged file's body only if it needs it."""
    try:
        st = path.stat()
    except OSError:
        st = None
    if STORED is not None:
        SEEN.add(str(path))
    hit = _SOURCES.get(path)
    if st is not None and hit is not None and hit[:2] == (st.st_size, st.st_mtime_ns):
        return hit[2]
    stored = STORED.get(str(path)) if STORED is not None and st is not None else None
    if stored is not None and stored[:2] == (st.st_size, st.st_mtime_ns):
        meta, meta_lines, body_line, key = pickle.loads(stored[2])
        source = Source(path, meta, None, body_line, meta_lines, key=key, reader=lambda: _body_of(path))
        _SOURCES[path] = (st.st_size, st.st_mtime_ns, source)
        return source
    before = len(report.findings)
    source = _read_source(path, report)
    if source is not None and st is not None and len(report.findings) == before:
        _SOURCES[path] = (st.st_size, st.st_mtime_ns, source)
        if STORED is not None:
            FRESH.append((path, st.st_size, st.st_mtime_ns, source))
    return source


def stored_form(source: Source) -> bytes:
    """What `read_source` needs to restore a source without reading its file (see STORED)."""
    return pickle.dumps((source.meta, source.meta_lines, source.body_line, source.key), pickle.HIGHEST_PROTOCOL)


def _body_of(path: Path) -> str:
    """The body of a file whose front matter came from the cache. Should the file have changed since its
    size and mtime were taken, this build uses what is there now and the next one sees the change.
    The front matter is only split off, not parsed again (it is the cached one, which parsed cleanly):
    reading a folder's `_index.md` body after loading imported PyYAML and parsed its front matter."""
    text = _read_text(path, Report(path.parent))
    if text is None:
        return ""
    fence = _fence(text)
    if fence is None:
        return text
    return _after(text, fence[1]) if fence[1] is not None else ""


def _read_source(path: Path, report: Report) -> Source | None:
    text = _read_text(path, report)
    if text is None:
        return None
    return split_front_matter(path, text, report)


def _read_text(path: Path, report: Report) -> str | None:
    """The file's decoded text, or None with the reason reported (unreadable, too large, bad encoding)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        report.error(path, 1, f"cannot read file: {e.strerror}", rule="io")
        return None
    if len(raw) > MAX_BYTES:
        report.error(path, 1, f"file is {len(raw) // 1024 // 1024} MB; the limit is {MAX_BYTES // 1024 // 1024} MB",
                     rule="size")
        return None
    return decode(path, raw, report)


def _fence(text: str) -> tuple[int, re.Match | None] | None:
    """None when `text` has no front matter; else (the end of its opening line, the closing line's match,
    or None when the front matter is not closed)."""
    first = text.find("\n")
    if not FENCE.match(text[:first] if first >= 0 else text):
        return None
    return first, (CLOSING.search(text, first + 1) if first >= 0 else None)


def _after(text: str, close: re.Match) -> str:
    """The body: what follows the closing line."""
    newline = text.find("\n", close.start())
    return text[newline + 1:] if newline >= 0 else ""


def split_front_matter(path: Path, text: str, report: Report) -> Source | None:
    fence = _fence(text)
    if fence is None:
        return Source(path=path, meta={}, body=text, body_line=1)
    first, close = fence
    if close is None:
        report.error(path, 1, "front matter is not closed: add a line '---' after the last field",
                     rule="front-matter")
        return None
    yaml_text = text[first + 1:max(close.start() - 1, first + 1)]
    end = text.count("\n", 0, close.start())  # the closing line's index
    meta, meta_lines = parse_yaml(path, yaml_text, 2, report)
    if meta is None:
        return None
    return Source(path=path, meta=meta, body=_after(text, close), body_line=end + 2, meta_lines=meta_lines)


YAML_MEMO = None  # set by the build to its cache's yaml table: front matter parsed once per distinct text


def parse_yaml(path: Path, text: str, first_line: int, report: Report) -> tuple[dict | None, dict]:
    """Safe-load a YAML mapping; returns (mapping, key -> file line) or (None, {}) after reporting."""
    memo = YAML_MEMO
    if memo is None:
        return _parse_yaml(path, text, first_line, report)
    key = hashlib.blake2b(f"{first_line}\0{text}".encode(), digest_size=16).hexdigest()
    hit = memo.get(key)
    if hit is not None:
        return dict(hit[0]), hit[1]
    before = len(report.findings)
    meta, lines = _parse_yaml(path, text, first_line, report)
    if meta is not None and len(report.findings) == before:  # only clean results: findings must be re-reported
        memo[key] = (meta, lines)
    return meta, lines


def _parse_yaml(path: Path, text: str, first_line: int, report: Report) -> tuple[dict | None, dict]:
    import yaml  # here, not at the top: a build whose front matter is all cached never needs it

    Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: same rules, faster
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        alias = _first_alias(node)
        if alias is not None:
            report.error(path, first_line + alias.start_mark.line, "YAML anchors and aliases (&name, *name) are not "
                         "allowed in front matter", col=alias.start_mark.column + 1, rule="front-matter")
            return None, {}
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        opened = e.context and e.context_mark and ("flow sequence" in e.context or "flow mapping" in e.context)
        if opened:  # an unclosed [ or {: point at where it was opened, not at the line where the parser gave up
            mark = e.context_mark
        line = first_line + (mark.line if mark else 0)
        col = (mark.column + 1) if mark else 1
        last = first_line + text.rstrip("\n").count("\n")
        if line > last:  # the parser stopped at the end of the front matter: point at its last line
            line, col = last, len(text.rstrip("\n").split("\n")[-1]) + 1
        what = (e.problem or "invalid YAML").strip()
        if opened:
            bracket = "[" if "sequence" in e.context else "{"
            what = f"the '{bracket}' here is never closed ({what})"
        if "could not determine a constructor" in str(e):
            what = f"unsupported YAML tag ({what}); front matter takes plain values only"
        elif "unknown escape character" in what:  # `summary: "$A \in \R^n$"`: TeX in double quotes
            what += ("; inside double quotes a backslash starts an escape: put text with TeX in single quotes "
                     "('$A \\in \\R^n$') or double each backslash")
        report.error(path, line, f"invalid front matter: {what}", col=col, rule="front-matter")
        return None, {}
    except yaml.YAMLError as e:
        report.error(path, first_line, f"invalid front matter: {e}", rule="front-matter")
        return None, {}
    except (ValueError, OverflowError) as e:  # a well-formed value that cannot exist, e.g. 2024-13-01
        bad = _impossible_scalar(node)
        line = first_line + (bad.start_mark.line if bad is not None else 0)
        col = bad.start_mark.column + 1 if bad is not None else 1
        what = (f"'{bad.value}' is not a real date ({e}); write it as YYYY-MM-DD with a month 1-12 and a day "
                f"that month has, or quote it to keep it as text" if bad is not None else f"impossible value ({e})")
        report.error(path, line, f"invalid front matter: {what}", col=col, rule="front-matter")
        return None, {}
    finally:
        loader.dispose()
    if data is None:
        return {}, {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        report.error(path, first_line, f"front matter must be a mapping of 'key: value' lines, "
                     f"got a {type(data).__name__}", rule="front-matter")
        return None, {}
    lines = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            lines[str(key_node.value)] = first_line + key_node.start_mark.line
    return {str(k): v for k, v in data.items()}, lines


def _walk(node):
    """Every node under `node`, depth first; a node reached again (an alias) is yielded again, not expanded."""
    import yaml
    seen: set[int] = set()
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        yield n
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack += [k, v]
        elif isinstance(n, yaml.SequenceNode):
            stack += list(n.value)


def _impossible_scalar(node):
    """The first timestamp-tagged scalar under `node` that YAML's constructor cannot turn into a date."""
    import yaml
    for n in _walk(node):
        if isinstance(n, yaml.ScalarNode) and n.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.SafeLoader("").construct_yaml_timestamp(n)
            except (ValueError, OverflowError):
                return n
    return None


def _first_alias(node):
    """The first node reached twice (an alias); None when the tree has no aliases."""
    seen: set[int] = set()
    for n in _walk(node):
        if id(n) in seen:
            return n
        seen.add(id(n))
    return None
