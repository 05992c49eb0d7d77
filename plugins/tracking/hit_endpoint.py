"""``POST /t/hit`` (and its CORS preflight), answered before Flask.

A hit comes with every page view of every tracked site, so the endpoint is a
:class:`core.FastEndpoint`: no request context, session, user or database
connection, only the validation and the one Redis call of :mod:`.ingest`
(docs/performance.md, "Tracking ingest"). Refusals carry a status and a
reason, never a 500: a Redis outage is answered 503 by core.
"""
from __future__ import annotations

import logging

from core import FastEndpoint, FastResponse, enqueue, read_body, request_header

from . import ingest, sites

log = logging.getLogger("couvee.tracking")

PATH = "/t/hit"
ENDPOINT = "tracking_public.hit"
PREFLIGHT_MAX_AGE = "86400"


def _cors(origin: str) -> list[tuple[str, str]]:
    return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]


def _queue_drain() -> None:
    from .drain import drain

    try:
        enqueue(drain, queue="default", timeout=600)
    except Exception:  # the periodic drain will pick the hits up
        log.exception("could not queue a tracking drain")


def handle(environ: dict) -> FastResponse:
    origin = request_header(environ, "Origin")
    if environ["REQUEST_METHOD"] == "OPTIONS":
        return preflight(origin)
    body = read_body(environ, ingest.MAX_BODY)
    if body is None:
        return refusal(ingest.Refused(413, f"a hit is at most {ingest.MAX_BODY} bytes"), origin)
    user_agent = request_header(environ, "User-Agent")
    dnt = request_header(environ, "DNT") == "1" or request_header(environ, "Sec-GPC") == "1"
    try:
        outcome = ingest.ingest(body, origin, user_agent, environ.get("REMOTE_ADDR") or "unknown", dnt)
    except ingest.Refused as refused:
        return refusal(refused, origin)
    headers = _cors(origin)
    if outcome.dropped:
        headers.append(("X-Couvee-Dropped", outcome.dropped))
    if outcome.queue_drain:
        _queue_drain()
    return FastResponse(204, headers)


def refusal(refused: ingest.Refused, origin: str) -> FastResponse:
    headers = []
    if refused.status == 429:
        headers.append(("Retry-After", "60"))
    # a refused origin gets no CORS header: the browser hides the answer from the page
    if origin and refused.status != 403:
        headers += _cors(origin)
    return FastResponse(refused.status, headers, (refused.reason + "\n").encode())


def preflight(origin: str) -> FastResponse:
    """CORS preflight: answer with the allowed origin only if some site allows it
    (the site key is in the body, which a preflight does not carry)."""
    headers = [("Vary", "Origin")]
    if origin and sites.any_site_allows(origin):
        headers += [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Methods", "POST"),
                    ("Access-Control-Allow-Headers", "Content-Type"),
                    ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE)]
    return FastResponse(204, headers)


def endpoint() -> FastEndpoint:
    return FastEndpoint(PATH, ENDPOINT, ("POST", "OPTIONS"), handle)
