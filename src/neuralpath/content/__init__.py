"""Load stage: files on disk become validated records (see model.py and loader.py)."""
