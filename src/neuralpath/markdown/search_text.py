"""What the search index gets of a rendered body: its text, block structure and heading ids.

Made by the renderer (each body's search text is rendered with it and cached beside it), read by the
search stage (`search.search_records`).
"""

from __future__ import annotations

import re

# What a record keeps of a body: Pagefind needs the text, the block elements (word and sentence
# boundaries) and the headings' ids (sub-results link to them); inline tags, class attributes and the
# "#" of heading and equation anchors are only work for it (and the "#" showed in sub-result titles).
# A body where an author marked elements for Pagefind (data-pagefind-*) keeps its markup as written:
# dropping the closing tag of a marked inline element would stretch the mark over the rest.
_ANCHORS = re.compile(r' ?<a class="(?:header-anchor|eq-num)"[^>]*>[^<]*</a>')
_INLINE = re.compile(r'</?(?:span|a|code|em|strong|sup|sub|small|mark|abbr|kbd|var|samp|del|ins|s|u|b|i)(?:\s[^>]*)?>')
_BLOCK_ATTRS = re.compile(r'<(p|div|pre|table|thead|tbody|tr|td|th|ul|ol|li|blockquote|figure|figcaption|dl|dt|dd)'
                          r'\s[^>]*>')


def record_html(html: str) -> str:
    """A rendered body (math already left out) as the search index gets it: text and block structure."""
    html = _ANCHORS.sub("", html)
    if "data-pagefind" in html:
        return html
    return _BLOCK_ATTRS.sub(r"<\1>", _INLINE.sub("", html))
