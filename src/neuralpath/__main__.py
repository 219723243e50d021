from neuralpath.cli import run

raise SystemExit(run())
