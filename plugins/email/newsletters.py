"""Newsletters: start (now or at a time), the audience frozen into the send
log, batches sent by parallel RQ jobs that claim rows, pause/resume, the
periodic sweep that restarts abandoned work, and progress figures.

Jobs take ids and re-read the newsletter; every state change is a
conditional UPDATE, so two workers (or a retried job) never both act.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from peewee import Value, fn
from rq.exceptions import NoSuchJobError
from rq.job import Job

from core import (AudienceCheck, Contact, audience_contact_ids, audience_source, check_audience, contacts_can_receive,
                  dispatch_many, enqueue, get_values, state, translation_domain, utcnow, work_waiting_elsewhere)

from . import rules, sendlog, window as windows
from .compose import DkimError
from .config import EmailConfig, load_config
from .delivery import Mailer
from .journal import Journal
from .models import (AUDIENCE, CANCELLED, CLAIMED, DONE, DRAFT, FAILED, PAUSED, QUEUED, SCHEDULED, SEND_CANCELLED, SENDING,
                     SENT, SKIPPED, Newsletter, Send)
from .personal import ContentError
from .renderer import Renderer
from .transport import RecipientError, TransportError

log = logging.getLogger("couvee.email")
_ = translation_domain(__name__).gettext
QUEUE = "email"
#: a newsletter job sleeps through rate-limit waits up to this, else reschedules itself
MAX_INLINE_WAIT = 5.0
#: a send job that has run this long ends after its batch when a job waits in another queue, and
#: queues its continuation (a worker serving every queue is not held for a whole newsletter)
SLICE_SECONDS = 20.0
#: a connection failure pauses the job this long before trying again
OUTAGE_DELAY = dt.timedelta(seconds=60)
#: a send job looks this often whether the newsletter was cancelled meanwhile
CANCEL_CHECK_SECONDS = 1.0
#: a slow (rate-limited) batch writes its sent marks and events at least this often
FLUSH_SECONDS = 5.0


class NewsletterError(ValueError):
    """A newsletter that cannot move to the asked state; message for the user."""


# --- life cycle (admin actions) ------------------------------------------------------------


def newsletter_renderer(newsletter: Newsletter, config: EmailConfig, prerender: bool = False) -> Renderer:
    """The newsletter's renderer; ``prerender`` for a send job (many recipients, see :mod:`.prerendered`)."""
    return Renderer(config, subject=newsletter.subject, content=newsletter.content, preheader=newsletter.preheader,
                    scope=f"nl:{newsletter.id}", utm=newsletter.utm, track=newsletter.track, marketing=True,
                    sender_name=newsletter.sender_name or config.from_name, prerender=prerender,
                    content_format=newsletter.content_format)


def check_ready(newsletter: Newsletter, config: EmailConfig | None = None) -> rules.Verdict:
    """The template rules and the basics (subject, audience) before sending."""
    config = config or load_config()
    verdict = rules.check_newsletter(newsletter, config)
    if not newsletter.subject.strip():
        verdict.errors.insert(0, _("The newsletter has no subject."))
    if audience_source(AUDIENCE) is None:
        verdict.errors.insert(0, _("No audience source is active: enable the Segments plugin to choose who "
                                   "receives the newsletter."))
    elif not newsletter.segments:
        verdict.errors.insert(0, _("Choose at least one segment to send to."))
    else:
        verdict.audience = audience_check(newsletter)
        if verdict.audience.refusal():
            verdict.errors.append(verdict.audience.refusal())
    return verdict


def start(newsletter: Newsletter, at: dt.datetime | None = None) -> rules.Verdict:
    """Send now (``at`` None or past) or schedule. Refused (nothing changes)
    when the rules find an error."""
    verdict = check_ready(newsletter)
    if verdict.errors:
        return verdict
    now = utcnow()
    if at is not None and at > now:
        changed = Newsletter.update(status=SCHEDULED, scheduled_at=at, updated_at=now).where(
            (Newsletter.id == newsletter.id) & Newsletter.status.in_([DRAFT, SCHEDULED])).execute()
        if not changed:
            raise NewsletterError(_("Only a draft can be scheduled."))
        enqueue(begin, newsletter.id, queue=QUEUE, at=at)
        return verdict
    changed = Newsletter.update(status=SCHEDULED, scheduled_at=now, updated_at=now).where(
        (Newsletter.id == newsletter.id) & Newsletter.status.in_([DRAFT, SCHEDULED])).execute()
    if not changed:
        raise NewsletterError(_("This newsletter was already sent or is being sent."))
    enqueue(begin, newsletter.id, queue=QUEUE)
    return verdict


def unschedule(newsletter: Newsletter) -> None:
    changed = Newsletter.update(status=DRAFT, scheduled_at=None, updated_at=utcnow()).where(
        (Newsletter.id == newsletter.id) & (Newsletter.status == SCHEDULED)).execute()
    if not changed:
        raise NewsletterError(_("Only a scheduled newsletter can go back to draft."))


def pause(newsletter: Newsletter, reason: str = "") -> None:
    """Pause a newsletter being sent; ``reason`` is a send job's (shown on
    the newsletter's page), empty when a person paused it."""
    changed = Newsletter.update(status=PAUSED, pause_reason=reason, updated_at=utcnow()).where(
        (Newsletter.id == newsletter.id) & (Newsletter.status == SENDING)).execute()
    if not changed:
        raise NewsletterError(_("Only a newsletter being sent can be paused."))


def _pause_quietly(newsletter: Newsletter, reason: str) -> None:
    """A send job pauses a newsletter, saying why (nothing when another job paused it already)."""
    try:
        pause(newsletter, reason)
    except NewsletterError:
        pass
    log.error("newsletter %s paused: %s", newsletter.id, reason)


def resume(newsletter: Newsletter) -> None:
    changed = Newsletter.update(status=SENDING, pause_reason="", updated_at=utcnow()).where(
        (Newsletter.id == newsletter.id) & (Newsletter.status == PAUSED)).execute()
    if not changed:
        raise NewsletterError(_("Only a paused newsletter can be resumed."))
    start_drainers(newsletter.id, load_config().workers)


def cancel(newsletter: Newsletter) -> int:
    """Stop for good: every row not sent yet, waiting or held by a send job
    (alive, or dead and waiting for its lease to expire), is marked
    cancelled. A row's claim is kept, so a message a job is handing to the
    server at this very moment is still recorded as sent when it is."""
    changed = Newsletter.update(status=CANCELLED, finished_at=utcnow(), updated_at=utcnow()).where(
        (Newsletter.id == newsletter.id) & Newsletter.status.in_([SENDING, PAUSED, SCHEDULED])).execute()
    if not changed:
        raise NewsletterError(_("This newsletter is not being sent."))
    return Send.update(status=SEND_CANCELLED, reason="newsletter cancelled", lease_until=None).where(
        (Send.newsletter == newsletter.id) & Send.status.in_([QUEUED, CLAIMED])).execute()


# --- jobs ----------------------------------------------------------------------------------


def begin(newsletter_id: int) -> str:
    """Job: a due newsletter freezes its audience into the send log and starts
    its send jobs. Runs once (conditional status change)."""
    now = utcnow()
    changed = Newsletter.update(status=SENDING, started_at=now, updated_at=now).where(
        (Newsletter.id == newsletter_id) & (Newsletter.status == SCHEDULED)
        & (Newsletter.scheduled_at.is_null() | (Newsletter.scheduled_at <= now))).execute()
    if not changed:
        return "not due"
    newsletter = Newsletter.get_by_id(newsletter_id)
    total = freeze_audience(newsletter)
    Newsletter.update(total=total).where(Newsletter.id == newsletter_id).execute()
    start_drainers(newsletter_id, load_config().workers)
    return f"{total} recipients"


def audience_query(newsletter: Newsletter):
    """Contacts in any target segment, in no excluded segment, with an address
    (segments are read through the ``"segment"`` audience source: nobody when
    no active plugin provides it)."""
    members = audience_contact_ids(AUDIENCE, newsletter.segments)
    query = Contact.select(Contact.id).where(
        Contact.id.in_(members) & Contact.email.is_null(False) & (Contact.email != ""))
    if newsletter.exclusions:
        query = query.where(Contact.id.not_in(audience_contact_ids(AUDIENCE, newsletter.exclusions)))
    return query


def audience_check(newsletter: Newsletter) -> AudienceCheck:
    """Who would receive it now, and who is skipped, by reason (batched)."""
    return check_audience(audience_query(newsletter), "email", "marketing")


def freeze_audience(newsletter: Newsletter) -> int:
    """One send-log row per recipient (INSERT ... SELECT, duplicates ignored)."""
    now = Send.created_at.db_value(utcnow())
    ids = audience_query(newsletter)
    select = Contact.select(
        Value(f"nl:{newsletter.id}:").concat(Contact.id.cast("TEXT")), Value("newsletter"), Value("marketing"),
        Value(newsletter.id), Contact.id, Contact.email, Value(QUEUED), Value(now),
        Value(""), Value(""), Value(0), Value(0), Value(0),
    ).where(Contact.id.in_(ids))
    # every NOT NULL column is given: peewee defaults are Python-side only
    Send.insert_from(select, [Send.key, Send.kind, Send.purpose, Send.newsletter, Send.contact, Send.to_email,
                              Send.status, Send.created_at, Send.subject, Send.reason, Send.attempts,
                              Send.open_count, Send.click_count]).on_conflict_ignore().execute()
    return Send.select().where(Send.newsletter == newsletter.id).count()


def _job_alive(job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=state().redis)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in ("queued", "started", "scheduled", "deferred")


def start_drainers(newsletter_id: int, count: int, prefix: str = "w") -> int:
    """Queue up to ``count`` send jobs for a newsletter (not when one with the
    same slot is already waiting or running)."""
    started = 0
    for slot in range(max(1, int(count or 1))):
        job_id = f"email-nl-{newsletter_id}-{prefix}{slot}"
        if _job_alive(job_id):
            continue
        enqueue(drain, newsletter_id, queue=QUEUE, job_id=job_id, timeout=3600)
        started += 1
    return started


def drain(newsletter_id: int) -> str:
    """Job: claim and send batches until the newsletter is done or paused."""
    newsletter = Newsletter.get_or_none(Newsletter.id == newsletter_id)
    if newsletter is None or newsletter.status != SENDING:
        return "not sending"
    config = load_config()
    mailer = Mailer(config)
    try:
        renderer = newsletter_renderer(newsletter, config, prerender=True)
    except ContentError as error:
        _pause_quietly(newsletter, str(error))
        return f"paused: {error}"
    sent = 0
    journal = Journal(newsletter_id)
    started = time.monotonic()
    while Newsletter.select(Newsletter.status).where(Newsletter.id == newsletter_id).scalar() == SENDING:
        claim, rows = sendlog.claim_batch(newsletter_id, max(1, config.batch_size))
        if not rows:
            return finish(newsletter_id, sent)
        delay = send_batch(newsletter, rows, claim, renderer, mailer, journal)
        sent += sum(1 for row in rows if getattr(row, "_sent", False))
        if delay is not None:
            sendlog.release_all(claim)
            enqueue(drain, newsletter_id, queue=QUEUE, delay=delay, timeout=3600)
            return f"sent {sent}; resuming in {delay.total_seconds():.0f}s"
        if time.monotonic() - started > SLICE_SECONDS and work_waiting_elsewhere(QUEUE):
            # a long send does not hold its worker: the job waiting in another queue (a workflow
            # step, an import, a periodic job) goes first, the send goes on in a new job
            enqueue(drain, newsletter_id, queue=QUEUE, timeout=3600)
            return f"sent {sent}; goes on in a new job (other work was waiting)"
    return f"sent {sent}; stopped (paused or cancelled)"


def finish(newsletter_id: int, sent: int) -> str:
    """No claimable row left: done, or come back for rows waiting for their window."""
    pending = Send.select(fn.MIN(Send.not_before)).where(
        (Send.newsletter == newsletter_id) & (Send.status == QUEUED)).scalar()
    waiting = Send.select().where((Send.newsletter == newsletter_id) & Send.status.in_([QUEUED, CLAIMED])).exists()
    if waiting:
        if pending is not None:
            enqueue(drain, newsletter_id, queue=QUEUE, at=sendlog.aggregate_time(pending), timeout=3600)
        return f"sent {sent}; others pending"
    now = utcnow()
    Newsletter.update(status=SENT, finished_at=now, updated_at=now).where(
        (Newsletter.id == newsletter_id) & (Newsletter.status == SENDING)).execute()
    Journal(newsletter_id).forget()
    return f"sent {sent}; newsletter finished"


def send_batch(newsletter: Newsletter, rows: list[Send], claim: str, renderer: Renderer, mailer: Mailer,
               journal: Journal | None = None):
    """Send claimed rows one by one; returns a delay when the job must stop
    and come back later (rate limit per hour, SMTP outage), else None.

    The whole batch's consent is asked at once, right before it is sent.
    Each accepted message is noted in the :class:`Journal` at once; the
    batch's "sent" marks and ``email_sent`` events are written together (one
    transaction, no sent row without its event) at least every
    :data:`FLUSH_SECONDS` and at the end, then dispatched by one drain.
    Rows a killed worker had sent already are only marked sent."""
    journal = journal or Journal(newsletter.id)
    try:
        sending = screen(rows, journal)
        return _send_rows(newsletter, sending, claim, renderer, mailer, journal)
    finally:
        dispatch_many(journal.flush())


def screen(rows: list[Send], journal: Journal) -> list[Send]:
    """The claimed rows to send: not those sent already (found in the
    journal), nor deleted contacts, rows retried too often, or contacts a
    plugin refuses (one batched consent question), which are marked."""
    recovered = {row.id for row in journal.recover(rows)}
    candidates, skips = [], []
    for row in rows:
        if row.id in recovered:
            continue
        if row.contact is None:
            skips.append((row, "contact deleted"))
        elif row.attempts > sendlog.MAX_ATTEMPTS:
            sendlog.mark_failed(row, f"gave up after {row.attempts - 1} attempts" + (f": {row.reason}" if row.reason else ""))
        else:
            candidates.append(row)
    refused = contacts_can_receive([row.contact for row in candidates], "email", "marketing")
    skips += [(row, refused[row.contact.id]) for row in candidates if row.contact.id in refused]
    sendlog.mark_skipped_many(skips)
    return [row for row in candidates if row.contact.id not in refused]


class _Ready:
    """A message composed for one claimed row, not handed to the server yet."""

    __slots__ = ("row", "message_id", "raw", "subject")

    def __init__(self, row: Send, message_id: str, raw: bytes, subject: str):
        self.row, self.message_id, self.raw, self.subject = row, message_id, raw, subject


def _send_rows(newsletter: Newsletter, rows: list[Send], claim: str, renderer: Renderer, mailer: Mailer,
               journal: Journal):
    """Send the screened rows, one message at a time, preparing each while
    the server takes in the one before (see :class:`_Flight`)."""
    config = mailer.config
    window = windows.normalize(newsletter.window) if newsletter.window else {}
    sender = (newsletter.sender_name or config.from_name, newsletter.sender_email or config.from_email,
              newsletter.reply_to or config.reply_to)
    renewed_at = checked_at = flushed_at = time.monotonic()
    flight = _Flight(newsletter, mailer, journal)
    try:
        # a domain over its own limit waits, the others go on (the pacer reads the verdict in flight
        # before it sleeps: a sleep never holds an accepted message out of the journal)
        for row, postpone in mailer.pacer.pace(rows, before_sleep=flight.settle_before_sleep):
            if postpone:
                sendlog.release(row, not_before=utcnow() + dt.timedelta(seconds=postpone), reason="domain rate limit")
                continue
            try:
                ready = _prepare_row(newsletter, row, renderer, mailer, window, sender)
            except DkimError as error:
                # the configuration, not this recipient: every message would fail the same way. The
                # newsletter pauses (the reason is on its page, with this row), to resume once the key is fixed
                sendlog.release(row, reason=str(error), counted=False)
                _pause_quietly(newsletter, str(error))
                return flight.settle() or OUTAGE_DELAY
            except Exception as error:  # whatever one recipient does, the others still get their email
                log.exception("newsletter %s: preparing the message to %s failed", newsletter.id, row.to_email)
                sendlog.mark_failed(row, f"{type(error).__name__}: {error}")
                continue
            delay = flight.settle()
            if delay is not None:
                return delay  # a row prepared but not sent stays claimed: the caller releases it
            if ready is None:  # failed or postponed by itself
                continue
            wait = mailer.wait_turn(MAX_INLINE_WAIT)  # after the verdict is read: a sleep holds nothing back
            if wait:
                return dt.timedelta(seconds=max(1, wait))
            if time.monotonic() - renewed_at > sendlog.LEASE.total_seconds() / 3:
                sendlog.renew(claim)
                renewed_at = time.monotonic()
            if time.monotonic() - flushed_at > FLUSH_SECONDS:
                flight.note()
                flight.check()
                dispatch_many(journal.flush())  # progress and events keep flowing in a slow (rate-limited) batch
                flushed_at = time.monotonic()
            if time.monotonic() - checked_at > CANCEL_CHECK_SECONDS:
                if Newsletter.select(Newsletter.status).where(Newsletter.id == newsletter.id).scalar() == CANCELLED:
                    return None  # cancel() has marked the rest; the drain loop sees the status and stops
                checked_at = time.monotonic()
            delay = flight.hand_over(ready)
            if delay is not None:
                return delay
        return flight.settle()
    finally:
        flight.close()


class _Flight:
    """A send job's message in flight, and the acceptance not noted yet.

    A message goes to the server up to its final dot (:meth:`hand_over`);
    the job composes the next one, then reads the verdict (:meth:`settle`):
    the server's work on a message and ours on the next overlap, with one
    message at a time on the connection. An accepted message is noted in
    the journal while the server answers the next one's ``MAIL FROM``
    (:meth:`note` is the transport's ``meanwhile``), or at once when no
    message follows. A journal that cannot be written stops the job
    (:meth:`check`), outside any SMTP transaction."""

    def __init__(self, newsletter: Newsletter, mailer: Mailer, journal: Journal):
        self.newsletter, self.mailer, self.journal = newsletter, mailer, journal
        self.in_flight: _Ready | None = None  # sent, its verdict not read yet
        self.unnoted: _Ready | None = None  # accepted, not in the journal yet
        self.failures: list[Exception] = []
        self.stop: dt.timedelta | None = None  # asked for by a verdict read before the pacer slept

    def hand_over(self, ready: _Ready) -> dt.timedelta | None:
        """Send a composed message up to its final dot (noting the previous
        one meanwhile); a delay when the server cannot be used now."""
        delay = None
        try:
            self.mailer.start(ready.row, ready.raw, self.note)
            self.in_flight = ready
        except TransportError as error:
            delay = _refused(self.newsletter, ready.row, error)
        except Exception as error:  # whatever one recipient does, the others still get their email
            self._failed(ready.row, error)
        self.check()
        return delay

    def settle(self) -> dt.timedelta | None:
        """Read the verdict on the message in flight (an accepted one waits
        for its note); a delay when the job must stop."""
        ready, self.in_flight = self.in_flight, None
        stop, self.stop = self.stop, None
        if ready is None:
            return stop
        try:
            self.mailer.finish()
        except TransportError as error:
            return _refused(self.newsletter, ready.row, error) or stop
        except Exception as error:
            self._failed(ready.row, error)
            return stop
        self.note()  # one accepted earlier and not noted yet (no message was handed over since)
        self.unnoted = ready
        return stop

    def _failed(self, row: Send, error: Exception) -> None:
        log.exception("newsletter %s: sending to %s failed", self.newsletter.id, row.to_email)
        sendlog.mark_failed(row, f"{type(error).__name__}: {error}")

    def settle_before_sleep(self) -> None:
        """Before the job sleeps: read the verdict and note the acceptance now."""
        self.stop = self.settle() or self.stop
        self.note()

    def note(self) -> None:
        accepted, self.unnoted = self.unnoted, None
        if accepted is not None:
            try:
                self.journal.accepted(accepted.row, accepted.message_id, accepted.subject)
            except Exception as error:  # raised by check(), not inside the SMTP transaction it runs in
                self.failures.append(error)

    def check(self) -> None:
        if self.failures:
            raise self.failures[0]

    def close(self) -> None:
        """The job stops (done, or an error): read the last verdict, note it."""
        if self.in_flight is not None:
            self.settle()
        self.note()
        self.check()


def _prepare_row(newsletter: Newsletter, row: Send, renderer: Renderer, mailer: Mailer, window: dict,
                 sender: tuple[str, str, str]) -> _Ready | None:
    """Render and compose one claimed, screened row's message. None when the
    row is done with for now (outside its send window, or its content
    failed). DkimError when the signing key is unusable."""
    config = mailer.config
    contact = row.contact
    if window:
        tz = windows.zone(get_values(contact).get(config.timezone_field), config.send_timezone)
        opening = windows.next_opening(window, utcnow(), tz)
        if opening is not None:
            sendlog.release(row, not_before=opening, reason="outside the send window")
            return None
    try:
        urls = renderer.urls(row.id)
        rendered = renderer.render(row.id, contact, urls)
    except ContentError as error:
        sendlog.mark_failed(row, str(error))
        return None
    sender_name, sender_email, reply_to = sender
    message_id, raw = mailer.compose(row, rendered, sender_name=sender_name, sender_email=sender_email,
                                     reply_to=reply_to, marketing=True, urls=urls,
                                     headers={"Precedence": "bulk", "Feedback-ID": f"nl{newsletter.id}:couvee"})
    return _Ready(row, message_id, raw, rendered.subject)


def _refused(newsletter: Newsletter, row: Send, error: TransportError) -> dt.timedelta | None:
    """Record what the server said about one row: a refused recipient fails
    (or waits, for a temporary refusal) and the others go on; a server
    problem (unreachable, 421) stops the job without counting it against the
    row; a sender the server refuses for good pauses the newsletter."""
    if isinstance(error, RecipientError):
        if not error.permanent:  # e.g. 451 greylisting: this address later, the others now
            sendlog.release(row, not_before=utcnow() + OUTAGE_DELAY * row.attempts, reason=str(error))
            return None
        sendlog.mark_failed(row, str(error))
        if error.bounce:
            from .bounces import record_bounce

            record_bounce(row, "hard", "5.0.0", str(error))
        return None
    if error.permanent:
        # the server refuses our sender for good (5xx to MAIL FROM): every message would be refused
        # the same way, so the newsletter pauses with the reason on its page, nobody's attempt counted,
        # until the sender or the server's settings are fixed and it is resumed
        sendlog.release(row, reason=str(error), counted=False)
        _pause_quietly(newsletter, str(error))
        return OUTAGE_DELAY
    sendlog.release(row, not_before=utcnow() + OUTAGE_DELAY, reason=str(error), counted=False)
    return OUTAGE_DELAY


def sweep() -> dict:
    """Periodic job: start due scheduled newsletters (if their job was lost)
    and restart send jobs of newsletters with due or abandoned rows."""
    now = utcnow()
    begun = 0
    for newsletter in Newsletter.select().where((Newsletter.status == SCHEDULED) & (Newsletter.scheduled_at <= now)):
        enqueue(begin, newsletter.id, queue=QUEUE)
        begun += 1
    restarted = 0
    for newsletter in Newsletter.select().where(Newsletter.status == SENDING):
        due = Send.select().where((Send.newsletter == newsletter.id) & sendlog._claimable(now)).exists()
        if due:
            restarted += start_drainers(newsletter.id, 1, prefix="sweep")
        elif not Send.select().where((Send.newsletter == newsletter.id) & Send.status.in_([QUEUED, CLAIMED])).exists():
            finish(newsletter.id, 0)
    return {"begun": begun, "restarted": restarted}


# --- progress ------------------------------------------------------------------------------


#: a newsletter scheduled less than this ahead counts as starting now (its page keeps refreshing)
STARTING_SOON = dt.timedelta(seconds=60)


def in_progress(newsletter: Newsletter, now: dt.datetime | None = None) -> bool:
    """Being sent, or about to be (sent now, or due within a minute): its
    page refreshes itself until the send ends."""
    if newsletter.status == SENDING:
        return True
    now = now or utcnow()
    return (newsletter.status == SCHEDULED and newsletter.scheduled_at is not None
            and newsletter.scheduled_at <= now + STARTING_SOON)


def send_rate(newsletter_id: int, sent: int) -> float:
    """Messages per second over the elapsed send time (0 before two are sent)."""
    if sent < 2:
        return 0.0
    first, last = (Send.select(fn.MIN(Send.sent_at), fn.MAX(Send.sent_at))
                   .where((Send.newsletter == newsletter_id) & (Send.status == DONE)).tuples().get())
    first, last = (value if isinstance(value, dt.datetime) or value is None else Send.sent_at.python_value(value)
                   for value in (first, last))
    elapsed = (last - first).total_seconds() if first and last else 0.0
    return (sent - 1) / elapsed if elapsed > 0 else 0.0


def progress(newsletter: Newsletter) -> dict:
    """Counts by state and the send rate: messages sent over the time they
    took, from the first to the last (21 messages sent 1/14 s apart: 14/s)."""
    counts = {status: 0 for status in (QUEUED, CLAIMED, DONE, SKIPPED, FAILED, SEND_CANCELLED)}
    for status, count in (Send.select(Send.status, fn.COUNT(Send.id)).where(Send.newsletter == newsletter.id)
                          .group_by(Send.status).tuples()):
        counts[status] = count
    total = sum(counts.values()) or newsletter.total
    rate = send_rate(newsletter.id, counts[DONE])
    done = counts[DONE] + counts[SKIPPED] + counts[FAILED] + counts[SEND_CANCELLED]
    return {"total": total, "sent": counts[DONE], "skipped": counts[SKIPPED], "failed": counts[FAILED],
            "cancelled": counts[SEND_CANCELLED],
            "pending": counts[QUEUED] + counts[CLAIMED], "done": done,
            "percent": round(100.0 * done / total, 1) if total else 0.0, "rate": round(rate, 1)}
