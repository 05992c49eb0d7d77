"""Opens, clicks and their events. Machine opens (image proxies that fetch
every image, e.g. Apple Mail Privacy Protection, or opens a few seconds
after sending) are stored and counted separately from human opens."""
from __future__ import annotations

import re

from core import Contact, contact_token, emit, utcnow

from .links import add_params
from .models import Click, Link, Open, Send

#: user agents of proxies that fetch images without a person reading
MACHINE_AGENTS = re.compile(
    r"GoogleImageProxy|YahooMailProxy|ggpht\.com|Barracuda|Mimecast|Proofpoint|"
    r"^Mozilla/5\.0$|bot\b|crawler|spider|preview", re.IGNORECASE)


def is_machine_open(row: Send, user_agent: str, within_seconds: int) -> bool:
    if MACHINE_AGENTS.search((user_agent or "").strip()):
        return True
    if row.sent_at and within_seconds:
        return (utcnow() - row.sent_at).total_seconds() < within_seconds
    return False


def record_open(row: Send, user_agent: str, within_seconds: int) -> bool:
    """Store an open; emit ``email_opened`` on the first of its kind. Returns ``machine``."""
    machine = is_machine_open(row, user_agent, within_seconds)
    now = utcnow()
    Open.create(send=row.id, machine=machine, user_agent=(user_agent or "")[:300], created_at=now)
    if machine:
        first = Send.update(machine_opened_at=now).where(
            (Send.id == row.id) & Send.machine_opened_at.is_null()).execute()
    else:
        Send.update(open_count=Send.open_count + 1).where(Send.id == row.id).execute()
        first = Send.update(opened_at=now).where((Send.id == row.id) & Send.opened_at.is_null()).execute()
    contact = _contact(row)
    if first and contact is not None:
        emit(contact, "email_opened", {"email_id": row.id, "machine": machine}, source="email")
    return machine


def link_of(row: Send, link_id: int) -> Link | None:
    """The stored link, only if it belongs to this send's email."""
    scope = f"nl:{row.newsletter_id}" if row.newsletter_id else f"send:{row.id}"
    return Link.get_or_none((Link.id == link_id) & (Link.scope == scope))


def record_click(row: Send, link: Link) -> str:
    """Store a click and return where to send the browser: the stored URL
    plus ``cv_t`` so the tracking script can identify the visitor."""
    now = utcnow()
    first_of_link = not Click.select().where((Click.send == row.id) & (Click.link == link.id)).exists()
    Click.create(send=row.id, link=link.id, created_at=now)
    Send.update(click_count=Send.click_count + 1).where(Send.id == row.id).execute()
    Send.update(clicked_at=now).where((Send.id == row.id) & Send.clicked_at.is_null()).execute()
    contact = _contact(row)
    if contact is None:
        return link.url
    # a click proves a human read the email even when images were blocked
    if Send.update(opened_at=now, open_count=Send.open_count + 1).where(
            (Send.id == row.id) & Send.opened_at.is_null()).execute():
        emit(contact, "email_opened", {"email_id": row.id, "machine": False}, source="email")
    if first_of_link:
        emit(contact, "email_clicked", {"email_id": row.id, "url": link.url, "link_id": link.id}, source="email")
    return click_target(row, link)


def click_target(row: Send, link: Link) -> str:
    """Where a click sends the browser: the stored URL, plus ``cv_t`` (when
    the email went to a contact) so the tracking script can identify the visitor."""
    contact = _contact(row)
    if contact is None:
        return link.url
    return add_params(link.url, {"cv_t": contact_token(contact, "tracking.identify")})


def _contact(row: Send) -> Contact | None:
    return Contact.get_or_none(Contact.id == row.contact_id) if row.contact_id else None
