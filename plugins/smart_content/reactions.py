"""Reactions to email events (``contact_event``).

- ``email_sent`` of a marketing email sent by a workflow (or by us) moves the
  contact's "last marketing email" time, so the frequency counts it.
  Newsletters don't count (the article: the frequency is the smart-content
  programme's own, not a global marketing pressure) and neither do
  transactional emails.
- ``email_sent`` of our kind links the email plugin's ``email_id`` to the pick;
  ``email_opened`` / ``email_clicked`` with that id then mark the pick opened /
  clicked (the dashboard's rates). Machine opens (image proxies) are ignored.
All updates are idempotent: a re-dispatched event changes nothing twice.
"""
from __future__ import annotations

from .models import Pick
from .sender import MESSAGE_KIND, mark_emailed

MARKETING_PURPOSES = ("marketing", "email_marketing")
WORKFLOW_KINDS = ("workflow", "automation", "email.send", "email.action")


def counts_for_frequency(data: dict) -> bool:
    kind = str(data.get("kind") or "")
    if data.get("newsletter_id"):
        return False
    if kind == MESSAGE_KIND:
        return True
    purpose = data.get("purpose")
    if purpose:
        return purpose in MARKETING_PURPOSES
    return kind.startswith(WORKFLOW_KINDS)


def _pick_for_sent(event, data: dict) -> Pick | None:
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    pick_id = data.get("pick_id") or meta.get("pick_id")
    if pick_id:
        return Pick.get_or_none((Pick.id == int(pick_id)) & (Pick.contact == event.contact_id))
    return (Pick.select().where((Pick.contact == event.contact_id) & Pick.status.in_(("claimed", "sent"))
                                & Pick.email_id.is_null())
            .order_by(Pick.send_date.desc(), Pick.id.desc()).first())


def on_event(event) -> None:
    data = event.data or {}
    if event.kind == "email_sent":
        if counts_for_frequency(data):
            mark_emailed(event.contact_id, event.created_at)
        if data.get("kind") == MESSAGE_KIND and data.get("email_id") is not None:
            pick = _pick_for_sent(event, data)
            if pick is not None and not pick.email_id:
                Pick.update(email_id=str(data["email_id"])[:200]).where(Pick.id == pick.id).execute()
        return
    if event.kind not in ("email_opened", "email_clicked") or data.get("email_id") is None:
        return
    if event.kind == "email_opened" and data.get("machine"):
        return
    mine = (Pick.contact == event.contact_id) & (Pick.email_id == str(data["email_id"])[:200])
    Pick.update(opened_at=event.created_at).where(mine & Pick.opened_at.is_null()).execute()
    if event.kind == "email_clicked":
        Pick.update(clicked_at=event.created_at).where(mine & Pick.clicked_at.is_null()).execute()
