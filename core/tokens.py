"""Signed, expiring tokens for every link that acts for a contact.

Unsubscribe links, opt-in confirmations, click redirects, preference centres,
data-export links and the tracking script's "this visitor came from that
email" parameter all carry a token made here, never a raw contact id. A token
is bound to a *purpose* (used as the signing salt), so a click token can never
be replayed as an unsubscribe token::

    token = make_token("forms.confirm", {"c": contact.id, "p": "email_marketing"})
    data = read_token("forms.confirm", token, max_age=7 * 86400)   # raises TokenError

    link = url_for("email.unsubscribe", t=contact_token(contact, "email.unsubscribe"))
    contact = read_contact_token("email.unsubscribe", token, max_age=...)
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import struct
import time
import zlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .i18n import core_domain
from .models import Contact

_ = core_domain().gettext  # the message is shown on the page the link opens


class TokenError(ValueError):
    """A token that is forged, for another purpose, or expired (``expired`` is True)."""

    def __init__(self, message: str, expired: bool = False):
        super().__init__(message)
        self.expired = expired


class _Signer:
    """Makes the tokens ``itsdangerous.URLSafeTimedSerializer`` makes, which
    reads them (the same bytes, except that a payload shorter than
    :data:`COMPRESS_FROM` bytes is never compressed), with the key derived once.

    A newsletter signs five tokens per message (view, open, unsubscribe and
    each link); the serializer's layers (derive the key, JSON, try zlib, three
    base64 encodings, HMAC) cost ~16 µs a token, this 7–9 µs. Reading a token
    (once per click) stays with the serializer."""

    __slots__ = ("serializer", "mac")

    def __init__(self, secret_key: str, purpose: str):
        self.serializer = URLSafeTimedSerializer(secret_key, salt=f"couvee.{purpose}")
        key = self.serializer.make_signer().derive_key()
        self.mac = hmac.new(key, digestmod=hashlib.sha1)

    def dumps(self, data) -> str:
        payload = _JSON.encode(data).encode()
        compressed = zlib.compress(payload) if len(payload) >= COMPRESS_FROM else payload
        if len(compressed) < len(payload) - 1:
            payload = b"." + _b64(compressed)
        else:
            payload = _b64(payload)
        value = payload + b"." + _b64(struct.pack(">Q", int(time.time())).lstrip(b"\x00"))
        mac = self.mac.copy()
        mac.update(value)
        return (value + b"." + _b64(mac.digest())).decode("ascii")


#: payloads shorter than this are not compressed: the serializer would try zlib and
#: almost never keep its output (ids and short lists gain nothing), at ~4 µs a try
COMPRESS_FROM = 64
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


#: signers by (secret key, purpose): a bulk sender signs several tokens per message
_SIGNERS: dict[tuple, _Signer] = {}


def _signer(purpose: str) -> _Signer:
    if not purpose:
        raise ValueError("a token needs a purpose")
    key = (current_app.secret_key, purpose)
    signer = _SIGNERS.get(key)
    if signer is None:
        if len(_SIGNERS) > 256:
            _SIGNERS.clear()
        signer = _SIGNERS[key] = _Signer(current_app.secret_key, purpose)
    return signer


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return _signer(purpose).serializer


def make_token(purpose: str, data) -> str:
    """A URL-safe signed token carrying ``data`` (anything JSON can hold)."""
    return _signer(purpose).dumps(data)


def read_token(purpose: str, token: str, max_age: int | dt.timedelta):
    """The data signed in ``token`` for ``purpose``, or :class:`TokenError`."""
    if isinstance(max_age, dt.timedelta):
        max_age = int(max_age.total_seconds())
    if not token or len(token) > 4096:
        raise TokenError(_("This link is incomplete."))
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError(_("This link has expired."), expired=True) from None
    except BadSignature:
        raise TokenError(_("This link is not valid.")) from None


def contact_token(contact: Contact, purpose: str, **extra) -> str:
    """A token naming ``contact`` (by id and a digest of its email, so a token
    stops working if the contact is erased and the id reused)."""
    return make_token(purpose, {"c": contact.id, "e": _email_tag(contact.email), **extra})


def read_contact_token(purpose: str, token: str, max_age: int | dt.timedelta) -> tuple[Contact, dict]:
    """``(contact, data)`` for a token made by :func:`contact_token`."""
    data = read_token(purpose, token, max_age)
    if not isinstance(data, dict) or "c" not in data:
        raise TokenError(_("This link is not valid."))
    contact = Contact.get_or_none(Contact.id == data["c"])
    if contact is None or data.get("e") != _email_tag(contact.email):
        raise TokenError(_("This link no longer matches a contact."))
    return contact, data


def _email_tag(email: str | None) -> str:
    import hashlib

    return hashlib.sha256((email or "").encode()).hexdigest()[:12]
