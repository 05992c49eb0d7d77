"""The programme's periodic job and the send jobs.

:func:`run_programme` (every 15 minutes) does nothing outside the allowed
days and hours. Inside them it walks the contacts by id ranges; for each range
one SQL statement picks the content of every due contact (``picker``), then
one multi-row INSERT claims ``(contact, send date)`` — unique — for this run.
Only the rows this run inserted are sent, so a second run the same day, or a
second worker running the job at the same time, finds nothing left to claim.
Contacts with nothing to receive are claimed as ``no_content`` (counted on
the dashboard) and looked at again on the next allowed day.

:func:`send_picks` renders and sends claimed picks through the ``email``
channel (marketing purpose, tracked, idempotency key per contact and date).
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid

from core import (Contact, Message, SendResult, enqueue, for_contact, send_message, send_test_message,
                  translation_domain, utcnow, write_transaction)

from . import programme as programme_settings
from .models import Content, Pick, Profile
from .picker import Scope, id_bounds, pick_range
from .template import render, words_for

log = logging.getLogger("couvee.smart_content.sender")

BATCH = 2000
SEND_CHUNK = 100
STALE_CLAIM = dt.timedelta(minutes=30)
KEEP_NO_CONTENT = dt.timedelta(days=60)
MESSAGE_KIND = "smart_content.pick"
#: the reasons this module stores on a pick (in English, as data); see explain_reason
NO_CONTENT = "no content matches this contact's stage and interests"
GONE = "the contact or the content was deleted"
EXPIRED = "not sent: the email channel stayed unavailable until the next send day"
_ = translation_domain(__name__).gettext


def explain_reason(reason: str) -> str:
    """A pick's stored reason in the reader's language (ours are known
    sentences; the channel's are shown as they came)."""
    if reason == NO_CONTENT:
        return _("no content matches this contact's stage and interests")
    if reason == GONE:
        return _("the contact or the content was deleted")
    if reason == EXPIRED:
        return _("not sent: the email channel stayed unavailable until the next send day")
    return reason


def message_key(contact_id: int, send_date: dt.date) -> str:
    return f"smart_content:{contact_id}:{send_date.isoformat()}"


def claim(choices, send_date: dt.date, run_id: str) -> list[int]:
    """Insert the claims (ignoring contacts already claimed today by anyone);
    return the ids of this run's picks that have a content to send."""
    rows = [{
        "contact": c.contact_id, "send_date": send_date, "content": c.content_id,
        "status": "claimed" if c.content_id else "no_content", "stage": c.stage,
        "matching_tags": c.matching_tags, "score": c.score if c.content_id else 0, "run_id": run_id,
        "reason": "" if c.content_id else NO_CONTENT,
    } for c in choices]
    with write_transaction():
        for start in range(0, len(rows), 500):
            Pick.insert_many(rows[start:start + 500]).on_conflict_ignore().execute()
    low, high = choices[0].contact_id, choices[-1].contact_id
    return [p.id for p in Pick.select(Pick.id).where(
        (Pick.run_id == run_id) & (Pick.status == "claimed") & (Pick.contact >= low) & (Pick.contact <= high)
    ).order_by(Pick.id)]


def run_programme() -> dict:
    """Periodic job: pick and queue today's sends. Returns counters."""
    programme = programme_settings.load()
    closed = programme.closed_reason()
    if closed:
        return {"closed": closed}
    send_date = programme.send_date()
    scope = Scope(send_date=send_date, due_before=programme.due_before(), segment_ids=tuple(programme.segment_ids))
    run_id = uuid.uuid4().hex
    totals = {"due": 0, "claimed": 0, "no_content": 0}
    for low, high in id_bounds(BATCH):
        choices = pick_range(programme, scope, low, high)
        if not choices:
            continue
        mine = claim(choices, send_date, run_id)
        totals["due"] += len(choices)
        totals["claimed"] += len(mine)
        totals["no_content"] += sum(1 for c in choices if c.content_id is None)
        for start in range(0, len(mine), SEND_CHUNK):
            enqueue(send_picks, mine[start:start + SEND_CHUNK], queue="email")
    totals["requeued"] = requeue_stale(send_date)
    Pick.delete().where((Pick.status == "no_content")
                        & (Pick.send_date < send_date - KEEP_NO_CONTENT)).execute()
    log.info("smart content run %s: %s", run_id, totals)
    return totals


def requeue_stale(send_date: dt.date) -> int:
    """Claims whose send job was lost (Redis restarted, worker killed) or
    whose channel was down (:attr:`core.SendResult.retry`) are sent again; the
    channel's idempotency key prevents a second email. A claim of an earlier
    send day is not sent any more: the next day's pick replaces it."""
    Pick.update(status="failed", reason=EXPIRED).where(
        (Pick.status == "claimed") & (Pick.send_date < send_date)).execute()
    stale = [p.id for p in Pick.select(Pick.id).where(
        (Pick.status == "claimed") & (Pick.created_at < utcnow() - STALE_CLAIM))]
    for start in range(0, len(stale), SEND_CHUNK):
        enqueue(send_picks, stale[start:start + SEND_CHUNK], queue="email")
    return len(stale)


def context_for(contact: Contact, content: Content, why: dict) -> dict:
    return {
        "content": {"title": content.title, "url": content.url, "image_url": content.image_url,
                    "excerpt": content.excerpt, "stage": content.stage, "score": content.score},
        "contact": {"first_name": contact.first_name, "last_name": contact.last_name, "email": contact.email},
        "why": why,
        "words": words_for(contact.first_name),
    }


def build_message(contact: Contact, content: Content, why: dict, key: str, to: str | None = None,
                  programme=None) -> Message:
    programme = programme or programme_settings.load()
    with for_contact(contact):  # the default template's sentences in the contact's language
        subject, html = render(programme.template, programme.subject, context_for(contact, content, why))
    return Message(to=to or contact.email or "", contact=contact, kind=MESSAGE_KIND, purpose="marketing",
                   subject=subject, html=html, key=key, track=True,
                   metadata={"content_id": content.id, **({"pick_id": why["pick_id"]} if "pick_id" in why else {})})


def mark_emailed(contact_id: int, when: dt.datetime) -> None:
    """Remember the last marketing email (keeps the latest of two times)."""
    Profile.insert(contact=contact_id, last_email_at=when).on_conflict_ignore().execute()
    Profile.update(last_email_at=when).where(
        (Profile.contact == contact_id) & (Profile.last_email_at.is_null() | (Profile.last_email_at < when))
    ).execute()


def send_picks(pick_ids: list[int]) -> dict:
    """Job: send each claimed pick once (retries are safe: key per contact and date)."""
    programme = programme_settings.load()
    counts = {"sent": 0, "skipped": 0, "failed": 0, "waiting": 0}
    for pick in Pick.select().where(Pick.id.in_(pick_ids) & (Pick.status == "claimed")):
        contact = Contact.get_or_none(Contact.id == pick.contact_id)
        content = Content.get_or_none(Content.id == pick.content_id) if pick.content_id else None
        if contact is None or content is None:
            pick.status, pick.reason = "skipped", GONE
            pick.save()
            counts["skipped"] += 1
            continue
        why = {"pick_id": pick.id, "matching_tags": pick.matching_tags, "stage": pick.stage, "score": pick.score}
        try:
            message = build_message(contact, content, why, message_key(contact.id, pick.send_date), programme=programme)
            result = send_message(message, channel="email")
        except Exception as error:  # a template or channel error must not block the others
            log.exception("smart content pick %s failed", pick.id)
            pick.status, pick.reason = "failed", f"{type(error).__name__}: {error}"[:1000]
            pick.save()
            counts["failed"] += 1
            continue
        if result.retry:  # the channel is down for now: the pick stays claimed, requeue_stale sends it later
            pick.reason = result.reason[:1000]
            pick.save()
            counts["waiting"] += 1
            continue
        already = result.status == "skipped" and any(w in result.reason.lower() for w in ("duplicate", "already"))
        pick.status, pick.reason = ("sent" if already else result.status), result.reason[:1000]
        if pick.status == "sent":
            pick.sent_at = utcnow()
            mark_emailed(contact.id, pick.sent_at)
        pick.save()
        counts[result.status if result.status in counts else "failed"] += 1
    return counts


class _Reader:
    """Stand-in recipient for a test send to an address that is no contact."""

    first_name, last_name, email = "", "", ""


def send_test(content_id: int, address: str, contact_id: int | None = None) -> SendResult:
    """Send one content to ``address`` now, rendered as the programme would
    for ``contact_id`` (or a sample reader), through the channel's test send
    (``core.send_test_message``): the admin waits and sees the server's answer
    (``detail``) or the error (``reason``). A test does not count: it names no
    contact (no ``email_sent`` on anyone's timeline, so no frequency exclusion
    and no pick) and is not tracked."""
    content = Content.get_or_none(Content.id == content_id)
    if content is None:
        return SendResult("failed", "the content was deleted")
    contact = Contact.get_or_none(Contact.id == contact_id) if contact_id else None
    reader = contact or _Reader()
    why = {"matching_tags": [], "stage": content.stage or "", "score": content.score, "test": True}
    settings = programme_settings.load()
    if contact is not None:
        with for_contact(contact):
            subject, html = render(settings.template, settings.subject, context_for(reader, content, why))
    else:  # an address that is no contact: the admin's language
        subject, html = render(settings.template, settings.subject, context_for(reader, content, why))
    result = send_test_message(Message(
        to=address, contact=None, kind=MESSAGE_KIND, purpose="marketing",
        subject=_("[Test] %(subject)s", subject=subject),
        html=html, track=False, metadata={"content_id": content.id, "test": True}), channel="email")
    log.info("smart content test send of %s to %s: %s %s", content.id, address, result.status,
             result.detail or result.reason)
    return result
