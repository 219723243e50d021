"""The curriculum map: an SVG drawn at build time, modules as clusters, each note a link, prerequisite
edges as curves. It reads without JavaScript; styling comes from the site CSS (light and dark)."""

from __future__ import annotations

from html import escape

COLS = 3
COL_W = 360
NODE_H = 24
PAD = 14
HEAD_H = 58  # two lines of module title
TITLE_CHARS = 40  # characters of a module title per line (13 px bold in a 332 px box)
PART_H = 42
MAX_CHARS = 44


def _short(title: str) -> str:
    return title if len(title) <= MAX_CHARS else title[: MAX_CHARS - 1].rstrip() + "…"


def _two_lines(text: str, width: int = TITLE_CHARS) -> list[str]:
    """`text` broken at spaces into at most two lines of about `width` characters (the second shortened
    with an ellipsis only if the title needs three)."""
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    if len(lines) > 2:
        rest = " ".join(lines[1:])
        lines = [lines[0], rest if len(rest) <= width else rest[: width - 1].rstrip() + "…"]
    return lines


def render_map(site, root: str) -> str:
    pos: dict[str, tuple[float, float, float]] = {}  # note id -> (x_left, x_right, y_center)
    boxes, labels, nodes = [], [], []
    y = 0.0
    for part in site.parts:
        labels.append(f'<text class="map-part" x="{PAD}" y="{y + 28}">{escape(part.title)}</text>')
        y += PART_H
        mods = part.modules
        for row in range(0, len(mods), COLS):
            chunk = mods[row: row + COLS]
            row_h = max(HEAD_H + len(m.notes) * NODE_H + PAD for m in chunk)
            for c, m in enumerate(chunk):
                x = c * COL_W + PAD
                w = COL_W - 2 * PAD
                h = HEAD_H + len(m.notes) * NODE_H + PAD
                boxes.append(f'<rect class="map-module" x="{x}" y="{y}" width="{w}" height="{h}" rx="8"/>')
                lines = _two_lines(f"{m.label} · {m.title}")
                spans = "".join(f'<tspan x="{x + 10}" dy="{0 if i == 0 else 17}">{escape(t)}</tspan>'
                                for i, t in enumerate(lines))
                boxes.append(f'<a href="{root}{m.url}"><title>{escape(m.label)}: {escape(m.title)}</title>'
                             f'<text class="map-module-title" x="{x + 10}" y="{y + 22}">{spans}</text></a>')
                for i, n in enumerate(m.notes):
                    ny = y + HEAD_H + i * NODE_H
                    pos[n.id] = (x + 8, x + w - 8, ny + NODE_H / 2 - 2)
                    href = f"{root}{n.url}" if n.has_page else f"{root}{m.url}#note-{n.id}"
                    cls = "map-note" if n.has_page else "map-note planned"
                    nodes.append((n, href, cls, x, ny, w))
            y += row_h + PAD
    drawn = []
    for n, href, cls, x, ny, w in nodes:
        # the curves to a note's prerequisites live in its link: faint until the note is hovered or focused
        edges = "".join(f'<path class="map-edge" d="{_curve(pos[pre], pos[n.id])}"/>'
                        for pre in n.prerequisites if pre in pos)
        drawn.append(
            f'<a href="{href}" class="{cls}"><title>{escape(n.title)}{"" if n.has_page else " (planned)"}</title>'
            f'<rect x="{x + 8}" y="{ny}" width="{w - 16}" height="{NODE_H - 4}" rx="4"/>'
            f'<text x="{x + 16}" y="{ny + 15}">{escape(_short(n.title))}</text>'
            + (f'<g class="map-edges">{edges}</g>' if edges else "") + "</a>")
    width = COLS * COL_W
    return (f'<svg class="curriculum-map" viewBox="0 0 {width} {y:.0f}" width="{width}" height="{y:.0f}" '
            f'aria-labelledby="map-title" role="group" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="map-title">Curriculum map: parts, modules and notes, with prerequisite links</title>'
            + "".join(boxes) + "".join(labels) + "".join(drawn) + "</svg>")


def _curve(a: tuple[float, float, float], b: tuple[float, float, float]) -> str:
    """An SVG path from the note at `a` (left, right, y) to the note at `b`: an arc on the left within a
    column, an S-curve between the facing sides of two columns."""
    (al, ar, ay), (bl, br, by) = a, b
    if abs(al - bl) < 1:
        bend = min(60.0, 12 + abs(by - ay) / 8)
        return f"M{al},{ay} C{al - bend},{ay} {bl - bend},{by} {bl},{by}"
    sx, tx = (ar, bl) if al < bl else (al, br)
    mid = (sx + tx) / 2
    return f"M{sx},{ay} C{mid},{ay} {mid},{by} {tx},{by}"
