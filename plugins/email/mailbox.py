"""Bounce mailbox polling over IMAP: the periodic job reads the bounce
mailbox (the return path's mailbox at your provider), feeds each message to
the same code as ``/e/inbound`` (:func:`bounces.process_inbound`: a DSN becomes
a hard or soft bounce of the send it names, a mail to the mailto address an
unsubscribe), then deletes the message or moves it to another folder.

Settings (Settings → Email): ``bounce_imap_host`` (empty: off), ``_port``,
``_security`` (``tls``: IMAPS, usually 993; ``starttls``: usually 143;
``none``: loopback only), ``_user``, ``_password``, ``_folder`` (INBOX),
``_after`` (``delete`` or ``move``) and ``_move_to``.
"""
from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from . import bounces
from .config import EmailConfig, load_config

log = logging.getLogger("couvee.email.mailbox")
#: messages fetched per round trip
FETCH_CHUNK = 50
TIMEOUT = 30


class MailboxError(RuntimeError):
    """The mailbox could not be read; message for the admin."""


@dataclass
class PollReport:
    read: int = 0
    kinds: dict = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def __str__(self) -> str:
        found = ", ".join(f"{count} {kind}" for kind, count in sorted(self.kinds.items()))
        return f"{self.read} message(s) read" + (f": {found}" if found else "")


def connect(config: EmailConfig) -> IMAPClient:
    security = config.bounce_imap_security
    context = ssl.create_default_context()
    try:
        client = IMAPClient(config.bounce_imap_host, port=config.bounce_imap_port, ssl=security == "tls",
                            ssl_context=context, timeout=TIMEOUT)
        if security == "starttls":
            client.starttls(context)
        client.login(config.bounce_imap_user, config.bounce_imap_password)
    except (IMAPClientError, OSError, ssl.SSLError) as error:
        raise MailboxError(f"cannot read the bounce mailbox {config.bounce_imap_host}:{config.bounce_imap_port}: "
                           f"{error}") from error
    return client


def poll(config: EmailConfig | None = None) -> PollReport:
    """Read every message of the folder once, process it, then delete or move it."""
    config = config or load_config()
    report = PollReport()
    if not config.bounce_imap_host:
        return report
    client = connect(config)
    try:
        client.select_folder(config.bounce_imap_folder)
        uids = client.search("ALL")
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start:start + FETCH_CHUNK]
            for uid, data in client.fetch(chunk, ["RFC822"]).items():
                result = bounces.process_inbound(data[b"RFC822"])
                report.read += 1
                report.count(result.kind)
            _dispose(client, chunk, config)
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError):
            pass
    return report


def _dispose(client: IMAPClient, uids: list, config: EmailConfig) -> None:
    """Processed messages leave the folder: moved (created if needed) or deleted."""
    if config.bounce_imap_after == "move":
        target = config.bounce_imap_move_to or "Processed"
        if not client.folder_exists(target):
            client.create_folder(target)
        if client.has_capability("MOVE"):
            client.move(uids, target)
            return
        client.copy(uids, target)
    client.delete_messages(uids)
    client.expunge()


def poll_job() -> str:
    """Periodic job (``email.bounce_mailbox``)."""
    try:
        return str(poll())
    except MailboxError as error:
        log.error("%s", error)
        return f"failed: {error}"
