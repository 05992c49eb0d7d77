"""Turn a rendered email into RFC 5322 bytes: headers (Message-ID,
List-Unsubscribe with mailto and https, RFC 8058 One-Click), the text and
HTML alternatives, and a DKIM signature when a key is configured."""
from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr, formatdate

from .config import EmailConfig
from .transport import smtp_address

SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"mime-version",
                  b"content-type", b"list-unsubscribe", b"list-unsubscribe-post")


_CRLF = "\r\n"
_TOKEN_NAME = re.compile(r"[!-9;-~]+")  # a header name: printable ASCII but ":"


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


def _header(name: str, value: str) -> str:
    """One header line: ASCII values as they are (folded at spaces), others as
    RFC 2047 encoded words."""
    value = str(value)
    if value.isascii():
        return f"{name}: {_fold(value, len(name) + 2)}"
    return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep=_CRLF)


def header_address(address: str) -> str:
    """An address in ``From`` or ``To``: the domain in its ASCII (IDNA) form,
    which every reader understands; a non-ASCII local part stays UTF-8
    (RFC 6532), as only an SMTPUTF8 server can carry it anyway."""
    return smtp_address(address, smtputf8=True)


def _fold(value: str, used: int) -> str:
    """Fold a long ASCII value at spaces (RFC 5322 recommends 78 columns)."""
    if used + len(value) <= 78:
        return value
    lines, line = [], ""
    for word in value.split(" "):
        if line and used + len(line) + 1 + len(word) > 78:
            lines.append(line)
            line, used = word, 1
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return (_CRLF + " ").join(lines)


def _part(body: str, subtype: str) -> bytes:
    """A text part: 7bit when ASCII with short lines, else quoted-printable (UTF-8)."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii() and all(len(line) <= 990 for line in text.split("\n")):
        encoding, payload = "7bit", text.encode("ascii")
    else:
        encoding = "quoted-printable"
        payload = binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\r\n", b"\n")
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'
    return head.encode("ascii") + payload.replace(b"\n", b"\r\n")


def build(config: EmailConfig, envelope: Envelope) -> tuple[str, bytes]:
    """``(message_id, raw bytes)``, DKIM-signed when configured.

    Written directly (headers, one ``multipart/alternative`` with the text
    and HTML parts) rather than through ``email.message``, whose header
    parsing and refolding cost more than everything else per message."""
    sender_address = header_address(envelope.sender_email)
    mid = message_id(envelope.send_id, sender_address.rpartition("@")[2] or config.sender_domain)
    sender = (formataddr((envelope.sender_name, sender_address), charset="utf-8")
              if envelope.sender_name else sender_address)
    lines = [f"From: {sender}", f"To: {header_address(envelope.to)}", _header("Subject", envelope.subject),
             f"Date: {formatdate(usegmt=True)}", f"Message-ID: {mid}"]
    if envelope.reply_to:
        lines.append(_header("Reply-To", envelope.reply_to))
    targets = [f"<{u}>" for u in (envelope.unsubscribe_mailto, envelope.unsubscribe_https) if u]
    if targets:
        lines.append("List-Unsubscribe: " + ("," + _CRLF + " ").join(targets))
        if envelope.unsubscribe_https:
            lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    present = {line.split(":", 1)[0].lower() for line in lines} | {"mime-version", "content-type",
                                                                    "content-transfer-encoding"}
    for name, value in (envelope.headers or {}).items():
        if (name.lower() not in present and _TOKEN_NAME.fullmatch(name)
                and "\n" not in str(value) and "\r" not in str(value)):
            lines.append(_header(name, value))
            present.add(name.lower())
    lines.append("MIME-Version: 1.0")
    text = _part(envelope.text or "", "plain")
    if envelope.html:
        boundary = f"=_couvee_{secrets.token_hex(12)}"
        lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        mark = f"--{boundary}\r\n".encode()
        body = (b"\r\n" + mark + text + b"\r\n" + mark + _part(envelope.html, "html")
                + f"\r\n--{boundary}--\r\n".encode())
        raw = (_CRLF.join(lines) + _CRLF).encode("utf-8") + body
    else:
        raw = (_CRLF.join(lines) + _CRLF).encode("utf-8") + text + b"\r\n"
    if config.dkim_enabled:
        raw = sign(config, raw)
    return mid, raw


def sign(config: EmailConfig, raw: bytes) -> bytes:
    """Prepend a DKIM-Signature (relaxed/relaxed, rsa-sha256)."""
    import dkim

    from .dkim import DkimKeyError, normalize_key

    try:  # stored keys are normalised on save; one set by the environment may not be
        key = normalize_key(config.dkim_private_key).encode()
    except DkimKeyError as error:
        raise DkimError(f"DKIM key: {error}") from None
    try:
        header = dkim.sign(raw, config.dkim_selector.encode(), config.dkim_domain.encode(), key,
                           canonicalize=(b"relaxed", b"relaxed"), include_headers=list(SIGNED_HEADERS))
    except Exception as error:  # dkimpy raises several types for a bad key
        raise DkimError(f"DKIM signing failed: {error}") from None
    return header + raw
