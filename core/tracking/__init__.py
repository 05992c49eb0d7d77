"""Website tracking (internal plugin ``core_tracking``).

The script (``tracker.js``, built per site by ``script``) sends hits to
``/t/hit`` (``public``, ``ingest``), which appends them to a Redis stream; the
drain job (``drain``) writes them in batches and turns identified visitors'
hits into contact events (``timeline``). Identification (forms, email links,
``identify``) lives in ``identify``; assets in ``assets``; admin pages in
``views`` and ``reports``. See docs/tracking.md.
"""
from .identify import contact_of_visitor, link_visitor
from .models import Site

__all__ = ["Site", "contact_of_visitor", "link_visitor", "site_by_key"]


def site_by_key(key: str):
    """The tracked :class:`Site` with public key ``key``, or None."""
    return Site.get_or_none(Site.key == key) if key else None
