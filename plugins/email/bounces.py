"""Bounces: read a delivery status notification (RFC 3464) with the stdlib
``email`` package, find which send it is about (VERP address, or the
original Message-ID), classify it (5.x.x hard, 4.x.x soft) and record it.

Also handles mail to our ``unsubscribe+<id>-<sig>@`` mailto address."""
from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass

from core import Contact, emit

from . import standing, verp
from .models import Bounce, Send

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45])\d\d\b")


@dataclass
class Report:
    """What an inbound message turned out to be."""

    kind: str  # bounce | unsubscribe | ignored
    send_id: int | None = None
    type: str = ""  # hard | soft
    status: str = ""
    diagnostic: str = ""
    recipient: str = ""


def classify(status: str, diagnostic: str = "") -> str:
    """``hard`` for 5.x.x (or a 5yz SMTP reply), ``soft`` otherwise."""
    match = _STATUS.search(status or "") or _STATUS.search(diagnostic or "")
    if match:
        return "hard" if match.group(1) == "5" else "soft"
    code = _SMTP_CODE.search(diagnostic or "")
    return "hard" if code and code.group(1) == "5" else "soft"


def _delivery_fields(message) -> dict:
    """The first per-recipient block of a message/delivery-status part."""
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        if not blocks:  # some parsers leave the body as text
            text = part.get_payload(decode=True) or b""
            blocks = [email.message_from_bytes(chunk.strip().encode() if isinstance(chunk, str) else chunk.strip())
                      for chunk in re.split(rb"\r?\n\r?\n", text) if chunk.strip()]
        for block in blocks[1:] or blocks:
            if block.get("Status") or block.get("Final-Recipient"):
                return {k.lower(): str(v) for k, v in block.items()}
    return {}


def _original_message_id(message) -> str:
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is None:
                raw = part.get_payload(decode=True) or b""
                inner = email.message_from_bytes(raw, policy=email.policy.default)
            mid = inner.get("Message-ID")
            if mid:
                return str(mid).strip()
    return ""


def read_report(raw: bytes, recipient: str = "") -> Report:
    """Understand an inbound message sent to our return path or mailto."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    addressed = [recipient, message.get("X-Original-To", ""), message.get("Delivered-To", ""), message.get("To", "")]
    for address in addressed:
        for candidate in re.findall(r"[\w.+-]+@[\w.-]+", address or ""):
            found = verp.read(candidate)
            if found and found[0] == "unsubscribe":
                return Report("unsubscribe", send_id=found[1])
            if found:
                return _bounce(message, found[1])
    mid = _original_message_id(message)
    if mid:
        row = Send.get_or_none(Send.message_id == mid)
        if row is not None:
            return _bounce(message, row.id)
    return Report("ignored", diagnostic="not a bounce or unsubscribe for one of our messages")


def _bounce(message, send_id: int) -> Report:
    fields = _delivery_fields(message)
    if not fields and message.get_content_type() != "multipart/report":
        return Report("ignored", send_id=send_id, diagnostic="no delivery status (an auto-reply?)")
    status = fields.get("status", "").strip()
    diagnostic = fields.get("diagnostic-code", "").strip()
    action = fields.get("action", "failed").strip().lower()
    if action in ("delayed", "delivered", "relayed", "expanded"):
        return Report("ignored", send_id=send_id, status=status, diagnostic=f"action {action}")
    recipient = fields.get("final-recipient", "").partition(";")[2].strip()
    return Report("bounce", send_id=send_id, type=classify(status, diagnostic), status=status,
                  diagnostic=diagnostic[:1000], recipient=recipient)


def record_bounce(row: Send, kind: str, status: str, diagnostic: str) -> Bounce:
    """Store a bounce for ``row``, update the contact's standing and emit
    ``email_bounced``."""
    contact = Contact.get_or_none(Contact.id == row.contact_id) if row.contact_id else None
    bounce = Bounce.create(send=row.id, contact=contact.id if contact else None, email=row.to_email, type=kind,
                           status_code=status, diagnostic=diagnostic[:1000])
    Send.update(bounce=kind).where((Send.id == row.id) & (Send.bounce.is_null() | (Send.bounce == "soft"))).execute()
    if contact is not None:
        standing.note_bounce(contact, kind)
        emit(contact, "email_bounced", {"email_id": row.id, "type": kind, "diagnostic": diagnostic[:500]},
             source="email")
    return bounce


def process_inbound(raw: bytes, recipient: str = "") -> Report:
    """Apply an inbound message (bounce or mailto unsubscribe)."""
    report = read_report(raw, recipient)
    row = Send.get_or_none(Send.id == report.send_id) if report.send_id else None
    if row is None:
        return report if report.kind == "ignored" else Report("ignored", diagnostic="unknown message")
    if report.kind == "bounce":
        record_bounce(row, report.type, report.status, report.diagnostic)
    elif report.kind == "unsubscribe" and row.contact_id:
        contact = Contact.get_or_none(Contact.id == row.contact_id)
        if contact is not None:
            standing.unsubscribe(contact, row, reason="", via="mailto")
    return report
