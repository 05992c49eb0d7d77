"""The event kinds the email plugin emits (registered by ``register_event_kinds``)."""
from __future__ import annotations

from core import EventKind, Setting, data_matches, translation_domain

_l = translation_domain(__name__).lazy_gettext

EMAIL_ID = {"email_id": "the sent email (send log id)"}
ANY_EMAIL = Setting("email_id", _l("Email id (empty: any email)"))


def match_human_open(event, settings: dict) -> bool:
    """Opens by mail-scanning machines never trigger anything."""
    data = event.data or {}
    return not data.get("machine") and data_matches(data, settings, ["email_id"])


def email_event_kinds() -> list[EventKind]:
    return [
        EventKind("email_sent", _l("Email sent"), verb=_l("be sent an email"),
                  past=_l("was sent an email"), negative_past=_l("was not sent an email"),
                  properties={**EMAIL_ID, "kind": "newsletter, workflow email...", "purpose": "marketing or "
                              "transactional", "subject": "its subject"}),
        EventKind("email_opened", _l("Email opened"), verb=_l("open an email"), past=_l("opened an email"),
                  negative_past=_l("did not open an email"), interaction=True,
                  can_trigger=True, segment_condition=True,
                  properties={**EMAIL_ID, "machine": "true for a mail scanner's prefetch"},
                  trigger_settings=[ANY_EMAIL], matches=match_human_open,
                  description=_l("Opens by mail-scanning machines are ignored.")),
        EventKind("email_clicked", _l("Email clicked"), verb=_l("click a link in an email"),
                  past=_l("clicked a link in an email"), negative_past=_l("did not click a link in an email"), interaction=True, can_trigger=True, segment_condition=True,
                  properties={**EMAIL_ID, "url": "the link's target", "link_id": "the stored link"},
                  trigger_settings=[ANY_EMAIL, Setting("url", _l("Link pattern (empty: any link)"))]),
        EventKind("email_bounced", _l("Email bounced"), verb=_l("bounce an email"), past=_l("had an email bounce"),
                  negative_past=_l("did not bounce"),
                  opposition=True,
                  properties={**EMAIL_ID, "type": "hard or soft", "diagnostic": "the server's explanation"}),
        EventKind("email_unsubscribed", _l("Unsubscribed from emails"), verb=_l("unsubscribe from emails"),
                  past=_l("unsubscribed from emails"), negative_past=_l("did not unsubscribe from emails"), interaction=True, opposition=True, can_trigger=True,
                  properties={**EMAIL_ID, "reason": "what the person wrote", "via": "page, one-click or mailto"}),
    ]
