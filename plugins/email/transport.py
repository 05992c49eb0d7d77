"""Where finished messages go: an SMTP server (one connection kept open per
worker process and reused across messages) or a Maildir in the instance
folder for development.

The open connection lives in the application's ``extensions`` (not a module
global), so a rebuilt app or a forked work horse starts clean.
"""
from __future__ import annotations

import mailbox
import os
import smtplib
import ssl
import threading
from pathlib import Path

from flask import current_app

from .config import EmailConfig

EXTENSION_KEY = "email.transports"


class TransportError(Exception):
    """Delivery failed. ``permanent`` is True for a 5xx refusal of the recipient."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class SmtpTransport:
    """A reusable SMTP client; reconnects once when the server dropped us."""

    def __init__(self, config: EmailConfig):
        self.config = config
        self.client: smtplib.SMTP | None = None
        self.pid = os.getpid()

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.smtp_security == "ssl":
            client = smtplib.SMTP_SSL(c.smtp_host, int(c.smtp_port), timeout=30,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(c.smtp_host, int(c.smtp_port), timeout=30)
            if c.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
        if c.smtp_user:
            client.login(c.smtp_user, c.smtp_password)
        return client

    def send(self, envelope_from: str, to: str, data: bytes) -> None:
        if self.pid != os.getpid():  # inherited across a fork: never share a socket
            self.client, self.pid = None, os.getpid()
        for attempt in (1, 2):
            try:
                if self.client is None:
                    self.client = self._connect()
                self.client.sendmail(envelope_from, [to], data)
                return
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                self._reset()
                raise TransportError(f"{code} {text.decode(errors='replace')}", permanent=code >= 500) from None
            except smtplib.SMTPResponseException as error:
                self._reset()
                raise TransportError(f"{error.smtp_code} {error.smtp_error!r}",
                                     permanent=error.smtp_code >= 500) from None
            except (smtplib.SMTPServerDisconnected, ConnectionError, OSError) as error:
                self.close()
                if attempt == 2:
                    raise TransportError(f"SMTP server {self.config.smtp_host}:{self.config.smtp_port}: {error}") from None

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
