"""SMS providers: the small interface a gateway implements, and the one we
ship, Twilio's Programmable Messaging REST API (documented in docs/sms.md).

A provider turns ``(to, body, status_callback)`` into the provider's message
id or raises :class:`ProviderError`; it also checks the signature of the
webhooks the provider calls (inbound replies, delivery receipts)::

    provider = configured_provider()
    sid = provider.send("+33612345678", "Bonjour", status_callback="https://…/sms/hooks/status")
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Mapping, Protocol

from core import get_setting

TIMEOUT = 20


class ProviderError(Exception):
    """The gateway refused the message or could not be reached.

    ``permanent``: retrying the same message will not help (an invalid
    number, a blocked recipient); otherwise it may be retried later."""

    def __init__(self, message: str, permanent: bool = False, code: str = ""):
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class SmsProvider(Protocol):
    """What the SMS plugin needs from a gateway."""

    name: str

    def send(self, to: str, body: str, status_callback: str = "") -> str:
        """Hand one message to the gateway; return its id or raise :class:`ProviderError`."""

    def signature_valid(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        """Is ``signature`` the gateway's for a webhook POST of ``params`` to ``url``?"""


@dataclass
class Twilio:
    """Twilio Programmable Messaging: ``POST {base}/2010-04-01/Accounts/{sid}/Messages.json``,
    form-encoded ``To``, ``From``, ``Body``, ``StatusCallback``, HTTP basic auth
    (account SID, auth token); a JSON answer with ``sid`` and ``status``, or an
    error ``{"code", "message", "status"}``. Webhooks carry ``X-Twilio-Signature``."""

    account_sid: str
    auth_token: str
    sender: str
    base_url: str = "https://api.twilio.com"
    name: str = "twilio"

    def messages_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(self.account_sid)}/Messages.json"

    def send(self, to: str, body: str, status_callback: str = "") -> str:
        form = {"To": to, "From": self.sender, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(self.messages_url(), data=urllib.parse.urlencode(form).encode(), method="POST",
                                         headers={"Authorization": f"Basic {credentials}",
                                                  "Content-Type": "application/x-www-form-urlencoded",
                                                  "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                answer = _json(response.read())
        except urllib.error.HTTPError as error:
            answer = _json(error.read())
            message = answer.get("message") or f"HTTP {error.code}"
            code = str(answer.get("code") or "")
            # 4xx other than 429 (too many requests): the request itself is wrong, retrying won't help
            permanent = 400 <= error.code < 500 and error.code != 429
            raise ProviderError(f"Twilio {code or error.code}: {message}", permanent=permanent, code=code) from None
        except (urllib.error.URLError, OSError) as error:
            raise ProviderError(f"Twilio unreachable: {getattr(error, 'reason', error)}") from None
        sid = answer.get("sid")
        if not sid:
            raise ProviderError("Twilio answered without a message sid")
        if answer.get("status") == "failed":
            raise ProviderError(f"Twilio {answer.get('error_code')}: {answer.get('error_message') or 'failed'}",
                                permanent=True, code=str(answer.get("error_code") or ""))
        return sid

    def signature_valid(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        if not (signature and self.auth_token):
            return False
        return hmac.compare_digest(twilio_signature(self.auth_token, url, params), signature)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's webhook signature: base64 of HMAC-SHA1, keyed with the auth
    token, over the full URL followed by each POST parameter's name and value,
    sorted by name."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def configured_provider() -> Twilio | None:
    """The provider from the settings, or None while they are incomplete."""
    sid, token, sender = (get_setting("sms", key) or "" for key in ("account_sid", "auth_token", "sender"))
    if not (sid and token and sender):
        return None
    return Twilio(account_sid=sid, auth_token=token, sender=sender,
                  base_url=get_setting("sms", "base_url") or "https://api.twilio.com")
