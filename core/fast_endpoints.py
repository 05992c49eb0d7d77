"""Endpoints answered before Flask: hot public paths that must stay cheap.

A tracking hit arrives for every page view of every site that carries the
script. Through Flask it paid for a request context, the URL adapter, every
``before_request``/``after_request`` function (session, auth, locale,
database, security headers) and a response object: about twice the hit's own
work (docs/performance.md, "Tracking ingest"). A plugin that registers a
:class:`FastEndpoint` (hook ``register_fast_endpoints``) gets its path answered
by :class:`FastEndpoints`, a WSGI layer in front of Flask:

- the handler receives the WSGI ``environ`` inside the app context (so
  ``current_app``, ``enqueue`` and the plugin's registries work) and returns a
  :class:`FastResponse`; there is no session, no logged-in user, no CSRF
  token and no database connection: such an endpoint is public by design and
  does its own checks;
- a method the endpoint does not list gets 405 with ``Allow``; an exception
  in the handler is logged and answered 503 with ``Retry-After``, never 500;
- every answer carries the same ``X-Content-Type-Options`` and
  ``Referrer-Policy`` headers as Flask's pages;
- the path is also a rule of the app's URL map under the endpoint's ``name``,
  so ``url_for``/``external_url`` build it and route listings show it.

Behind reverse proxies the layer sits inside ``ProxyFix``: ``REMOTE_ADDR`` is
already the client's address when a handler reads it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Callable

log = logging.getLogger("couvee.fast_endpoints")

#: headers every answer carries, fast or through Flask (``core.web`` sets them on Flask's)
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"))
_UNAVAILABLE = b"temporarily unavailable, try again shortly\n"


@dataclass
class FastResponse:
    """What a fast handler answers: a status, extra headers and a body
    (``text/plain`` unless the headers name another type)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class FastEndpoint:
    """One path answered before Flask.

    ``name`` is its endpoint name for ``url_for`` (``"tracking_public.hit"``);
    ``handler(environ) -> FastResponse`` runs in the app context for each
    request whose method is in ``methods``."""

    path: str
    name: str
    methods: tuple[str, ...]
    handler: Callable[[dict], FastResponse]


def read_body(environ: dict, limit: int) -> bytes | None:
    """The request body, or None when it is longer than ``limit`` bytes (by
    its ``Content-Length`` or by what was read)."""
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length > limit:
        return None
    if length >= 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):  # chunked: the server marks the end of the stream
        body = stream.read(limit + 1)
    else:
        body = b""
    return None if len(body) > limit else body


def request_header(environ: dict, name: str) -> str:
    """A request header by its HTTP name (``request_header(environ, "User-Agent")``)."""
    return environ.get("HTTP_" + name.upper().replace("-", "_"), "")


class FastEndpoints:
    """The WSGI layer: answers the registered paths, hands every other request
    to ``wsgi_app`` (Flask's)."""

    def __init__(self, app, wsgi_app, endpoints: list[FastEndpoint]):
        self.app = app
        self.wsgi_app = wsgi_app
        self.by_path = {endpoint.path: endpoint for endpoint in endpoints}

    def __call__(self, environ, start_response):
        endpoint = self.by_path.get(environ.get("PATH_INFO", ""))
        if endpoint is None:
            return self.wsgi_app(environ, start_response)
        return self.answer(endpoint, environ, start_response)

    def answer(self, endpoint: FastEndpoint, environ, start_response):
        if environ.get("REQUEST_METHOD") not in endpoint.methods:
            response = FastResponse(405, [("Allow", ", ".join(endpoint.methods))], b"method not allowed\n")
        else:
            response = self.run(endpoint, environ)
        headers = list(response.headers)
        if response.body and not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
        headers.extend(SECURITY_HEADERS)
        headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {HTTPStatus(response.status).phrase}", headers)
        return [response.body] if response.body else []

    def run(self, endpoint: FastEndpoint, environ) -> FastResponse:
        try:
            with self.app.app_context():
                return endpoint.handler(environ)
        except Exception:
            log.exception("fast endpoint %s failed", endpoint.name)
            return FastResponse(503, [("Retry-After", "5")], _UNAVAILABLE)


def install(app, endpoints: list[FastEndpoint]) -> None:
    """Put the layer in front of ``app``'s WSGI callable and add each path to
    the URL map (built by ``url_for``; the view answers like the layer, for a
    caller that dispatches inside Flask)."""
    if not endpoints:
        return
    layer = FastEndpoints(app, app.wsgi_app, endpoints)
    for endpoint in endpoints:
        app.add_url_rule(endpoint.path, endpoint=endpoint.name, view_func=_flask_view(layer, endpoint),
                         methods=list(endpoint.methods))
    app.wsgi_app = layer


def _flask_view(layer: FastEndpoints, endpoint: FastEndpoint):
    from flask import request

    from .auth import no_database

    def view():
        response = layer.run(endpoint, request.environ)
        return response.body, response.status, response.headers

    view.__name__ = endpoint.name.replace(".", "_")
    return no_database(view)
