"""A small inline SVG of the last runs (rendered server-side, no script):
one stacked bar per run — contacts written, unchanged, failed."""
from __future__ import annotations

from markupsafe import Markup, escape

from core import translation_domain

_, _l = translation_domain(__name__).pair()
ngettext = translation_domain(__name__).ngettext

WIDTH, HEIGHT, GAP = 600, 120, 4
SERIES = (("written", "#2f6f5e"), ("unchanged", "#c9d3dc"), ("failed", "#b3261e"))
SERIES_LABELS = {"written": _l("written"), "unchanged": _l("unchanged"), "failed": _l("failed")}


def _parts(run) -> dict[str, int]:
    return {"written": run.created + run.updated + (run.sent if run.kind != "push" else 0),
            "unchanged": run.unchanged + run.skipped, "failed": run.failed}


def runs_chart(runs: list) -> Markup:
    """SVG for ``runs`` (oldest first); empty markup when there are none."""
    if not runs:
        return Markup("")
    peak = max(1, max(sum(_parts(r).values()) for r in runs))
    bar = max(2, (WIDTH - GAP * len(runs)) // len(runs))
    shapes = []
    for index, run in enumerate(runs):
        x, y = index * (bar + GAP), HEIGHT
        parts = _parts(run)
        title = escape(f"#{run.id} {run.kind} {run.status}: " + ", ".join(f"{v} {SERIES_LABELS[k]}" for k, v in parts.items()))
        shapes.append(f'<g><title>{title}</title>')
        for name, colour in SERIES:
            height = round(parts[name] * (HEIGHT - 10) / peak)
            if height:
                y -= height
                shapes.append(f'<rect x="{x}" y="{y}" width="{bar}" height="{height}" fill="{colour}"/>')
        if run.status == "failed" and not any(parts.values()):
            shapes.append(f'<rect x="{x}" y="{HEIGHT - 4}" width="{bar}" height="4" fill="#b3261e"/>')
        shapes.append("</g>")
    legend = " ".join(f'<span style="color:{c}">■</span> {escape(SERIES_LABELS[n])}' for n, c in SERIES)
    label = escape(_("Contacts per sync run"))
    svg = (f'<svg role="img" aria-label="{label}" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'width="100%" height="{HEIGHT}" preserveAspectRatio="none" class="crm-chart">{"".join(shapes)}</svg>')
    caption = escape(ngettext("last %(num)s run, oldest first", "last %(num)s runs, oldest first", len(runs)))
    return Markup(f'<figure class="crm-chart">{svg}<figcaption class="help">{legend} — {caption}</figcaption></figure>')
