"""Email addresses on entry: one validator for the contact form, the REST
API, public forms, imports and every plugin (``core.normalize_email``).

Addresses are checked by `email-validator`_ (syntax, internationalised
domains through IDNA, internationalised local parts as allowed by SMTPUTF8),
never against DNS: the server may be offline and a typo'd but well-formed
domain is the mail server's business. The stored form is lower-cased, with
the domain in its Unicode form (``jean@exémple.fr`` whether it was typed as
``Jean@EXÉMPLE.fr`` or ``jean@xn--exmple-cva.fr``); the email transport
turns the domain back into its ASCII form when it sends.

Names reserved for testing (``.test``, RFC 6761) are accepted, like any real
domain: demo and staging instances use them. ``.local``, ``.localhost``,
``.invalid``, ``.onion`` and ``.arpa`` are refused.

Most addresses are plain ASCII; those that :func:`_plainly_valid` recognises
(a strict subset of what email-validator accepts, and normalised the same
way: ``tests/test_email_addresses.py`` checks both agree) skip the full
validator, which costs ~20 µs an address, a quarter of a CSV import's time
per row.

.. _email-validator: https://pypi.org/project/email-validator/
"""
from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from .extension import FieldValueError

#: top-level names the validator refuses (special-use, RFC 6761 and others)
_RESERVED_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion"})
#: the longest address SMTP carries (RFC 5321 path limit minus the brackets)
MAX_LENGTH = 254
MAX_LOCAL_LENGTH = 64
#: ASCII dot-atom local part (lower case) of at most 64 characters, then a
#: domain of at least two labels whose last one is letters only and not a
#: reserved name; no label with "--" in third and fourth place ("xn--" and
#: the like need IDNA checks). One ``fullmatch`` answers it all (no groups
#: read back, no split: this runs once per row of an import).
_ATOM = r"[a-z0-9_!#$%&'*+\-/=?^`{|}~]"
_LABEL = r"(?![a-z0-9-]{2}--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN = re.compile(
    rf"(?=[^@]{{1,{MAX_LOCAL_LENGTH}}}@){_ATOM}+(?:\.{_ATOM}+)*"
    rf"@(?:{_LABEL}\.)+(?!(?:{'|'.join(sorted(_RESERVED_TLDS))})\Z)[a-z]{{2,63}}"
)


def normalize_email(raw: str | None) -> str | None:
    """Trim, validate and lower-case an address; ``None`` when blank.

    Raises :class:`FieldValueError` with the reason when the address is not
    one a mail server would take, e.g. ``normalize_email("Zoé@Exemple.FR")``
    is ``"zoé@exemple.fr"`` and ``normalize_email("jean@exemple")`` raises
    "... is not a valid email address: The part after the @-sign is not
    valid. It should have a period."
    """
    if raw is not None and not isinstance(raw, str):
        raise FieldValueError(f"{raw!r} is not a valid email address: it must be text")
    text = (raw or "").strip()
    if not text:
        return None
    lowered = text.lower()
    if _plainly_valid(lowered):
        return lowered
    try:
        checked = validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise FieldValueError(f"{text!r} is not a valid email address: {error}") from None
    return checked.normalized.lower()


def _plainly_valid(address: str) -> bool:
    """True for a lower-case ASCII address that email-validator would accept
    unchanged; False means "ask the validator", not "invalid"."""
    return len(address) <= MAX_LENGTH and _PLAIN.fullmatch(address) is not None
