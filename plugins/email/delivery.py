"""Deliver claimed send-log rows: build the bytes (headers, VERP return
path, List-Unsubscribe, DKIM) and hand them to the transport, within the
shared rate limit. Also the ``email`` channel's ``send(message)``."""
from __future__ import annotations

import logging
import time
import uuid

from core import Message, SendResult, can_receive, emit, skip_reason, state

from . import compose, sendlog, verp
from .config import EmailConfig, load_config
from .models import Send
from .personal import ContentError
from .ratelimit import DomainPacer, Throttle, parse_domain_limits
from .renderer import Rendered, Renderer
from .rules import footer_refusal
from .transport import TransportError, transport_for

log = logging.getLogger("couvee.email")

#: a single message waits at most this long for the rate limit
SINGLE_MAX_WAIT = 10.0


class Mailer:
    """One job's sending kit: settings snapshot, reused transport, throttle."""

    def __init__(self, config: EmailConfig | None = None, transport=None, max_domain_wait: float = 5.0):
        self.config = config or load_config()
        self.transport = transport or transport_for(self.config)
        self.throttle = Throttle(state().redis, self.config.rate_per_second, self.config.rate_per_hour)
        try:
            limits = parse_domain_limits(self.config.domain_limits)
        except ValueError as error:  # stored values are validated on save; say so rather than stop sending
            log.error("email per-domain limits ignored: %s", error)
            limits = {}
        self.pacer = DomainPacer(state().redis, limits, max_domain_wait)

    def wait_domain_turn(self, address: str, max_wait: float) -> float:
        """Like :meth:`wait_turn` for the recipient domain's own limit."""
        waited = 0.0
        while True:
            wait = self.pacer.wait_for(address)
            if not wait:
                return 0.0
            if waited + wait > max_wait:
                return wait
            time.sleep(wait)
            waited += wait

    def wait_turn(self, max_wait: float) -> float:
        """Sleep through short rate-limit waits; return the wait still needed
        (0 when this message may go now) if it is longer than ``max_wait``."""
        waited = 0.0
        while True:
            wait = self.throttle.acquire()
            if not wait:
                return 0.0
            if waited + wait > max_wait:
                return wait
            time.sleep(wait)
            waited += wait

    def compose(self, row: Send, rendered: Rendered, *, sender_name: str, sender_email: str,
                reply_to: str = "", marketing: bool = True, urls: dict | None = None,
                headers: dict | None = None) -> tuple[str, bytes]:
        """The message's Message-ID and bytes, as :meth:`transmit` sends them
        (DkimError when the signing key is unusable)."""
        domain = self.config.return_domain
        envelope = compose.Envelope(
            send_id=row.id, to=row.to_email, subject=rendered.subject, html=rendered.html, text=rendered.text,
            sender_name=sender_name, sender_email=sender_email, reply_to=reply_to, headers=headers or {},
            unsubscribe_mailto=("mailto:" + verp.address("unsubscribe", row.id, domain) + "?subject=unsubscribe")
            if marketing else "",
            unsubscribe_https=(urls or {}).get("one_click", "") if marketing else "",
        )
        return compose.build(self.config, envelope)

    def start(self, row: Send, raw: bytes, meanwhile=None) -> None:
        """Hand a composed message to the server without waiting for its
        verdict, which :meth:`finish` reads (TransportError on refusal);
        ``meanwhile`` as ``SmtpTransport.start``."""
        self.transport.start(verp.address("bounce", row.id, self.config.return_domain), row.to_email, raw,
                             meanwhile=meanwhile)

    def finish(self) -> None:
        """The server's verdict on the message :meth:`start` sent."""
        self.transport.finish()

    def transmit(self, row: Send, rendered: Rendered, **options) -> str:
        """Send one message now (options as :meth:`compose`); returns its
        Message-ID (TransportError on refusal)."""
        message_id, raw = self.compose(row, rendered, **options)
        self.transport.send(verp.address("bounce", row.id, self.config.return_domain), row.to_email, raw)
        return message_id


def sent_event(row: Send, subject: str) -> dict:
    data = {"email_id": row.id, "kind": row.kind, "purpose": row.purpose, "subject": subject}
    if row.newsletter_id:
        data["newsletter_id"] = row.newsletter_id
    return data


def is_marketing(purpose: str) -> bool:
    return (purpose or "marketing") != "transactional"


def send_single(message: Message, config: EmailConfig | None = None, template: bool = False,
                content_format: str = "html") -> SendResult:
    """Send one message (the channel's ``send``). ``message.key`` makes it
    at-most-once; ``template=True`` renders subject and html as sandboxed
    user templates with the contact's data (the ``email.send`` action);
    ``content_format="mjml"`` when that html is an MJML newsletter's source."""
    config = config or load_config()
    sender_email = message.sender_email or config.from_email
    if not sender_email:
        return SendResult("failed", "no sender address: set it in Settings → Email")
    contact = message.contact
    key = f"msg:{message.key}" if message.key else f"once:{uuid.uuid4().hex}"
    row, reason = sendlog.claim_key(key, {
        "kind": message.kind or "transactional", "purpose": message.purpose or "transactional",
        "contact": contact.id if contact is not None else None, "to_email": message.to.strip(),
        "subject": message.subject,
    })
    if row is None:
        return SendResult("skipped", reason)
    if contact is not None:
        allowed, vetoes = can_receive(contact, "email", message.purpose)
        if not allowed:
            why = skip_reason(contact, "email", message.purpose, vetoes)
            sendlog.mark_skipped(row, why)
            return SendResult("skipped", why)
    marketing = is_marketing(message.purpose)
    try:
        renderer = Renderer(config, subject=message.subject, content=message.html, text=message.text,
                            is_template=template, scope=f"send:{row.id}", track=message.track,
                            marketing=marketing, sender_name=message.sender_name, content_format=content_format)
        urls = renderer.urls(row.id)
        rendered = renderer.render(row.id, contact, urls)
    except ContentError as error:
        sendlog.mark_failed(row, str(error))
        return SendResult("failed", str(error))
    refusal = footer_refusal(rendered.html, renderer, config, message.sender_name or config.from_name,
                             sender_email) if marketing else ""
    if refusal:
        sendlog.mark_failed(row, refusal)
        return SendResult("failed", refusal)
    mailer = Mailer(config)
    if mailer.wait_domain_turn(row.to_email, SINGLE_MAX_WAIT) or mailer.wait_turn(SINGLE_MAX_WAIT):
        sendlog.release(row, reason="rate limit")
        return SendResult("failed", "the sending rate limit is reached; retry later", retry=True)
    try:
        message_id = mailer.transmit(row, rendered, sender_name=message.sender_name or config.from_name,
                                     sender_email=sender_email, reply_to=message.reply_to or config.reply_to,
                                     marketing=marketing, urls=urls, headers=message.headers)
    except (TransportError, compose.DkimError) as error:
        sendlog.mark_failed(row, str(error))
        if getattr(error, "bounce", False) and contact is not None:
            from .bounces import record_bounce

            record_bounce(row, "hard", "5.0.0", str(error))
        # the server unreachable or a 4xx: the same key claims the row again on the next try
        return SendResult("failed", str(error), retry=isinstance(error, TransportError) and not error.permanent)
    except Exception as error:  # a failure of this message is reported, never raised into the caller's batch
        log.exception("sending email %s to %s failed", row.id, row.to_email)
        reason = f"{type(error).__name__}: {error}"
        sendlog.mark_failed(row, reason)
        return SendResult("failed", reason)
    sendlog.mark_sent(row, message_id, rendered.subject, html=rendered.html, text=rendered.text)
    if contact is not None:
        emit(contact, "email_sent", sent_event(row, rendered.subject), source="email")
    return SendResult("sent", provider_id=message_id)


def channel_send(message: Message) -> SendResult:
    """``SendChannel("email").send``: what ``core.send_message`` calls."""
    return send_single(message)
