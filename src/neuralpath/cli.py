"""Command line: one function per command. Exit codes: 0 ok, 1 content errors, 2 usage errors."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

from neuralpath import __version__
from neuralpath.errors import BuildFailed, UsageError


def _site_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("site", nargs="?", default=".", help="site folder (with neuralpath.toml) or a plain folder of "
                   "Markdown notes; default: the current folder")


def _options(args, **overrides):
    """BuildOptions from the options `build` and `check` share (see `_build_args`)."""
    from neuralpath.build import BuildOptions
    values = dict(output=Path(args.output) if args.output else None, drafts=args.drafts,
                  execute=not args.no_execute, rerun=args.rerun, keep_going=args.keep_going, clean=args.clean,
                  search=not args.no_search, progress=None if args.quiet else _progress())
    values.update(overrides)
    return BuildOptions(**values)


def _engine_imported() -> None:
    """Called once the engine's modules are imported: the objects imports made (modules, functions,
    classes) live as long as the process, so they go to the collector's permanent generation instead of
    being scanned by the build's first collection (about 25 ms of a one-note build at 1,000 notes, where
    that collection was the only one). The build's own objects are collected as before, the count
    towards the next collection starting from zero."""
    if _FREEZE_AFTER_IMPORT:
        gc.freeze()


_FREEZE_AFTER_IMPORT = False  # set by `run` (the command); not when `main` is called in-process (tests)


def cmd_build(args) -> int:
    from neuralpath.build import build
    _engine_imported()
    result = build(Path(args.site), _options(args))
    _print_findings(result.report, args)
    if not args.quiet:
        print(f"built {result.pages} pages into {result.output} in {result.seconds:.2f}s")
    return 0


def cmd_check(args) -> int:
    from neuralpath.build import build
    report = None
    try:
        result = build(Path(args.site), _options(args, write=False, progress=None))
        report = result.report
        failed = False
    except BuildFailed as e:
        report, failed = e.report, True
    if args.format == "json":
        print(report.as_json())
    elif report.findings:
        print(report.as_text())
    if failed or (args.strict and report.warnings):
        return 1
    if args.format == "text" and not args.quiet:
        print(f"ok: {len(report.warnings)} warning(s)", file=sys.stderr)
    return 0


def cmd_serve(args) -> int:
    from neuralpath.serve import serve
    return serve(Path(args.site), host=args.host, port=args.port, drafts=args.drafts, open_browser=args.open,
                 quiet=args.quiet)


def cmd_new(args) -> int:
    from neuralpath.scaffold import new_file
    if args.kind == "site":
        from neuralpath.scaffold import new_site
        folder = new_site(Path(args.site) if args.site != "." else Path(slugify_title(args.title)), args.title)
        print(f"created {folder}; build it with: neuralpath build {folder}")
        return 0
    path = new_file(Path(args.site), args.kind, args.title, module=args.module)
    print(f"created {path}")
    return 0


def slugify_title(title: str) -> str:
    from neuralpath.content.loader import slugify
    return slugify(title) or "site"


def _progress():
    from neuralpath.progress import Progress
    return Progress()


def _print_findings(report, args) -> None:
    if report.findings and not getattr(args, "quiet", False):
        print(report.as_text(), file=sys.stderr)


def _build_args(p: argparse.ArgumentParser) -> None:
    """The options `build` and `check` share: `check` is `build` without the writing."""
    _site_arg(p)
    p.add_argument("-o", "--output", help="output folder (default: [build] output_dir, usually ./public)")
    p.add_argument("--drafts", action="store_true", help="also build notes with status: draft")
    p.add_argument("--no-execute", action="store_true", help="do not run code; use cached outputs where they exist")
    p.add_argument("--rerun", action="store_true", help="run every note's code even if its cached result is valid")
    p.add_argument("--keep-going", action="store_true", help="report every error, not only the first, and write the site anyway (the exit status is still 1)")
    p.add_argument("--clean", action="store_true", help="ignore build caches (parsed notes, math, pages)")
    p.add_argument("--no-search", action="store_true", help="skip the Pagefind search index")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neuralpath", description="Build a static site of rigorous, math-heavy notes.")
    p.add_argument("--version", action="version", version=f"neuralpath {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    b = sub.add_parser("build", help="build the site into its output folder",
                       description="Build the site: render math, run code, write pages atomically.")
    _build_args(b)
    b.set_defaults(func=cmd_build)

    c = sub.add_parser("check", help="validate the site without writing it",
                       description="Run every stage of `build` except writing, with the same options, and print "
                                   "findings as path:line:col: severity: message.")
    _build_args(c)
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    c.set_defaults(func=cmd_check)

    s = sub.add_parser("serve", help="build and serve the site locally",
                       description="Build the site and serve it on a local port.")
    _site_arg(s)
    s.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--drafts", action="store_true")
    s.add_argument("--open", action="store_true", help="open the site in a web browser")
    s.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    s.set_defaults(func=cmd_serve)

    n = sub.add_parser("new", help="create a new note or article with valid front matter",
                       description="Scaffold a note or article. Never overwrites an existing file.")
    n.add_argument("kind", choices=("note", "article", "site"))
    n.add_argument("title", help="title of the new note or article")
    n.add_argument("--module", help="module folder for a note (e.g. 03-linear-algebra); default: the last module")
    n.add_argument("--site", default=".", help="site folder (default: current folder; for `new site`, a new "
                   "folder named after the title)")
    n.set_defaults(func=cmd_new)
    return p


def run() -> int:
    """The `neuralpath` command. A build allocates many small objects that live until it ends (parsed
    notes, the site graph): the cyclic garbage collector's default thresholds would scan them over and
    over (about 60 ms of a 0.3 s incremental build at 1,000 notes). Objects without cycles are freed as
    always; cycles are collected less often.

    The process then ends without tearing those objects down one by one (about 0.1 s): by the time
    `main` returns, every file is closed, the cache committed and the worker processes joined. What the
    engine's imports made is moved out of the collector's sight before a build (`_engine_imported`)."""
    global _FREEZE_AFTER_IMPORT
    gc.set_threshold(100_000, 50, 50)
    _FREEZE_AFTER_IMPORT = True
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0) if e.code in (0, None) else 2
    try:
        return args.func(args)
    except BuildFailed as e:
        print(e.report.as_text(), file=sys.stderr)
        n = len(e.report.errors)
        if e.written is not None:
            print(f"site written to {e.written} with {n} error{'s' if n != 1 else ''} (--keep-going): each "
                  "expression that failed shows as its source, in red; fix the errors above and build again",
                  file=sys.stderr)
        else:
            print(f"build failed: {n} error{'s' if n != 1 else ''}", file=sys.stderr)
        return 1
    except UsageError as e:
        print(f"neuralpath: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the previous site was left as it was", file=sys.stderr)
        return 130
    except Exception as e:  # the engine's own bug: say so plainly, without a traceback wall
        from neuralpath.markdown.katex import KatexMissing
        if isinstance(e, KatexMissing):
            print(f"neuralpath: error: {e}", file=sys.stderr)
            return 2
        print(f"neuralpath: internal error: {type(e).__name__}: {e}\n"
              "This is a bug in neuralpath, not in your content; set NEURALPATH_DEBUG=1 for a traceback.",
              file=sys.stderr)
        import os
        if os.environ.get("NEURALPATH_DEBUG"):
            raise
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
