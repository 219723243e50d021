"""Neural-Path: a static-site publisher for rigorous, math-heavy technical notes."""

__version__ = "0.1.0"
