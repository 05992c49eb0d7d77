"""Handing messages to the gateway: the ``sms`` send channel (one message,
exactly once per key) and the delivery of one claimed send-log row, shared
by the channel and campaigns."""
from __future__ import annotations

import logging
import re
import uuid

from markupsafe import Markup

from core import Message, SendResult, external_url, translation_domain

from . import claims, segments
from .models import DONE, FAILED, SKIPPED, SmsSend
from .phones import PhoneError, to_e164
from .provider import ProviderError, configured_provider

log = logging.getLogger("couvee.sms")
_ = translation_domain(__name__).gettext


def status_callback_url() -> str:
    return external_url("sms_hooks.status")


def plain_text(message: Message) -> str:
    """The SMS body of a message: its text, else its HTML without tags."""
    if message.text:
        return message.text.strip()
    return Markup(re.sub(r"<br\s*/?>|</p>", "\n", message.html or "")).striptags().strip()


def deliver(row: SmsSend, to: str, body: str) -> SendResult:
    """Send a claimed row's message and record the outcome under the claim."""
    provider = configured_provider()
    if provider is None:
        reason = _("SMS is not configured (account SID, auth token and sender in Settings → SMS)")
        claims.give_back(row, reason)
        return SendResult("failed", reason)
    parts = segments.count(body).segments
    try:
        sid = provider.send(to, body, status_callback=status_callback_url())
    except ProviderError as error:
        if error.permanent:
            claims.finish(row, FAILED, reason=str(error)[:1000], to=to)
        else:
            claims.give_back(row, str(error))
        return SendResult("failed", str(error), retry=not error.permanent)
    claims.finish(row, DONE, provider_id=sid, to=to, body=body, segments=parts, reason="", delivery="accepted")
    return SendResult("sent", provider_id=sid, detail=sid)


def send_sms(message: Message) -> SendResult:
    """The channel's ``send``: ``message.to`` a phone number (normalised to
    E.164 here), the body ``message.text`` (or the HTML's text). Consent was
    checked by ``core.send_message``; a number that replied STOP is refused
    by this plugin's ``contact_can_receive``."""
    try:
        to = to_e164(message.to)
    except PhoneError as error:
        return SendResult("skipped", str(error))
    body = plain_text(message)
    if not body:
        return SendResult("skipped", _("the message is empty"))
    key = message.key or f"nokey:{uuid.uuid4().hex}"  # no key: no deduplication
    fields = {"kind": message.kind, "to": to, "body": body,
              "contact": message.contact.id if message.contact is not None else None}
    row, reason = claims.claim_key(key, fields)
    if row is None:
        return SendResult("skipped", reason)
    return deliver(row, to, body)


def skip(row: SmsSend, reason: str) -> None:
    claims.finish(row, SKIPPED, reason=reason[:1000])
