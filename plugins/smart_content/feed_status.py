"""A feed's last fetch status in the reader's language.

:func:`.feeds.fetch_feed` stores ``Feed.last_status`` in English, as data:
``"not modified"``, ``"ok: 12 items, 3 new"`` or ``"error"`` (the error
itself, in ``Feed.last_error``, is shown as it was recorded)."""
from __future__ import annotations

import re

from core import translation_domain

_ = translation_domain(__name__).gettext
ngettext = translation_domain(__name__).ngettext

_FETCHED = re.compile(r"^ok: (\d+) items, (\d+) new$")


def describe(status: str) -> str:
    """``status`` as the admin should read it ("" when never fetched)."""
    if status == "not modified":
        return _("not modified")
    if status == "error":
        return _("error")
    found = _FETCHED.match(status or "")
    if found:
        items, new = int(found.group(1)), int(found.group(2))
        return ngettext("ok: %(num)s item, %(new)s new", "ok: %(num)s items, %(new)s new", items, new=new)
    return status or ""
