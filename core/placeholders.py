"""One token syntax for every text a user writes about a contact.

Emails, notifications and workflow steps say ``{{ first_name }}``,
``{{ last_name }}``, ``{{ name }}``, ``{{ email }}``, ``{{ points }}`` and
``{{ fields.<key> }}`` (any custom field). :func:`fill_tokens` replaces them
by plain substitution: no template engine runs on user text, so
``{{ ''.__class__ }}`` stays as written. The older single-brace forms
(``{name}``, ``{email}``, ``{first_name}``, ``{last_name}``, ``{points}``) of
notifications saved before are still replaced (deprecated).
"""
from __future__ import annotations

import re

from .contacts import get_values

#: ``{{ first_name }}``, ``{{ fields.company }}``; optional spaces inside the braces
DOUBLE = re.compile(r"\{\{\s*(fields\.[A-Za-z0-9_\-]+|[A-Za-z_]+)\s*\}\}")
#: deprecated single-brace tokens (notifications saved before the one syntax)
LEGACY = re.compile(r"(?<!\{)\{(name|email|first_name|last_name|points)\}(?!\})")
NATIVE = ("first_name", "last_name", "name", "email", "points")


def _native(contact) -> dict[str, str]:
    return {"first_name": contact.first_name or "", "last_name": contact.last_name or "",
            "name": contact.display_name or "", "email": contact.email or "",
            "points": str(getattr(contact, "points", 0) or 0)}


def _text(value) -> str:
    if value is None:
        return ""
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def fill_tokens(text: str, contact) -> str:
    """``text`` with every known token replaced by ``contact``'s value.

    Known tokens with no value become empty; unknown ones (``{{ shoe_size }}``,
    or an expression) are left as written, so the author sees them. Example::

        fill_tokens("Hello {{ first_name }} from {{ fields.company }}", contact)
        # "Hello Ada from Analytical Engines"
    """
    if not text or "{" not in text:
        return text or ""
    native = _native(contact)
    fields: dict | None = None

    def double(match: re.Match) -> str:
        nonlocal fields
        key = match.group(1)
        if key.startswith("fields."):
            if fields is None:
                fields = get_values(contact)
            return _text(fields.get(key[len("fields."):]))
        return native[key] if key in native else match.group(0)

    text = DOUBLE.sub(double, text)
    return LEGACY.sub(lambda match: native[match.group(1)], text)
