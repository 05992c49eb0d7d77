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

import datetime as dt

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


#: serializers by (secret key, purpose): a bulk sender signs several tokens per message
_SERIALIZERS: dict[tuple, URLSafeTimedSerializer] = {}


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if not purpose:
        raise ValueError("a token needs a purpose")
    key = (current_app.secret_key, purpose)
    serializer = _SERIALIZERS.get(key)
    if serializer is None:
        if len(_SERIALIZERS) > 256:
            _SERIALIZERS.clear()
        serializer = _SERIALIZERS[key] = URLSafeTimedSerializer(current_app.secret_key, salt=f"couvee.{purpose}")
    return serializer


def make_token(purpose: str, data) -> str:
    """A URL-safe signed token carrying ``data`` (anything JSON can hold)."""
    return _serializer(purpose).dumps(data)


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
