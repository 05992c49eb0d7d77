"""The distribution of scores as an inline SVG histogram, drawn on the server
(no script, no CDN). Bars are coloured by tier; every bar has a title (hover
text) and the chart has a text alternative."""
from __future__ import annotations

from markupsafe import Markup

from core import translation_domain

_ = translation_domain(__name__).gettext
ngettext = translation_domain(__name__).ngettext

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 220, 44, 36, 10
COLOURS = {"cold": "#6b9bd1", "warm": "#f0a030", "hot": "#d9453d"}


def _tier(low: int, high: int, warm_from: int, hot_from: int) -> str:
    middle = (low + high) / 2
    return "hot" if middle >= hot_from else "warm" if middle >= warm_from else "cold"


def histogram_svg(buckets: list[tuple[int, int, int]], warm_from: int, hot_from: int) -> Markup:
    """``buckets`` are ``(low, high, contacts)`` from :func:`.tiers.distribution`."""
    if not buckets:
        return Markup("")
    most = max(count for _, _, count in buckets) or 1
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    bar_w = plot_w / len(buckets)
    total = sum(count for _, _, count in buckets)
    described = ngettext("Distribution of scores of %(num)s contact", "Distribution of scores of %(num)s contacts",
                         total)
    parts = [Markup('<svg class="points-chart" viewBox="0 0 {} {}" width="100%" role="img" '
                    'aria-label="{}" xmlns="http://www.w3.org/2000/svg">').format(WIDTH, HEIGHT, described),
        Markup('<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#888"/>').format(
            PAD_LEFT, PAD_TOP + plot_h, PAD_LEFT + plot_w),
        Markup('<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>').format(
            PAD_LEFT - 4, PAD_TOP + 10, most),
        Markup('<text x="{}" y="{}" font-size="11" text-anchor="end">0</text>').format(
            PAD_LEFT - 4, PAD_TOP + plot_h)]
    for index, (low, high, count) in enumerate(buckets):
        height = plot_h * count / most
        x = PAD_LEFT + index * bar_w
        label = f"{low}" if low == high else _("%(low)s to %(high)s", low=low, high=high)
        parts.append(Markup(
            '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}" data-count="{}">'
            '<title>{}</title></rect>').format(
            x + 1, PAD_TOP + plot_h - height, max(bar_w - 2, 1), height,
            COLOURS[_tier(low, high, warm_from, hot_from)], count,
            ngettext("%(range)s points: %(num)s contact", "%(range)s points: %(num)s contacts", count, range=label)))
    step = max(1, len(buckets) // 6)
    for index in range(0, len(buckets), step):
        parts.append(Markup('<text x="{:.1f}" y="{}" font-size="11" text-anchor="middle">{}</text>').format(
            PAD_LEFT + index * bar_w + bar_w / 2, HEIGHT - PAD_BOTTOM + 16, buckets[index][0]))
    parts.append(Markup('<text x="{}" y="{}" font-size="11" text-anchor="middle">{}</text>').format(
        PAD_LEFT + plot_w / 2, HEIGHT - 4, _("points")))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
