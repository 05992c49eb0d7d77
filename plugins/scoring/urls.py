"""URL patterns of point actions: glob (``*/pricing*``) or regular expression.

Patterns come from users and URLs from visitors, so matching is bounded: the
pattern is checked when saved, URLs are cut to :data:`MAX_URL` characters, and
matching runs with the ``regex`` module's timeout (a pathological expression
counts as "no match" instead of blocking a worker).
"""
from __future__ import annotations

import logging
import re

import regex

from core import translation_domain

_, _l = translation_domain(__name__).pair()

log = logging.getLogger("couvee.scoring")

MAX_PATTERN = 500
MAX_URL = 2048
TIMEOUT = 0.05  # seconds per match
MODES = {"glob": _l("Wildcards (* matches anything)"), "regex": _l("Regular expression")}


def glob_to_regex(pattern: str) -> str:
    """``*`` is any text; without ``*`` the URL must contain the pattern (as in
    segment filters). Everything else is literal."""
    if "*" not in pattern:
        pattern = f"*{pattern}*"
    parts = [re.escape(part) for part in re.split(r"\*+", pattern)]
    return ".*".join(parts)


def check_pattern(pattern: str, mode: str) -> str:
    """An error message for the user, or ``""`` when the pattern is usable."""
    if mode not in MODES:
        return _("Choose how the URL pattern is read: wildcards or regular expression.")
    if len(pattern) > MAX_PATTERN:
        return _("The URL pattern is too long (at most %(limit)s characters).", limit=MAX_PATTERN)
    if mode == "regex" and pattern:
        try:
            regex.compile(pattern)
        except regex.error as error:
            return _("The regular expression is not valid: %(error)s.", error=error)
    return ""


def url_matches(pattern: str, mode: str, url: str) -> bool:
    """Does ``url`` match? An empty pattern matches any URL."""
    if not pattern:
        return True
    text = str(url or "")[:MAX_URL]
    try:
        if mode == "regex":
            return regex.search(pattern, text, flags=regex.IGNORECASE, timeout=TIMEOUT) is not None
        return regex.fullmatch(glob_to_regex(pattern), text, flags=regex.IGNORECASE | regex.DOTALL,
                               timeout=TIMEOUT) is not None
    except TimeoutError:
        log.warning("URL pattern %r took too long on a URL; counted as no match", pattern)
        return False
    except regex.error:
        return False
