"""Public tracking endpoints (no session; each is protected otherwise):

- ``POST /t/hit`` — a hit from the script (site key + Origin + rate limit;
  CORS with preflight), appended to the Redis stream, never the database;
- ``GET /t/<key>/couvee.js`` and ``/t/<key>/couvee.<version>.js`` — the script;
- ``GET /t/a/<slug>`` — a tracked asset download.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, redirect, request, send_file, url_for

from core import enqueue, no_database, public, stored_path_or_404

from . import ingest, script as scripts, sites
from .models import Asset

log = logging.getLogger("couvee.tracking")

tracking_public = Blueprint("tracking_public", __name__, url_prefix="/t")
PREFLIGHT_MAX_AGE = "86400"
LATEST_MAX_AGE = 300
YEAR = 365 * 86400


def _empty() -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def _cors(response: Response, origin: str) -> Response:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
    return response


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _queue_drain() -> None:
    from .drain import drain

    try:
        enqueue(drain, queue="default", timeout=600)
    except Exception:  # the periodic drain will pick the hits up
        log.exception("could not queue a tracking drain")


@tracking_public.route("/hit", methods=["POST", "OPTIONS"])
@no_database
def hit():
    origin = request.headers.get("Origin", "")
    if request.method == "OPTIONS":
        return _preflight(origin)
    if (request.content_length or 0) > ingest.MAX_BODY:
        return _refusal(ingest.Refused(413, f"a hit is at most {ingest.MAX_BODY} bytes"), origin)
    body = request.stream.read(ingest.MAX_BODY + 1)
    dnt = request.headers.get("DNT") == "1" or request.headers.get("Sec-GPC") == "1"
    try:
        outcome = ingest.ingest(body, origin, request.headers.get("User-Agent", ""), _client_ip(), dnt)
    except ingest.Refused as refused:
        return _refusal(refused, origin)
    response = _empty()
    if outcome.dropped:
        response.headers["X-Couvee-Dropped"] = outcome.dropped
    if outcome.queue_drain:
        _queue_drain()
    return _cors(response, origin)


def _refusal(refused: ingest.Refused, origin: str) -> Response:
    response = Response(refused.reason + "\n", status=refused.status, mimetype="text/plain")
    if refused.status == 429:
        response.headers["Retry-After"] = "60"
    # a refused origin gets no CORS header: the browser hides the answer from the page
    if origin and refused.status != 403:
        _cors(response, origin)
    return response


def _preflight(origin: str) -> Response:
    """CORS preflight: answer with the allowed origin only if some site allows it
    (the site key is in the body, which a preflight does not carry)."""
    response = _empty()
    response.headers["Vary"] = "Origin"
    if origin and sites.any_site_allows(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


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
