"""Test sends and the SMTP connection check, run while the admin waits
(short timeout) so the page shows what the server answered, e.g.
"250 OK queued as 4F2A1", or what went wrong: "Connection refused on
127.0.0.1:2525", "Authentication failed: 535 5.7.8 ...".

A test send is the newsletter as a chosen contact would get it, to any
address, before the real send. Not tracked, no events, subject marked.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass

from core import Contact, Message, SendResult, translation_domain

from . import sendlog
from .compose import DkimError
from .config import EmailConfig, load_config
from .delivery import Mailer, is_marketing
from .models import Newsletter
from .personal import ContentError
from .renderer import Renderer
from .transport import SmtpTransport, TransportError, maildir_folder, smtp_address

#: seconds the admin waits at most for the SMTP server at each step
TEST_TIMEOUT = 10.0
_ = translation_domain(__name__).gettext


@dataclass
class Report:
    """What the admin reads (``message``); ``reason`` is why it was not sent."""

    ok: bool
    message: str
    reason: str = ""


def not_sent(reason: str) -> Report:
    return Report(False, _("Not sent: %(reason)s", reason=reason), reason=reason)


def _where(config: EmailConfig) -> str:
    return f"{config.smtp_host}:{config.smtp_port}"


def _reply(code, text) -> str:
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())}"


def describe_error(error: BaseException, config: EmailConfig) -> str:
    """One sentence for the admin about an SMTP failure."""
    where = _where(config)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return _("Authentication failed: %(reply)s", reply=_reply(error.smtp_code, error.smtp_error))
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return _("The server on %(server)s does not support this: %(error)s", server=where, error=error)
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        address, (code, text) = next(iter(error.recipients.items()))
        return _("The server on %(server)s refused the recipient %(address)s: %(reply)s", server=where,
                 address=address, reply=_reply(code, text))
    if isinstance(error, smtplib.SMTPResponseException):
        return _("The server on %(server)s refused: %(reply)s", server=where,
                 reply=_reply(error.smtp_code, error.smtp_error))
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return _("The server on %(server)s closed the connection: %(error)s", server=where,
                 error=error or _("no reason given"))
    if isinstance(error, ConnectionRefusedError):
        return _("Connection refused on %(server)s (nothing listens there, or a firewall refuses)", server=where)
    if isinstance(error, socket.gaierror):
        return _("Unknown host %(host)s: %(error)s", host=repr(config.smtp_host), error=error.strerror or error)
    if isinstance(error, (socket.timeout, TimeoutError)):
        return _("No answer from %(server)s within %(seconds)s seconds", server=where, seconds="%g" % TEST_TIMEOUT)
    if isinstance(error, ssl.SSLError):
        return _("TLS with %(server)s failed: %(error)s", server=where, error=error.reason or error)
    if isinstance(error, OSError):
        return _("Could not reach %(server)s: %(error)s", server=where, error=error.strerror or error)
    return f"{type(error).__name__}: {error}"


class ReportingSmtp:
    """A one-message SMTP transport on its own connection that keeps the
    server's answer to the message (``reply``)."""

    def __init__(self, config: EmailConfig, timeout: float = TEST_TIMEOUT):
        self.config, self.timeout, self.reply = config, timeout, ""

    def send(self, envelope_from: str, to: str, data: bytes) -> None:
        client = SmtpTransport(self.config, timeout=self.timeout)._connect()
        try:
            smtputf8 = client.has_extn("smtputf8")
            options = ["SMTPUTF8"] if smtputf8 and not (to.isascii() and data.isascii()) else []
            code, text = client.mail(smtp_address(envelope_from, smtputf8), options)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, text, envelope_from)
            code, text = client.rcpt(smtp_address(to, smtputf8))
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (code, text)})
            code, text = client.data(data)  # SMTPDataError unless 250
            self.reply = _reply(code, text)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def close(self):
        pass


def send_test(newsletter_id: int, address: str, contact_id: int | None = None) -> Report:
    """Send the newsletter to ``address`` with ``contact_id``'s data, now."""
    newsletter = Newsletter.get_or_none(Newsletter.id == newsletter_id)
    if newsletter is None:
        return Report(False, _("No such newsletter."))
    config = load_config()
    contact = Contact.get_or_none(Contact.id == contact_id) if contact_id else None
    renderer = lambda: Renderer(  # noqa: E731 - built inside deliver_test, which reports its errors
        config, subject=newsletter.subject, content=newsletter.content, preheader=newsletter.preheader, scope="",
        utm=newsletter.utm, track=False, marketing=True, sender_name=newsletter.sender_name or config.from_name,
        content_format=newsletter.content_format)
    return deliver_test(config, address, renderer, contact=contact, kind="newsletter.test",
                        sender_name=newsletter.sender_name or config.from_name,
                        sender_email=newsletter.sender_email or config.from_email,
                        reply_to=newsletter.reply_to or config.reply_to)


def deliver_test(config: EmailConfig, address: str, make_renderer, *, contact=None, kind: str, sender_name: str,
                 sender_email: str, reply_to: str = "", subject_prefix: str = "[Test] ",
                 marketing: bool = True) -> Report:
    """Render with ``make_renderer()`` and send to ``address`` now on its own
    SMTP connection; the report carries the server's answer or the error.
    Logged as a transactional send to no contact (not counted, not tracked)."""
    if not sender_email:
        return not_sent(_("no sender address (set it in Settings → Email)."))
    row, _created = sendlog.claim_key(f"test:{uuid.uuid4().hex}", {
        "kind": kind, "purpose": "transactional", "newsletter": None, "contact": None,
        "to_email": address, "subject": ""})
    transport = ReportingSmtp(config) if config.transport == "smtp" else None
    try:
        renderer = make_renderer()
        urls = renderer.urls(row.id)
        rendered = renderer.render(row.id, contact, urls)
        if subject_prefix and not rendered.subject.startswith(subject_prefix):
            rendered.subject = subject_prefix + rendered.subject
        mailer = Mailer(config, transport=transport)
        message_id = mailer.transmit(row, rendered, sender_name=sender_name, sender_email=sender_email,
                                     reply_to=reply_to, marketing=marketing, urls=urls)
    except (ContentError, TransportError, DkimError) as error:
        sendlog.mark_failed(row, str(error))
        return not_sent(str(error))
    except (smtplib.SMTPException, OSError) as error:
        reason = describe_error(error, config)
        sendlog.mark_failed(row, reason)
        return not_sent(reason)
    sendlog.mark_sent(row, message_id, rendered.subject, html=rendered.html, text=rendered.text)
    if transport is None:
        return Report(True, _("Written to %(folder)s (the 'file' transport: nothing leaves this server).",
                              folder=maildir_folder()))
    return Report(True, _("Sent to %(address)s through %(server)s: the server answered %(reply)s",
                          address=address, server=_where(config), reply=transport.reply))


def channel_test(message: Message) -> SendResult:
    """``SendChannel("email").test``: ``message`` as a marketing email (footer,
    unsubscribe headers) to ``message.to`` now, with the server's answer."""
    config = load_config()
    sender_name = message.sender_name or config.from_name
    marketing = is_marketing(message.purpose)
    renderer = lambda: Renderer(  # noqa: E731
        config, subject=message.subject, content=message.html, text=message.text, is_template=False, scope="",
        track=False, marketing=marketing, sender_name=sender_name)
    report = deliver_test(config, message.to.strip(), renderer, contact=message.contact,
                          kind=message.kind or "transactional", sender_name=sender_name,
                          sender_email=message.sender_email or config.from_email,
                          reply_to=message.reply_to or config.reply_to, subject_prefix="", marketing=marketing)
    if report.ok:
        return SendResult("sent", detail=report.message)
    return SendResult("failed", report.reason or report.message)


def check_connection(config: EmailConfig | None = None) -> Report:
    """Connect, greet (HELO name), STARTTLS/SSL and log in as configured, then NOOP."""
    config = config or load_config()
    if config.transport != "smtp":
        return Report(False, _("The transport is 'file' (development): messages are written to the instance "
                               "folder, no SMTP server is used. Choose 'SMTP server' to send."))
    try:
        client = SmtpTransport(config, timeout=TEST_TIMEOUT)._connect()
    except (smtplib.SMTPException, OSError) as error:
        return Report(False, describe_error(error, config))
    try:
        code, text = client.noop()
        greeting = (client.ehlo_resp or client.helo_resp or b"").decode(errors="replace").split("\n")[0]
    except (smtplib.SMTPException, OSError) as error:
        return Report(False, describe_error(error, config))
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    return Report(code == 250, _connected(config, greeting, _reply(code, text)))


def _connected(config: EmailConfig, greeting: str, reply: str) -> str:
    """The connection check's sentence when the server answered."""
    values = {"server": _where(config), "user": config.smtp_user, "greeting": greeting, "reply": reply}
    security = {"ssl": _("over SSL/TLS"), "starttls": _("with STARTTLS")}.get(config.smtp_security)
    if security and config.smtp_user:
        return _("Connected to %(server)s %(security)s, logged in as %(user)s: the server introduced itself as "
                 "'%(greeting)s' and answered %(reply)s to NOOP.", security=security, **values)
    if security:
        return _("Connected to %(server)s %(security)s: the server introduced itself as '%(greeting)s' and "
                 "answered %(reply)s to NOOP.", security=security, **values)
    if config.smtp_user:
        return _("Connected to %(server)s, logged in as %(user)s: the server introduced itself as "
                 "'%(greeting)s' and answered %(reply)s to NOOP.", **values)
    return _("Connected to %(server)s: the server introduced itself as '%(greeting)s' and answered %(reply)s "
             "to NOOP.", **values)
