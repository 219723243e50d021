"""Execute stage: Python blocks in notes run at build time (see runner.py and cache.py)."""

from neuralpath.execute.site import execute_site

__all__ = ["execute_site"]
