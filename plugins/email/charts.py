"""Small server-side SVG charts (no JavaScript, no CDN)."""
from __future__ import annotations

from markupsafe import Markup, escape

COLORS = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed")


def line_chart(labels: list[str], series: dict[str, list[float]], width: int = 640, height: int = 200,
               title: str = "") -> Markup:
    """Lines over ``labels`` (x), one per series, with a legend and y max."""
    pad_l, pad_b, pad_t = 36, 22, 18
    top = max([max(values) for values in series.values() if values] + [1])
    steps = max(1, len(labels) - 1)
    x = lambda i: pad_l + (width - pad_l - 8) * i / steps  # noqa: E731
    y = lambda v: pad_t + (height - pad_t - pad_b) * (1 - v / top)  # noqa: E731
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="{pad_l}" y1="{y(0):.1f}" x2="{width - 8}" y2="{y(0):.1f}" stroke="#ccc"/>',
             f'<text x="2" y="{pad_t + 4}" font-size="10" fill="#666">{top:g}</text>',
             f'<text x="2" y="{y(0):.1f}" font-size="10" fill="#666">0</text>']
    if labels:
        parts.append(f'<text x="{pad_l}" y="{height - 6}" font-size="10" fill="#666">{escape(labels[0])}</text>')
        parts.append(f'<text x="{width - 8}" y="{height - 6}" font-size="10" fill="#666" '
                     f'text-anchor="end">{escape(labels[-1])}</text>')
    for index, (name, values) in enumerate(series.items()):
        color = COLORS[index % len(COLORS)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}">'
                     f'<title>{escape(name)}</title></polyline>')
        parts.append(f'<rect x="{pad_l + 8 + index * 110}" y="4" width="10" height="10" fill="{color}"/>'
                     f'<text x="{pad_l + 22 + index * 110}" y="13" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(rows: list[tuple[str, float]], width: int = 640, unit: str = "", title: str = "") -> Markup:
    """Horizontal bars, one per ``(label, value)``."""
    bar_h, gap, label_w = 18, 6, 200
    height = max(1, len(rows)) * (bar_h + gap) + gap
    top = max([value for _, value in rows] + [1])
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        top_y = gap + i * (bar_h + gap)
        length = (width - label_w - 60) * value / top
        shown = label if len(label) <= 32 else label[:31] + "…"
        parts.append(f'<text x="0" y="{top_y + 13}" font-size="11">{escape(shown)}</text>'
                     f'<rect x="{label_w}" y="{top_y}" width="{length:.1f}" height="{bar_h}" fill="{COLORS[0]}"/>'
                     f'<text x="{label_w + length + 4:.1f}" y="{top_y + 13}" font-size="11">{value:g}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def progress_bar(percent: float, width: int = 640) -> Markup:
    filled = max(0.0, min(100.0, percent)) * width / 100
    return Markup(f'<svg class="progress" role="progressbar" aria-valuenow="{percent:g}" aria-valuemin="0" '
                  f'aria-valuemax="100" viewBox="0 0 {width} 16" width="100%" xmlns="http://www.w3.org/2000/svg">'
                  f'<rect width="{width}" height="16" rx="4" fill="#e5e7eb"/>'
                  f'<rect width="{filled:.1f}" height="16" rx="4" fill="#2563eb"/></svg>')
