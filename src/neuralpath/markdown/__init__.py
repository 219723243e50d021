"""Render stage: Markdown to HTML with build-time math, highlighting, callouts and cross-references."""
