"""The website tracking plugin's hooks, for other plugins to extend the
tracking script and learn about identified visitors.

Added to the plugin manager while the tracking plugin is active (see
``core.plugins.plugin_hookspecs``); with it off, these hooks are answered by
nobody and other plugins' implementations of them are simply not called.
Implement them with ``core.hookimpl`` like any hook.
"""
from core import hookspec


@hookspec
def tracking_script_parts():
    """JavaScript sources appended to the tracking script (served by the
    website tracking plugin).

    Return a list of strings. Each part runs inside the script's closure after
    the tracker is defined and may call its extension API (documented in
    docs/tracking.md), e.g. ``tracker.setConsentUI(fn)`` to show a consent
    banner. The script URL is versioned by a hash of all parts, so browsers
    fetch a new copy when a plugin changes or is (de)activated. Keep parts small
    and never throw: errors are caught and logged to the console.

    Example::

        @hookimpl
        def tracking_script_parts():
            return [(Path(__file__).parent / "static" / "banner.js").read_text()]
    """


@hookspec
def tracking_site_config(site):
    """Extra settings for a tracked site, delivered to the script with the
    site's configuration (for the script parts above to read).

    ``site`` is the tracking plugin's ``Site`` (``id``, ``name``, ``key``,
    ``allowed_origins``). Return a dict (merged into the
    ``ext`` object of the configuration) or ``None``. Values are public: never
    return secrets.

    Example::

        @hookimpl
        def tracking_site_config(site):
            return {"banner": {"text": banner_text(site), "purposes": ["analytics"]}}
    """


@hookspec
def tracking_visitor_identified(contact, visitor_id, method):
    """A plugin learned which contact a tracked browser belongs to, e.g. a
    form post carrying the tracking script's visitor id.

    ``visitor_id`` is the id the tracking script keeps in the browser
    (``couvee('visitor', fn)`` gives it to the page); ``method`` says how the
    visitor was identified: ``"form"``, ``"email_link"`` or ``"identify"``.
    The website tracking plugin answers by attaching the visitor's earlier
    anonymous visits, and its later ones, to ``contact``. Return the number
    of past visits attached, or ``None``. Call it after the contact is
    committed, from a worker job rather than the request.

    A plugin that received a form post calls it::

        state().hooks.call("tracking_visitor_identified", contact=submission.contact,
                           visitor_id=submission.visitor_id, method="form")

    Example::

        @hookimpl
        def tracking_visitor_identified(contact, visitor_id, method):
            return link_visitor(visitor_id, contact, method=method)
    """
