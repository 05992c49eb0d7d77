"""Turn a rendered email into RFC 5322 bytes: headers (Message-ID,
List-Unsubscribe with mailto and https, RFC 8058 One-Click), the text and
HTML alternatives, and a DKIM signature when a key is configured."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate

from .config import EmailConfig

SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"mime-version",
                  b"content-type", b"list-unsubscribe", b"list-unsubscribe-post")


class DkimError(ValueError):
    """The configured DKIM key cannot sign (the message says why)."""


@dataclass
class Envelope:
    """Everything the headers need for one message."""

    send_id: int
    to: str
    subject: str
    html: str
    text: str
    sender_name: str
    sender_email: str
    reply_to: str = ""
    unsubscribe_mailto: str = ""
    unsubscribe_https: str = ""
    headers: dict = field(default_factory=dict)


def message_id(send_id: int, domain: str) -> str:
    return f"<{send_id}.{secrets.token_hex(6)}@{domain}>"


def build(config: EmailConfig, envelope: Envelope) -> tuple[str, bytes]:
    """``(message_id, raw bytes)``, DKIM-signed when configured."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((envelope.sender_name, envelope.sender_email)) if envelope.sender_name else envelope.sender_email
    msg["To"] = envelope.to
    msg["Subject"] = envelope.subject
    msg["Date"] = formatdate(usegmt=True)
    mid = message_id(envelope.send_id, envelope.sender_email.rpartition("@")[2] or config.sender_domain)
    msg["Message-ID"] = mid
    if envelope.reply_to:
        msg["Reply-To"] = envelope.reply_to
    targets = [f"<{u}>" for u in (envelope.unsubscribe_mailto, envelope.unsubscribe_https) if u]
    if targets:
        msg["List-Unsubscribe"] = ", ".join(targets)
        if envelope.unsubscribe_https:
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in (envelope.headers or {}).items():
        if name.lower() not in {k.lower() for k in msg.keys()} and "\n" not in str(value) and "\r" not in str(value):
            msg[name] = str(value)
    msg.set_content(envelope.text or "", subtype="plain", charset="utf-8")
    if envelope.html:
        msg.add_alternative(envelope.html, subtype="html", charset="utf-8")
    raw = msg.as_bytes()
    if config.dkim_enabled:
        raw = sign(config, raw)
    return mid, raw


def sign(config: EmailConfig, raw: bytes) -> bytes:
    """Prepend a DKIM-Signature (relaxed/relaxed, rsa-sha256)."""
    import dkim

    key = config.dkim_private_key.replace("\\n", "\n").strip().encode()
    try:
        header = dkim.sign(raw, config.dkim_selector.encode(), config.dkim_domain.encode(), key,
                           canonicalize=(b"relaxed", b"relaxed"), include_headers=list(SIGNED_HEADERS))
    except Exception as error:  # dkimpy raises several types for a bad key
        raise DkimError(f"DKIM signing failed: {error}") from None
    return header + raw
