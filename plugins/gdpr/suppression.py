"""The suppression list: salted hashes of erased people's email addresses,
so an import, the API or a form cannot re-create them silently.

The salt is random, generated once per installation and stored in
``gdpr_secret``; the address itself is never stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from core import db_proxy, normalize_email, utcnow

from .models import PluginSecret, Suppression

REASON = ("This address belongs to a person who asked to be forgotten (GDPR erasure): "
          "it is on the suppression list and cannot be added again.")
_CHUNK = 1000


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
    """``{email: reason}`` for the addresses on the list (set-based, chunked).

    An import asks this for every batch of new addresses: when nobody was
    ever put on the list (the usual case) one ``LIMIT 1`` query answers; the
    salted hasher is keyed once and copied per address, and the hashes are
    looked up with plain bound parameters (peewee would compile each one)."""
    if not emails or not Suppression.select().exists():
        return {}
    keyed = hmac.new(_salt(), digestmod=hashlib.sha256)
    hashes = {}
    for email in emails:
        try:
            normalised = normalize_email(email) or ""
        except ValueError:
            continue
        hasher = keyed.copy()
        hasher.update(normalised.encode())
        hashes.setdefault(hasher.hexdigest(), []).append(email)  # two spellings, one person
    database = db_proxy.obj
    table = Suppression._meta.table_name
    found: dict[str, str] = {}
    keys = list(hashes)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        marks = ", ".join([database.param] * len(chunk))
        for (email_hash_,) in database.execute_sql(
                f'SELECT "email_hash" FROM "{table}" WHERE "email_hash" IN ({marks})', chunk).fetchall():
            found.update((email, REASON) for email in hashes[email_hash_])
    return found


def lift(email: str) -> bool:
    """Remove an address from the list (the person came back and asked to be
    added, e.g. by writing to the controller). Returns whether it was there."""
    return bool(Suppression.delete().where(Suppression.email_hash == email_hash(email)).execute())
