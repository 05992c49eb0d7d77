"""SMS campaigns: a text sent to audience groups (segments), the audience
frozen into the send log when it starts, rows sent by RQ jobs that claim
them one by one (:mod:`.claims`), and the periodic sweep that restarts the
work a dead worker left once its lease ran out. A sending campaign can be
paused (no worker claims another of its rows), resumed (the rows still
waiting are sent, each once) or cancelled (the rows still waiting are marked
``cancelled``).

    campaign = Campaign.create(name="Soldes", body="Soldes -20 % ce week-end", segments=[3])
    problems = start(campaign)      # [] when it started
    pause(campaign); resume(campaign); cancel(campaign)   # each True when the state changed
"""
from __future__ import annotations

from dataclasses import dataclass

from core import (Contact, audience_contact_ids, audience_source, check_audience, contacts_can_receive, enqueue,
                  fill_tokens, get_setting, translation_domain, utcnow, write_transaction)

from . import claims, segments
from .models import CANCELLED, CLAIMED, DONE, DRAFT, PAUSED, QUEUED, SENDING, SENT, Campaign, SmsSend
from .phones import PhoneError, raw_phones, to_e164
from .provider import configured_provider
from .sending import deliver, skip

_ = translation_domain(__name__).gettext
AUDIENCE = "segment"
QUEUE = "default"
DRAINERS = 2


def price_per_segment() -> float:
    try:
        return float(str(get_setting("sms", "price_per_segment") or 0).replace(",", "."))
    except ValueError:
        return 0.0


@dataclass
class Estimate:
    """What a campaign would cost, before sending (the text without tokens filled)."""

    count: segments.Count
    recipients: int
    skipped: dict
    price: float

    @property
    def total(self) -> float:
        return round(self.count.segments * self.recipients * self.price, 2)


def audience_ids(campaign: Campaign) -> list[int]:
    if audience_source(AUDIENCE) is None or not campaign.segments:
        return []
    query = Contact.select(Contact.id).where(Contact.id.in_(audience_contact_ids(AUDIENCE, campaign.segments)))
    return [row_id for (row_id,) in query.tuples()]


def estimate(campaign: Campaign) -> Estimate:
    ids = audience_ids(campaign)
    check = check_audience(ids, "sms", "marketing")
    skipped = dict(check.skipped)
    phones = raw_phones(ids)
    no_phone = 0
    for contact_id in ids:
        try:
            to_e164(phones.get(contact_id, ""))
        except PhoneError:
            no_phone += 1
    if no_phone:
        skipped[_("no valid phone number")] = no_phone
    recipients = max(0, len(ids) - sum(check.skipped.values()) - no_phone)
    return Estimate(segments.count(campaign.body), recipients, skipped, price_per_segment())


def problems(campaign: Campaign) -> list[str]:
    found = []
    if not campaign.body.strip():
        found.append(_("Write the text of the message."))
    if audience_source(AUDIENCE) is None:
        found.append(_("No audience source is active: enable the Segments plugin to choose who receives it."))
    elif not campaign.segments:
        found.append(_("Choose at least one segment to send to."))
    if configured_provider() is None:
        found.append(_("SMS is not configured: fill in the account SID, auth token and sender in Settings → SMS."))
    return found


def start(campaign: Campaign) -> list[str]:
    """Freeze the audience and queue the send jobs; the problems instead when it cannot start."""
    found = problems(campaign)
    if found:
        return found
    now = utcnow()
    with write_transaction():
        if not Campaign.update(status=SENDING, started_at=now).where(
                (Campaign.id == campaign.id) & (Campaign.status == DRAFT)).execute():
            return [_("This campaign was already sent or is being sent.")]
        ids = audience_ids(campaign)
        for start_at in range(0, len(ids), 500):
            SmsSend.insert_many([{"key": f"c:{campaign.id}:{contact_id}", "kind": "sms.campaign",
                                  "campaign": campaign.id, "contact": contact_id, "status": QUEUED, "created_at": now}
                                 for contact_id in ids[start_at:start_at + 500]]).on_conflict_ignore().execute()
        Campaign.update(total=len(ids)).where(Campaign.id == campaign.id).execute()
    start_drainers(campaign.id)
    return []


def start_drainers(campaign_id: int, count: int = DRAINERS) -> None:
    for _slot in range(count):
        enqueue(drain, campaign_id, queue=QUEUE)


def pause(campaign: Campaign) -> bool:
    """Stop claiming the campaign's rows (a message already claimed still goes out)."""
    return bool(Campaign.update(status=PAUSED).where(
        (Campaign.id == campaign.id) & (Campaign.status == SENDING)).execute())


def resume(campaign: Campaign) -> bool:
    """Send the rows still waiting, each once: the claims skip those already sent."""
    if not Campaign.update(status=SENDING).where((Campaign.id == campaign.id) & (Campaign.status == PAUSED)).execute():
        return False
    start_drainers(campaign.id)
    return True


def cancel(campaign: Campaign) -> bool:
    """Mark the rows nobody is sending ``cancelled`` and the campaign with them.
    A row a live worker holds finishes (sent or not); :func:`sweep` cancels
    the rows of a dead worker once its lease has run out."""
    with write_transaction():
        if not Campaign.update(status=CANCELLED, finished_at=utcnow()).where(
                (Campaign.id == campaign.id) & Campaign.status.in_([SENDING, PAUSED])).execute():
            return False
        cancel_rows(campaign.id)
    return True


def cancel_rows(campaign_id: int) -> int:
    now = utcnow()
    return SmsSend.update(status=CANCELLED, claim=None, lease_until=None).where(
        (SmsSend.campaign == campaign_id) & ((SmsSend.status == QUEUED)
                                             | ((SmsSend.status == CLAIMED) & (SmsSend.lease_until < now)))).execute()


def drain(campaign_id: int) -> str:
    """Job: send the campaign's rows until none is free. Safe to run several at once."""
    campaign = Campaign.get_or_none(Campaign.id == campaign_id)
    if campaign is None or campaign.status != SENDING:
        return "not sending"
    sent = 0
    while (row := claims.claim_next(campaign_id)) is not None:
        outcome = send_row(campaign, row)
        if outcome == "sent":
            sent += 1
        elif outcome == "retry":
            break  # the gateway is failing: the sweep tries again later
    finish_if_done(campaign_id)
    return f"{sent} sent"


def send_row(campaign: Campaign, row: SmsSend) -> str:
    contact = Contact.get_or_none(Contact.id == row.contact_id) if row.contact_id else None
    if contact is None:
        skip(row, "contact deleted")
        return "skipped"
    refused = contacts_can_receive([contact], "sms", "marketing")
    if contact.id in refused:
        skip(row, refused[contact.id])
        return "skipped"
    try:
        to = to_e164(raw_phones([contact.id]).get(contact.id, ""))
    except PhoneError as error:
        skip(row, str(error))
        return "skipped"
    body = fill_tokens(campaign.body, contact).strip()
    result = deliver(row, to, body)
    if result.sent:
        return "sent"
    fresh = SmsSend.get_by_id(row.id)
    return "retry" if fresh.status == QUEUED else "failed"


def finish_if_done(campaign_id: int) -> bool:
    left = SmsSend.select().where((SmsSend.campaign == campaign_id) & SmsSend.status.in_([QUEUED, CLAIMED])).exists()
    if left:
        return False
    return bool(Campaign.update(status=SENT, finished_at=utcnow()).where(
        (Campaign.id == campaign_id) & (Campaign.status == SENDING)).execute())


def sweep() -> str:
    """Periodic job: restart campaigns whose rows wait (a transient failure,
    or a dead worker's lease that ran out), close the finished ones."""
    now = utcnow()
    restarted = 0
    for campaign in Campaign.select().where(Campaign.status == SENDING):
        free = SmsSend.select().where((SmsSend.campaign == campaign.id) & (
            (SmsSend.status == QUEUED) | ((SmsSend.status == CLAIMED) & (SmsSend.lease_until < now)))).exists()
        if free:
            start_drainers(campaign.id, 1)
            restarted += 1
        else:
            finish_if_done(campaign.id)
    for (campaign_id,) in Campaign.select(Campaign.id).where(Campaign.status == CANCELLED).tuples():
        cancel_rows(campaign_id)
    return f"{restarted} restarted"


def progress(campaign: Campaign) -> dict:
    from peewee import fn

    counts = dict(SmsSend.select(SmsSend.status, fn.COUNT(SmsSend.id)).where(SmsSend.campaign == campaign.id)
                  .group_by(SmsSend.status).tuples())
    return {status: counts.get(status, 0) for status in (QUEUED, CLAIMED, DONE, "skipped", "failed", CANCELLED)}
