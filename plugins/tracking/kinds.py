"""Event kinds of website tracking."""
from __future__ import annotations

from core import EventKind, Setting, data_matches, translation_domain

_l = translation_domain(__name__).lazy_gettext


def match_page(event, settings: dict) -> bool:
    """The URL pattern against the page's URL (or its path)."""
    data = event.data or {}
    pattern = {"url": settings.get("url")}
    return data_matches({"url": data.get("url")}, pattern, ["url"]) or \
        data_matches({"url": data.get("path")}, pattern, ["url"])


def tracking_event_kinds() -> list[EventKind]:
    return [
        EventKind("page_visited", _l("Page visited"), verb=_l("visit a page"), past=_l("visited a page"),
                  negative_past=_l("did not visit a page"), interaction=True,
                  can_trigger=True, segment_condition=True,
                  properties={"url": "the page's URL", "path": "its path", "title": "its title",
                              "referrer": "where the visitor came from", "site_id": "the tracked site",
                              "visitor_id": "the browser's id", "utm_source": "campaign source (and other utm_*)"},
                  trigger_settings=[Setting("url", _l("URL pattern"), required=True, help=_l("e.g. */pricing*"))],
                  matches=match_page),
        EventKind("asset_downloaded", _l("Asset downloaded"), verb=_l("download a file"),
                  past=_l("downloaded a file"), negative_past=_l("did not download a file"),
                  interaction=True, can_trigger=True, segment_condition=True,
                  properties={"asset_id": "the tracked asset", "title": "its title", "site_id": "the tracked site"},
                  trigger_settings=[Setting("asset_id", _l("Asset id (empty: any file)"))]),
        EventKind("visitor_identified", _l("Visitor identified"), verb=_l("be identified on the website"),
                  past=_l("was identified on the website"), negative_past=_l("was not identified on the website"), interaction=True,
                  properties={"visitor_id": "the browser's id", "method": "form, email link, API..."}),
    ]
