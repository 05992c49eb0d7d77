"""A local fake of Twilio's Programmable Messaging REST API, served on
loopback for the SMS tests. It follows Twilio's documentation:

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded
  ``To``, ``From``, ``Body``, optional ``StatusCallback``; HTTP basic auth
  with the account SID and auth token (401 JSON ``{"code": 20003, ...}``
  otherwise);
- answers 201 with the message resource as JSON (``sid`` ``SM…``,
  ``status`` ``queued``, ``to``, ``from``, ``body``, ``num_segments``);
- errors as ``{"code", "message", "more_info", "status"}``: an invalid
  ``To`` is 400 with code 21211.

Tests read ``.messages`` (accepted messages) and may set ``before_accept``,
a callable run with the form before a message is accepted (returning False
makes the fake answer 503 without accepting it).
"""
from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import urllib.parse

import pytest

from tests.loopback import serve

ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 31 + "1", "fake-auth-token"
PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class FakeTwilio:
    def __init__(self):
        self.messages: list[dict] = []
        self.requests: list[dict] = []
        self.before_accept = None
        self.lock = threading.Lock()
        self._ids = itertools.count(1)

    def __call__(self, environ, start_response):
        def answer(status: int, body: dict):
            reason = {201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                      503: "Service Unavailable"}[status]
            start_response(f"{status} {reason}", [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]

        def error(status: int, code: int, message: str):
            return answer(status, {"code": code, "message": message, "status": status,
                                   "more_info": f"https://www.twilio.com/docs/errors/{code}"})

        match = PATH.match(environ["PATH_INFO"])
        if environ["REQUEST_METHOD"] != "POST" or not match:
            return error(404, 20404, "The requested resource was not found")
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if environ.get("HTTP_AUTHORIZATION") != expected or match["sid"] != ACCOUNT_SID:
            return error(401, 20003, "Authenticate")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = dict(urllib.parse.parse_qsl(environ["wsgi.input"].read(length).decode()))
        with self.lock:
            self.requests.append(form)
        if not E164.match(form.get("To", "")):
            return error(400, 21211, f"The 'To' number {form.get('To')} is not a valid phone number.")
        if not form.get("From"):
            return error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body"):
            return error(400, 21602, "Message body is required.")
        if self.before_accept is not None and self.before_accept(form) is False:
            return error(503, 20500, "Service unavailable")
        with self.lock:
            sid = f"SM{next(self._ids):032x}"
            message = {"sid": sid, "account_sid": ACCOUNT_SID, "to": form["To"], "from": form["From"],
                       "body": form["Body"], "status": "queued", "num_segments": "1",
                       "status_callback": form.get("StatusCallback")}
            self.messages.append(message)
        return answer(201, message)


@pytest.fixture
def fake_twilio():
    """The fake on a loopback port; ``fake_twilio.url`` is the API base URL."""
    fake = FakeTwilio()
    with serve(fake) as port:
        fake.url = f"http://127.0.0.1:{port}"
        yield fake
