"""Test sends: the newsletter as a chosen contact would get it, to any
address, before the real send. Not tracked, no events, subject marked."""
from __future__ import annotations

import uuid

from core import Contact

from . import sendlog
from .compose import DkimError
from .config import load_config
from .delivery import Mailer
from .models import Newsletter
from .personal import ContentError
from .renderer import Renderer
from .transport import TransportError


def send_test(newsletter_id: int, address: str, contact_id: int | None = None) -> str:
    """Job: send the newsletter to ``address`` with ``contact_id``'s data."""
    newsletter = Newsletter.get_or_none(Newsletter.id == newsletter_id)
    if newsletter is None:
        return "no such newsletter"
    config = load_config()
    contact = Contact.get_or_none(Contact.id == contact_id) if contact_id else None
    sender_email = newsletter.sender_email or config.from_email
    if not sender_email:
        return "failed: no sender address"
    row, _ = sendlog.claim_key(f"test:{uuid.uuid4().hex}", {
        "kind": "newsletter.test", "purpose": "transactional", "newsletter": None, "contact": None,
        "to_email": address, "subject": newsletter.subject})
    try:
        renderer = Renderer(config, subject=newsletter.subject, content=newsletter.content,
                            preheader=newsletter.preheader, scope="", utm=newsletter.utm, track=False,
                            marketing=True, sender_name=newsletter.sender_name or config.from_name)
        urls = renderer.urls(row.id)
        rendered = renderer.render(row.id, contact, urls)
        rendered.subject = "[Test] " + rendered.subject
        mailer = Mailer(config)
        message_id = mailer.transmit(row, rendered, sender_name=newsletter.sender_name or config.from_name,
                                     sender_email=sender_email, reply_to=newsletter.reply_to or config.reply_to,
                                     marketing=True, urls=urls)
    except (ContentError, TransportError, DkimError) as error:
        sendlog.mark_failed(row, str(error))
        return f"failed: {error}"
    sendlog.mark_sent(row, message_id, rendered.subject, html=rendered.html, text=rendered.text)
    return "sent"


