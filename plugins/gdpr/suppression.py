"""The suppression list: salted hashes of erased people's email addresses,
so an import, the API or a form cannot re-create them silently.

The salt is random, generated once per installation and stored in
``gdpr_secret``; the address itself is never stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from core import normalize_email, utcnow

from .models import PluginSecret, Suppression

REASON = ("This address belongs to a person who asked to be forgotten (GDPR erasure): "
          "it is on the suppression list and cannot be added again.")
_CHUNK = 500


def _salt() -> bytes:
    row = PluginSecret.get_or_none(PluginSecret.name == "suppression_salt")
    if row is None:
        PluginSecret.insert(name="suppression_salt", value=secrets.token_hex(32)).on_conflict_ignore().execute()
        row = PluginSecret.get(PluginSecret.name == "suppression_salt")
    return bytes.fromhex(row.value)


def email_hash(email: str, salt: bytes | None = None) -> str:
    normalised = normalize_email(email) or ""
    return hmac.new(salt or _salt(), normalised.encode(), hashlib.sha256).hexdigest()


def suppress(email: str | None, reason: str = "erasure") -> None:
    if not email:
        return
    Suppression.insert(email_hash=email_hash(email), reason=reason, created_at=utcnow()).on_conflict_ignore().execute()


def suppressed(emails: list[str]) -> dict[str, str]:
    """``{email: reason}`` for the addresses on the list (set-based, chunked)."""
    salt = _salt()
    hashes = {}
    for email in emails:
        try:
            hashes[email_hash(email, salt)] = email
        except ValueError:
            continue
    found: dict[str, str] = {}
    keys = list(hashes)
    for start in range(0, len(keys), _CHUNK):
        for row in Suppression.select(Suppression.email_hash).where(
                Suppression.email_hash.in_(keys[start:start + _CHUNK])):
            found[hashes[row.email_hash]] = REASON
    return found


def lift(email: str) -> bool:
    """Remove an address from the list (the person came back and asked to be
    added, e.g. by writing to the controller). Returns whether it was there."""
    return bool(Suppression.delete().where(Suppression.email_hash == email_hash(email)).execute())
