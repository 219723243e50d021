"""The curriculum map: an SVG drawn at build time, modules as clusters, each note a link, prerequisite
edges as curves. It reads without JavaScript; styling comes from the site CSS (light and dark)."""

from __future__ import annotations

from html import escape

COLS = 3
COL_W = 360
NODE_H = 24
PAD = 14
HEAD_H = 40
PART_H = 42
MAX_CHARS = 44


def _short(title: str) -> str:
    return title if len(title) <= MAX_CHARS else title[: MAX_CHARS - 1].rstrip() + "…"


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
                boxes.append(f'<a href="{root}{m.url}"><text class="map-module-title" x="{x + 10}" y="{y + 24}">'
                             f'{escape(m.label)} · {escape(_short(m.title))}</text></a>')
                for i, n in enumerate(m.notes):
                    ny = y + HEAD_H + i * NODE_H
                    pos[n.id] = (x + 8, x + w - 8, ny + NODE_H / 2 - 2)
                    href = f"{root}{n.url}" if n.has_page else f"{root}{m.url}#note-{n.id}"
                    cls = "map-note" if n.has_page else "map-note planned"
                    nodes.append(
                        f'<a href="{href}" class="{cls}"><title>{escape(n.title)}'
                        f'{"" if n.has_page else " (planned)"}</title>'
                        f'<rect x="{x + 8}" y="{ny}" width="{w - 16}" height="{NODE_H - 4}" rx="4"/>'
                        f'<text x="{x + 16}" y="{ny + 15}">{escape(_short(n.title))}</text></a>')
            y += row_h + PAD
    edges = []
    for n in site.notes():
        for pre in n.prerequisites:
            if pre not in pos or n.id not in pos:
                continue
            (al, ar, ay), (bl, br, by) = pos[pre], pos[n.id]
            if abs(al - bl) < 1:  # same column: an arc on the left side
                bend = min(60.0, 12 + abs(by - ay) / 8)
                d = f"M{al},{ay} C{al - bend},{ay} {bl - bend},{by} {bl},{by}"
            else:
                sx, tx = (ar, bl) if al < bl else (al, br)
                mid = (sx + tx) / 2
                d = f"M{sx},{ay} C{mid},{ay} {mid},{by} {tx},{by}"
            edges.append(f'<path class="map-edge" d="{d}"/>')
    width = COLS * COL_W
    return (f'<svg class="curriculum-map" viewBox="0 0 {width} {y:.0f}" width="{width}" height="{y:.0f}" '
            f'aria-labelledby="map-title" role="group" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="map-title">Curriculum map: parts, modules and notes, with prerequisite links</title>'
            + "".join(boxes) + '<g class="map-edges">' + "".join(edges) + "</g>" + "".join(labels)
            + "".join(nodes) + "</svg>")
