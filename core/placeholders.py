"""One token syntax for every text a user writes about a contact.

Emails, notifications and workflow steps say ``{{ first_name }}``,
``{{ last_name }}``, ``{{ name }}``, ``{{ email }}``, ``{{ points }}``,
``{{ owner_name }}``, ``{{ owner_email }}`` and ``{{ fields.<key> }}`` (any
custom field), with an optional default as in emails:
``{{ first_name or "there" }}``. :func:`fill_tokens` replaces them
by plain substitution: no template engine runs on user text, so
``{{ ''.__class__ }}`` stays as written. The older single-brace forms
(``{name}``, ``{email}``, ``{first_name}``, ``{last_name}``, ``{points}``) of
notifications saved before are still replaced (deprecated).
"""
from __future__ import annotations

import re

from .contacts import get_values
from .models import User

#: ``{{ first_name }}``, ``{{ fields.company }}``, ``{{ first_name or "there" }}``; spaces optional
DOUBLE = re.compile(r"""\{\{\s*(fields\.[A-Za-z0-9_\-]+|[A-Za-z_]+)\s*(?:or\s*(?:"([^"{}]*)"|'([^'{}]*)')\s*)?\}\}""")
#: deprecated single-brace tokens (notifications saved before the one syntax)
LEGACY = re.compile(r"(?<!\{)\{(name|email|first_name|last_name|points)\}(?!\})")
OWNER = ("owner_name", "owner_email")


def _native(contact) -> dict[str, str]:
    return {"first_name": contact.first_name or "", "last_name": contact.last_name or "",
            "name": contact.display_name or "", "email": contact.email or "",
            "points": str(getattr(contact, "points", 0) or 0)}


def _owner(contact) -> dict[str, str]:
    owner = User.get_or_none(User.id == contact.owner_id) if contact.owner_id else None
    if owner is None:
        return {"owner_name": "", "owner_email": ""}
    return {"owner_name": owner.name or owner.email, "owner_email": owner.email}


def _text(value) -> str:
    if value is None:
        return ""
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def fill_tokens(text: str, contact) -> str:
    """``text`` with every known token replaced by ``contact``'s value.

    Known tokens with no value become empty; unknown ones (``{{ shoe_size }}``,
    or an expression) are left as written, so the author sees them. Example::

        fill_tokens('Hello {{ first_name or "there" }} from {{ fields.company }}', contact)
        # "Hello Ada from Analytical Engines"
    """
    if not text or "{" not in text:
        return text or ""
    native = _native(contact)
    fields: dict | None = None
    owner: dict | None = None

    def double(match: re.Match) -> str:
        nonlocal fields, owner
        key, default = match.group(1), match.group(2) or match.group(3) or ""
        if key.startswith("fields."):
            if fields is None:
                fields = get_values(contact)
            value = _text(fields.get(key[len("fields."):]))
        elif key in OWNER:
            owner = owner if owner is not None else _owner(contact)
            value = owner[key]
        elif key in native:
            value = native[key]
        else:
            return match.group(0)
        return value or default

    text = DOUBLE.sub(double, text)
    return LEGACY.sub(lambda match: native[match.group(1)], text)
