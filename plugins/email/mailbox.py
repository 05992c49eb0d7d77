"""Bounce mailbox polling over IMAP: the periodic job reads the bounce
mailbox (the return path's mailbox at your provider), feeds each message to
the same code as ``/e/inbound`` (:func:`bounces.process_inbound`: a DSN becomes
a hard or soft bounce of the send it names, a mail to the mailto address an
unsubscribe), then deletes the message or moves it to another folder.

Settings (Settings → Email): ``bounce_imap_host`` (empty: off), ``_port``,
``_security`` (``tls``: IMAPS, usually 993; ``starttls``: usually 143;
``none``: loopback only), ``_verify`` (check the server's certificate, on by
default), ``_ca_file`` (a PEM bundle of the authorities to trust instead of
the system's, e.g. your own CA or a self-signed certificate), ``_user``,
``_password``, ``_folder`` (INBOX), ``_after`` (``delete`` or ``move``) and
``_move_to``. :func:`check` (the "Check bounce mailbox" button) connects,
logs in and counts the folder's messages, and says what went wrong in words:
an untrusted or misnamed certificate is refused, never silently accepted.
"""
from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from core import translation_domain

from . import bounces
from .config import EmailConfig, load_config

log = logging.getLogger("couvee.email.mailbox")
_ = translation_domain(__name__).gettext
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


def tls_context(config: EmailConfig) -> ssl.SSLContext:
    """Verifying by default (system authorities, or the CA file given);
    ``bounce_imap_verify`` off accepts any certificate (encrypted, not authenticated)."""
    ca_file = (config.bounce_imap_ca_file or "").strip()
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as error:
        raise MailboxError(f"cannot use the CA file {ca_file!r} (Bounce mailbox: CA file): "
                           f"{getattr(error, 'strerror', None) or error}") from error
    if not config.bounce_imap_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def describe_tls_error(error: ssl.SSLError, config: EmailConfig) -> str:
    """The admin's sentence for a refused TLS handshake."""
    where = f"{config.bounce_imap_host}:{config.bounce_imap_port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = error.verify_message or error.reason or str(error)
        if "hostname" in detail.lower() or "ip address mismatch" in detail.lower():
            hint = (f"the certificate is not for {config.bounce_imap_host!r}: use the host name the "
                    f"certificate names")
        else:
            hint = ("it is not signed by an authority this server trusts: give the authority's (or the "
                    "self-signed certificate's) PEM file in 'Bounce mailbox: CA file'")
        return f"the certificate of {where} was refused ({detail}): {hint}."
    return f"TLS with {where} failed: {error.reason or error}"


def connect(config: EmailConfig) -> IMAPClient:
    security = config.bounce_imap_security
    context = tls_context(config) if security in ("tls", "starttls") else None
    where = f"{config.bounce_imap_host}:{config.bounce_imap_port}"
    try:
        client = IMAPClient(config.bounce_imap_host, port=config.bounce_imap_port, ssl=security == "tls",
                            ssl_context=context, timeout=TIMEOUT)
        if security == "starttls":
            client.starttls(context)
        client.login(config.bounce_imap_user, config.bounce_imap_password)
    except ssl.SSLError as error:
        raise MailboxError(_("cannot read the bounce mailbox: %(error)s",
                             error=describe_tls_error(error, config))) from error
    except (IMAPClientError, OSError) as error:
        raise MailboxError(_("cannot read the bounce mailbox %(server)s: %(error)s", server=where,
                             error=error)) from error
    return client


def check(config: EmailConfig | None = None) -> str:
    """Connect and log in as the job does, count the folder's messages, log out;
    a sentence for the admin (MailboxError with the reason otherwise)."""
    config = config or load_config()
    if not config.bounce_imap_host:
        raise MailboxError(_("no bounce mailbox is set (Bounce mailbox: IMAP host)."))
    client = connect(config)
    try:
        try:
            count = client.select_folder(config.bounce_imap_folder, readonly=True)[b"EXISTS"]
        except IMAPClientError as error:
            raise MailboxError(_("logged in, but the folder '%(folder)s' cannot be opened: %(error)s",
                                 folder=config.bounce_imap_folder, error=error)) from error
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError):
            pass
    return _checked(config, count)


def _checked(config: EmailConfig, count: int) -> str:
    """The check's sentence: how it connected, whether the certificate was verified, what the folder holds."""
    security = {"tls": _("over SSL/TLS"), "starttls": _("with STARTTLS")}.get(config.bounce_imap_security,
                                                                              _("without encryption"))
    if config.bounce_imap_security not in ("tls", "starttls"):
        trust = ""
    elif not config.bounce_imap_verify:
        trust = _(", certificate NOT verified (verification is off)")
    elif config.bounce_imap_ca_file:
        trust = _(", certificate verified with %(file)s", file=config.bounce_imap_ca_file)
    else:
        trust = _(", certificate verified")
    server = "%s:%s" % (config.bounce_imap_host, config.bounce_imap_port)
    return _("Connected to %(server)s %(security)s%(trust)s, logged in as %(user)s: the folder %(folder)s holds "
             "%(count)s message(s).", server=server, security=security, trust=trust, user=config.bounce_imap_user,
             folder=config.bounce_imap_folder, count=count)


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
