"""Return-path (VERP) and mailto-unsubscribe addresses that name the send:
``bounce+<send id>-<signature>@<domain>``. The signature stops a forged
bounce from marking somebody else's message."""
from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app

_ADDRESS = re.compile(r"^(bounce|unsubscribe)\+(\d+)-([0-9a-f]{10})@", re.IGNORECASE)


def _signature(kind: str, send_id: int) -> str:
    key = current_app.secret_key.encode() if isinstance(current_app.secret_key, str) else current_app.secret_key
    return hmac.new(key, f"email.verp.{kind}.{send_id}".encode(), hashlib.sha256).hexdigest()[:10]


def address(kind: str, send_id: int, domain: str) -> str:
    """``kind`` is ``bounce`` or ``unsubscribe``."""
    return f"{kind}+{send_id}-{_signature(kind, send_id)}@{domain}"


def read(addr: str) -> tuple[str, int] | None:
    """``(kind, send_id)`` for one of our addresses with a valid signature."""
    match = _ADDRESS.match((addr or "").strip().strip("<>"))
    if not match:
        return None
    kind, send_id, signature = match.group(1).lower(), int(match.group(2)), match.group(3).lower()
    if not hmac.compare_digest(signature, _signature(kind, send_id)):
        return None
    return kind, send_id
