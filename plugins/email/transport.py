"""Where finished messages go: an SMTP server (one connection kept open per
worker process and reused across messages) or a Maildir in the instance
folder for development.

The open connection lives in the application's ``extensions`` (not a module
global), so a rebuilt app or a forked work horse starts clean.

Every caller shares one connection, so the transport owns its state: after
any failure inside a transaction (a refused recipient, a refused message, an
address the server cannot take, an unexpected error half-way) it resets the
transaction (RSET) or drops the connection before raising, and the next
message starts a clean ``MAIL FROM`` (never "503 nested MAIL command").

Errors say what the caller should do:

- :class:`RecipientError` concerns this one message: record it (failed, or
  retry later when not ``permanent``) and go on with the next recipient;
  ``bounce`` is True when the server refused the address for good (5xx), a
  hard bounce.
- :class:`TransportError` (any other) is about the server or the connection:
  stop and retry later. A ``421`` reply, whatever command it answers, is
  one: the server says it is closing the channel (RFC 5321, 4.2.3), not
  that this recipient has a problem.

Addresses with an internationalised domain are sent with the domain in its
ASCII (IDNA) form; a non-ASCII local part needs the server's SMTPUTF8
extension (RFC 6531), used when offered; without it the address is a
:class:`RecipientError` saying so.
"""
from __future__ import annotations

import mailbox
import os
import smtplib
import ssl
import threading
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask import current_app

from .config import EmailConfig

EXTENSION_KEY = "email.transports"


class TransportError(Exception):
    """Delivery failed for a reason that is not this message's: the server is
    unreachable, dropped us or refused the sender. Retry later."""

    permanent = False
    bounce = False

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class RecipientError(TransportError):
    """This message could not be delivered; the next one may be sent on.

    ``permanent``: do not retry (a 5xx refusal, or an address this server
    cannot carry). ``bounce``: the server refused the recipient for good."""

    def __init__(self, message: str, permanent: bool = True, bounce: bool = False):
        super().__init__(message, permanent=permanent)
        self.bounce = bounce


def smtp_address(address: str, smtputf8: bool) -> str:
    """The address as the SMTP envelope carries it: IDNA domain, and the
    local part as it is (UTF-8 only when the server offers SMTPUTF8).

    ``smtp_address("zoé@exémple.fr", True)`` is ``"zoé@xn--exmple-cva.fr"``;
    with ``smtputf8=False`` it raises :class:`RecipientError`."""
    if address.isascii():
        return address
    try:
        checked = validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise RecipientError(f"{address!r} is not a valid email address: {error}") from None
    if checked.ascii_email:
        return checked.ascii_email
    if not smtputf8:
        raise RecipientError(f"{address}: the part before the @ is not ASCII and the SMTP server "
                             "does not offer SMTPUTF8 (RFC 6531), so it cannot carry this address")
    return f"{checked.local_part}@{checked.ascii_domain}"


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


class SmtpTransport:
    """A reusable SMTP client; reconnects once when the server dropped us."""

    def __init__(self, config: EmailConfig, timeout: float = 30):
        self.config = config
        self.timeout = timeout
        self.client: smtplib.SMTP | None = None
        self.pid = os.getpid()

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        helo = c.helo_name.strip() or None  # None: smtplib uses this machine's fully qualified name
        if c.smtp_security == "ssl":
            client = smtplib.SMTP_SSL(c.smtp_host, int(c.smtp_port), local_hostname=helo, timeout=self.timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(c.smtp_host, int(c.smtp_port), local_hostname=helo, timeout=self.timeout)
            if c.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
        if c.smtp_user:
            client.login(c.smtp_user, c.smtp_password)
        client.ehlo_or_helo_if_needed()  # the extensions (SMTPUTF8, 8BITMIME) are known before the first message
        return client

    def send(self, envelope_from: str, to: str, data: bytes) -> None:
        if self.pid != os.getpid():  # inherited across a fork: never share a socket
            self.client, self.pid = None, os.getpid()
        for attempt in (1, 2):
            try:
                if self.client is None:
                    self.client = self._connect()
                self._transaction(self.client, envelope_from, to, data)
                return
            except (smtplib.SMTPServerDisconnected, ConnectionError, OSError) as error:
                self.close()
                if attempt == 2:
                    raise TransportError(f"SMTP server {self.config.smtp_host}:{self.config.smtp_port}: {error}") from None

    def _transaction(self, client: smtplib.SMTP, envelope_from: str, to: str, data: bytes) -> None:
        """One MAIL/RCPT/DATA; whatever goes wrong, the connection is left
        ready for the next message (reset) or closed."""
        smtputf8 = client.has_extn("smtputf8")
        recipient = smtp_address(to, smtputf8)  # refused before MAIL FROM: nothing to reset
        sender = smtp_address(envelope_from, smtputf8)
        options = []
        if not (recipient.isascii() and sender.isascii() and data.isascii()) and smtputf8:
            options.append("SMTPUTF8")
            if client.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
        client.command_encoding = "ascii"  # smtplib leaves it at utf-8 after an SMTPUTF8 transaction
        try:
            client.sendmail(sender, [recipient], data, mail_options=options)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            self._closing(code, text)
            self._reset()
            raise RecipientError(f"{code} {_text(text)}", permanent=code >= 500, bounce=code >= 500) from None
        except smtplib.SMTPSenderRefused as error:
            self._closing(error.smtp_code, error.smtp_error)
            self._reset()
            raise TransportError(f"the SMTP server refused the sender {error.sender}: "
                                 f"{error.smtp_code} {_text(error.smtp_error)}", permanent=error.smtp_code >= 500) from None
        except smtplib.SMTPResponseException as error:  # the message refused after DATA
            self._closing(error.smtp_code, error.smtp_error)
            self._reset()
            raise RecipientError(f"{error.smtp_code} {_text(error.smtp_error)}", permanent=error.smtp_code >= 500,
                                 bounce=error.smtp_code >= 500) from None
        except (smtplib.SMTPServerDisconnected, ConnectionError, OSError):
            raise
        except Exception as error:  # half-way through a transaction: never leave it open
            self._reset()
            raise RecipientError(f"could not send to {to}: {type(error).__name__}: {error}") from None

    def _closing(self, code: int, text) -> None:
        """A ``421`` reply: drop the connection and raise :class:`TransportError`."""
        if code == 421:
            self.close()
            where = f"{self.config.smtp_host}:{self.config.smtp_port}"
            raise TransportError(f"SMTP server {where}: {code} {_text(text)}") from None

    def _reset(self):
        try:
            if self.client is not None:
                self.client.rset()
        except Exception:
            self.close()

    def close(self):
        if self.client is not None:
            try:
                self.client.quit()
            except Exception:
                try:
                    self.client.close()
                except Exception:
                    pass
        self.client = None


class MaildirTransport:
    """Writes each message into ``<instance>/mail`` (a Maildir: new/cur/tmp)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.box = mailbox.Maildir(str(folder), create=True)

    def send(self, envelope_from: str, to: str, data: bytes) -> None:
        message = mailbox.MaildirMessage(data)
        self.box.add(message)

    def close(self):
        pass


class _Pool:
    """One transport per (process, settings) for the current app."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_key: dict = {}

    def get(self, config: EmailConfig):
        key = (threading.get_ident(), os.getpid(), config.transport, config.smtp_identity)
        with self.lock:
            transport = self.by_key.get(key)
            if transport is None:
                if config.transport == "smtp":
                    transport = SmtpTransport(config)
                else:
                    folder = Path(current_app.extensions["couvee"].config.instance_path) / "mail"
                    transport = MaildirTransport(folder)
                self.by_key[key] = transport
            return transport

    def close_all(self):
        with self.lock:
            for transport in self.by_key.values():
                transport.close()
            self.by_key.clear()


def transport_for(config: EmailConfig):
    """The transport to use now, reusing this worker's open connection."""
    pool = current_app.extensions.setdefault(EXTENSION_KEY, _Pool())
    return pool.get(config)


def maildir_folder() -> Path:
    return Path(current_app.extensions["couvee"].config.instance_path) / "mail"
