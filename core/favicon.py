"""The site icon: one SVG, linked from every page of ``core/base.html`` and
also answered at ``/favicon.ico`` for pages that do not link it (JSON, plain
text, a plugin's own layout), so no browser request ends in a 404."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, request

from .auth import public

ICON = Path(__file__).parent / "static" / "favicon.svg"
#: a week: browsers and shared caches keep it, a new icon shows within days
MAX_AGE = 7 * 24 * 3600

favicon_blueprint = Blueprint("favicon", __name__)


@favicon_blueprint.route("/favicon.ico", endpoint="ico")
@favicon_blueprint.route("/favicon.svg", endpoint="svg")
@public
def favicon():
    response = Response(ICON.read_bytes(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.add_etag()
    return response.make_conditional(request)
