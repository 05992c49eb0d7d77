"""Protections of the public submission endpoints, which are CSRF-free by
design (an integrator's page on another site posts to them):

- a **render token** signed when the form is drawn, carrying the time, so a
  submission sent faster than the minimum fill time, or long after, is
  refused (a pasted plain HTML form carries a token without time, accepted
  only when the form allows the plain HTML embed);
- a **honeypot** input hidden from people, which bots fill in;
- a **per-IP rate limit** counted in Redis (every process shares it);
- **size limits** (body size, number of inputs, length of values);
- **CORS** only for the form's allowed origins.
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlparse

from core import TokenError, get_setting, make_token, read_token, state

from .models import Form

TOKEN_PURPOSE = "forms.render"
#: a drawn form stays valid this long
TOKEN_MAX_AGE = 2 * 86400
MAX_INPUTS = 200
MAX_VALUE_CHARS = 20000
TEXT_BODY_BYTES = 256 * 1024
HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                  r"(?::\d{1,5})?$")


class Refused(Exception):
    """The whole submission is refused (``key`` names the message in texts)."""

    def __init__(self, key: str, status: int = 400):
        super().__init__(key)
        self.key = key
        self.status = status


def render_token(form: Form, plain_html: bool = False) -> str:
    """A signed token for a freshly drawn form (no time for plain HTML)."""
    return make_token(TOKEN_PURPOSE, {"f": form.id, "at": None if plain_html else int(time.time())})


def check_token(form: Form, token: str) -> str | None:
    """``None`` when the token is fine, else the key of the message to show:
    ``invalid`` (forged, another form, plain HTML not allowed), ``expired``,
    ``too_fast``."""
    try:
        data = read_token(TOKEN_PURPOSE, token or "", TOKEN_MAX_AGE)
    except TokenError as error:
        return "expired" if error.expired else "invalid"
    if not isinstance(data, dict) or data.get("f") != form.id:
        return "invalid"
    if data.get("at") is None:
        return None if form.allow_plain_html else "invalid"
    if time.time() - int(data["at"]) < min_fill_seconds():
        return "too_fast"
    return None


def min_fill_seconds() -> int:
    return int(get_setting("forms", "min_fill_seconds") or 0)


def check_rate(ip: str) -> None:
    """Count one submission from ``ip``; raise :class:`Refused` (429) past the limit."""
    limit = int(get_setting("forms", "rate_limit") or 0)
    window = int(get_setting("forms", "rate_window") or 600)
    if limit <= 0:
        return
    redis = state().redis
    key = f"couvee:forms:rate:{ip or 'unknown'}"
    pipe = redis.pipeline()
    pipe.set(key, 0, ex=window, nx=True)  # the window starts at the first submission
    pipe.incr(key)
    _, count = pipe.execute()
    if int(count) > limit:
        raise Refused("rate_limited", 429)


def check_size(content_length: int | None, max_bytes: int) -> None:
    if content_length is not None and content_length > max_bytes:
        raise Refused("too_large", 413)


def check_inputs(form_data) -> None:
    """Refuse absurd bodies: too many inputs or huge values."""
    if len(form_data) > MAX_INPUTS:
        raise Refused("too_large", 413)
    for key in form_data:
        for value in form_data.getlist(key):
            if len(value) > MAX_VALUE_CHARS:
                raise Refused("too_large", 413)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased; ``""`` when not http(s)."""
    try:
        parsed = urlparse((url or "").strip())
        parsed.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return ""
    if parsed.scheme not in ("http", "https") or parsed.username or parsed.password:
        return ""
    if not HOST.match(parsed.netloc):
        return ""
    return f"{parsed.scheme}://{parsed.netloc.lower()}"


def own_origin() -> str:
    return origin_of(state().config.base_url)


def allowed_origins(form: Form) -> set[str]:
    return {origin_of(o) for o in (form.allowed_origins or []) if origin_of(o)} | {own_origin()}


def origin_allowed(form: Form, origin: str | None) -> bool:
    """A request without Origin (not a browser's cross-site request) is not a
    CORS matter; a browser's Origin must be one of the form's."""
    if not origin or origin == "null":
        return not origin
    return origin_of(origin) in allowed_origins(form)


def redirect_allowed(form: Form, url: str) -> bool:
    """Redirects go only to the form's allowed origins (no open redirect)."""
    origin = origin_of(url)
    return bool(origin) and origin in allowed_origins(form)
