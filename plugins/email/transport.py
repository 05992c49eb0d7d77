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
import re
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


class _MeanwhileFailed(Exception):
    """The caller's ``meanwhile`` raised (its exception is the cause); the
    connection is closed and that exception is raised as it is."""


def _dot_stuffed(data: bytes) -> bytes:
    """The message as DATA carries it: a line starting with "." gets a second
    one, and it ends with CRLF "." CRLF (RFC 5321, 4.5.2)."""
    stuffed = re.sub(rb"(?m)^\.", b"..", data)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


class SmtpTransport:
    """A reusable SMTP client; reconnects once when the server dropped us."""

    def __init__(self, config: EmailConfig, timeout: float = 30):
        self.config = config
        self.timeout = timeout
        self.client: smtplib.SMTP | None = None
        self.pid = os.getpid()
        self.awaiting: str | None = None  # the recipient whose message's verdict is not read yet

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
        """Send one message and wait for the server's verdict on it."""
        self.start(envelope_from, to, data)
        self.finish()

    def start(self, envelope_from: str, to: str, data: bytes, meanwhile=None) -> None:
        """Send one message up to its final dot, without reading the server's
        verdict on it: :meth:`finish` reads it.

        Between the two calls the caller prepares its next message while the
        server takes this one in. Nothing else is sent on the connection
        before that verdict is read (no PIPELINING is needed), so calling
        ``start`` again first is a programming error.

        ``meanwhile`` (no arguments) is called exactly once: while the server
        answers ``MAIL FROM``, or before ``start`` returns or raises when the
        message did not get that far. A newsletter notes the previous
        message's acceptance there, e.g.
        ``transport.start(sender, to, data, meanwhile=lambda: journal.accepted(row, ...))``."""
        pending = [meanwhile] if meanwhile is not None else []
        try:
            if self.pid != os.getpid():  # inherited across a fork: never share a socket
                self.client, self.pid, self.awaiting = None, os.getpid(), None
            if self.awaiting is not None:
                raise RuntimeError(f"the verdict on the message to {self.awaiting} was not read (call finish())")
            for attempt in (1, 2):
                try:
                    if self.client is None:
                        self.client = self._connect()
                    self._open_transaction(self.client, envelope_from, to, data, pending)
                    self.awaiting = to
                    return
                except _MeanwhileFailed as failed:
                    raise failed.__cause__ from None
                except (smtplib.SMTPServerDisconnected, ConnectionError, OSError) as error:
                    self.close()
                    if attempt == 2:
                        raise self._unreachable(error) from None
        finally:
            if pending:
                pending.pop()()

    def finish(self) -> None:
        """Read the server's verdict on the message :meth:`start` sent
        (nothing to do when none waits): :class:`RecipientError` when it was
        refused, :class:`TransportError` when the connection was lost or the
        server is closing it (``421``)."""
        to, self.awaiting = self.awaiting, None
        if to is None or self.client is None:
            return
        try:
            code, text = self.client.getreply()
        except (smtplib.SMTPServerDisconnected, ConnectionError, OSError) as error:
            self.close()
            raise self._unreachable(error) from None
        if code != 250:
            self._refused(code, text)

    def _unreachable(self, error: Exception) -> TransportError:
        return TransportError(f"SMTP server {self.config.smtp_host}:{self.config.smtp_port}: {error}")

    def _open_transaction(self, client: smtplib.SMTP, envelope_from: str, to: str, data: bytes,
                          pending: list) -> None:
        """MAIL, RCPT, DATA and the message (``pending``: the caller's
        ``meanwhile``, run while MAIL is answered); whatever goes wrong, the
        connection is left ready for the next message (reset) or closed."""
        smtputf8 = client.has_extn("smtputf8")
        recipient = smtp_address(to, smtputf8)  # refused before MAIL FROM: nothing to reset
        sender = smtp_address(envelope_from, smtputf8)
        options = []
        if not (recipient.isascii() and sender.isascii() and data.isascii()) and smtputf8:
            options.append("SMTPUTF8")
            if client.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
        if client.has_extn("size"):
            options.append(f"SIZE={len(data)}")
        # the commands written here rather than by smtplib's mail() and rcpt(), which parse each
        # address again (email.utils): the addresses are already plain
        client.command_encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
        try:
            client.putcmd("mail", f"FROM:<{sender}>" + "".join(f" {option}" for option in options))
            if pending:
                try:
                    pending.pop()()
                except Exception as error:  # the caller's own failure, not this message's
                    self.close()
                    raise _MeanwhileFailed() from error
            code, text = client.getreply()
            if code != 250:
                self._closing(code, text)
                self._reset()
                raise TransportError(f"the SMTP server refused the sender {sender}: {code} {_text(text)}",
                                     permanent=code >= 500)
            code, text = client.docmd("rcpt", f"TO:<{recipient}>")
            if code not in (250, 251):
                self._refused(code, text)
            code, text = client.docmd("data")
            if code != 354:
                self._refused(code, text)
            client.send(_dot_stuffed(data))
        except (TransportError, _MeanwhileFailed, smtplib.SMTPServerDisconnected, ConnectionError, OSError):
            raise
        except Exception as error:  # half-way through a transaction: never leave it open
            self._reset()
            raise RecipientError(f"could not send to {to}: {type(error).__name__}: {error}") from None

    def _refused(self, code: int, text) -> None:
        """The server refused this message (its recipient or its content):
        reset the transaction and raise :class:`RecipientError` (a 5xx is
        permanent and a hard bounce), or :class:`TransportError` for ``421``."""
        self._closing(code, text)
        self._reset()
        raise RecipientError(f"{code} {_text(text)}", permanent=code >= 500, bounce=code >= 500)

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
        self.client, self.awaiting = None, None


class MaildirTransport:
    """Writes each message into ``<instance>/mail`` (a Maildir: new/cur/tmp)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.box = mailbox.Maildir(str(folder), create=True)

    def send(self, envelope_from: str, to: str, data: bytes) -> None:
        message = mailbox.MaildirMessage(data)
        self.box.add(message)

    def start(self, envelope_from: str, to: str, data: bytes, meanwhile=None) -> None:
        """Write the message at once (there is no verdict to wait for)."""
        if meanwhile is not None:
            meanwhile()
        self.send(envelope_from, to, data)

    def finish(self) -> None:
        pass

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
