"""Public tracking endpoints (no session; each is protected otherwise):

- ``GET /t/<key>/couvee.js`` and ``/t/<key>/couvee.<version>.js`` — the script;
- ``GET /t/a/<slug>`` — a tracked asset download.

``POST /t/hit``, the script's hits, is answered before Flask (:mod:`.hit_endpoint`).
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, request, send_file, url_for

from core import public, stored_path_or_404

from . import script as scripts
from .models import Asset

tracking_public = Blueprint("tracking_public", __name__, url_prefix="/t")
LATEST_MAX_AGE = 300
YEAR = 365 * 86400


def _client_ip() -> str:
    return request.remote_addr or "unknown"


# --- the script ------------------------------------------------------------------


def _script_response(built: scripts.BuiltScript, max_age: int, immutable: bool) -> Response:
    gz = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(built.gzipped if gz else built.body, mimetype="application/javascript")
    if gz:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = f"public, max-age={max_age}" + (", immutable" if immutable else "")
    response.headers["ETag"] = f'"{built.version}{"-gz" if gz else ""}"'
    return response


@tracking_public.route("/<key>/couvee.js")
@public
def script_latest(key):
    built = scripts.script_for(key)
    if built is None:
        abort(404)
    response = redirect(url_for("tracking_public.script", key=key, version=built.version), code=302)
    response.headers["Cache-Control"] = f"public, max-age={LATEST_MAX_AGE}"
    return response


@tracking_public.route("/<key>/couvee.<version>.js", endpoint="script")
@public
def versioned_script(key, version):
    built = scripts.script_for(key)
    if built is None:
        abort(404)
    if version != built.version:  # an older version: send the browser to the current one
        response = redirect(url_for("tracking_public.script", key=key, version=built.version), code=302)
        response.headers["Cache-Control"] = f"public, max-age={LATEST_MAX_AGE}"
        return response
    return _script_response(built, YEAR, immutable=True)


# --- assets ------------------------------------------------------------------


@tracking_public.route("/a/<slug>")
@public
def asset(slug):
    """Send an asset and record the download for the visitor (``v``) or the
    email recipient (``cv_t``) the link carries."""
    found = Asset.get_or_none(Asset.slug == slug)
    if found is None:
        abort(404)
    path = stored_path_or_404(found.file)
    from .assets import record_download

    record_download(found, request.args.get("s", ""), request.args.get("v", ""), request.args.get("cv_t", ""),
                    request.headers.get("User-Agent", ""), _client_ip())
    return send_file(path, mimetype=found.file.content_type, as_attachment=True,
                     download_name=found.file.original_name)
