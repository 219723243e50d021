#!/usr/bin/env python3
"""Measure the search UI's match rule (docs/search.md, "Which results are kept") on a built site's words.

    python bench/search_rule.py public/            # a site built with search: reads its np-words.json files

The truth a query word w and a page word v are held to: v starts with w, or both have the same Snowball
stem. The rule (static/search.js, `matches`): v starts with w, or w (or w with a final y read as i) is
stem(v) followed by one of the endings in SUFFIXES, stem(v) having three letters or more. Over every pair
of the site's words that share their first two letters (a superset of what Pagefind's prefix fallback
can return) it prints the rule's recall and false-accept rate, and, for each word with other words of
its stem, whether the rule still finds one of them. This prints figures; it is not a test.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

SEARCH_JS = Path(__file__).resolve().parent.parent / "src/neuralpath/layout/static/search.js"


def suffixes() -> set[str]:
    js = SEARCH_JS.read_text(encoding="utf-8")
    block = re.search(r"var SUFFIXES = new Set\(\((.*?)\)\.split", js, re.S).group(1)
    return set("".join(re.findall(r'"([^"]*)"', block)).split(" ")) | {""}


def vocabulary(site: Path) -> dict[str, str]:
    stems: dict[str, str] = {}
    for f in site.glob("pagefind*/np-words.json"):
        data = json.loads(f.read_text(encoding="utf-8"))
        stems.update({w: w for w in data["words"]})
        stems.update(data["stems"])
    return stems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    stem = {w: t for w, t in vocabulary(Path(argv[0])).items() if len(w) >= 2}
    if not stem:
        print(f"no np-words.json under {argv[0]}: build the site with search first", file=sys.stderr)
        return 1
    ends = suffixes()

    def rule(w: str, v: str) -> bool:
        if v.startswith(w):
            return True
        t = stem[v]
        return len(t) >= 3 and any(u.startswith(t) and u[len(t):] in ends for u in {w, re.sub(r"y$", "i", w)})

    by2 = defaultdict(list)
    for v in stem:
        by2[v[:2]].append(v)
    tp = fn = fp = tn = 0
    for w in stem:
        for v in by2[w[:2]]:
            truth = v.startswith(w) or stem[v] == stem[w]
            got = rule(w, v)
            tp += truth and got
            fn += truth and not got
            fp += got and not truth
            tn += not got and not truth
    family = found = 0
    for w in stem:
        others = [v for v in by2[w[:2]] if v != w and stem[v] == stem[w]]
        if others:
            family += 1
            found += any(rule(w, v) for v in others)
    print(f"{len(stem)} words, {len(ends)} endings")
    print(f"recall {tp / (tp + fn):.4f}   false accepts {fp / (fp + tn):.5f}   ({fn} missed, {fp} wrongly accepted pairs)")
    print(f"a word found through another word of its stem: {found}/{family} = {found / family:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
