"""The ``email`` settings group and a snapshot of it (:class:`EmailConfig`)
read once per job, so a batch does not query settings per message."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

from core import Setting, SettingsGroup, get_setting, instance_timezone, translation_domain

from .dkim import normalize_key
from .ratelimit import clean_domain_limits

_l = translation_domain(__name__).lazy_gettext
GROUP = "email"
GENERAL = "general"
#: the settings form's kind for a field's type, unless the field gives one
KINDS = {"int": "int", "bool": "bool"}


def _setting(label: str, default, **options) -> Any:
    """A field of :class:`EmailConfig` that is also a declared setting of the
    ``email`` group (its key is the field's name; ``kind`` defaults to ``int``
    or ``bool`` for a field of that type, else ``text``; ``options`` are the other
    :class:`core.Setting` arguments)."""
    return field(default=default, metadata={"setting": {"label": label, **options}})


def _general(key: str) -> Any:
    """A field of :class:`EmailConfig` read from a General setting (the sender
    identity is asked once, there)."""
    return field(default="", metadata={"general": key})


@dataclass
class EmailConfig:
    """Every email setting, declared once: the settings page (see
    :func:`settings_group`) is generated from these fields, and
    :func:`load_config` fills them. Adding a setting is adding a field."""

    transport: str = _setting(
        _l("Transport"), "file", kind="choice",
        choices=[("smtp", _l("SMTP server")), ("file", _l("Files in the instance folder (development)"))],
        help=_l("'file' writes each message into <instance>/mail/ (a Maildir) instead of sending it."))
    smtp_host: str = _setting(_l("SMTP host"), "localhost", env="COUVEE_SMTP_HOST")
    smtp_port: int = _setting(_l("SMTP port"), 25, env="COUVEE_SMTP_PORT")
    smtp_security: str = _setting(_l("SMTP security"), "none", kind="choice",
                                  choices=[("none", _l("None")), ("starttls", "STARTTLS"), ("ssl", "SSL/TLS")])
    smtp_user: str = _setting(_l("SMTP user"), "", env="COUVEE_SMTP_USER")
    smtp_password: str = _setting(_l("SMTP password"), "", kind="password", secret=True, env="COUVEE_SMTP_PASSWORD")
    helo_name: str = _setting(
        _l("HELO/EHLO name"), "", env="COUVEE_SMTP_HELO",
        help=_l("The name this server gives the SMTP server (e.g. mail.example.com, matching its "
                "reverse DNS); empty = this machine's name."))
    from_email: str = _setting(_l("Sender address"), "", help=_l("e.g. news@example.com (avoid noreply@)."))
    from_name: str = _setting(_l("Sender name"), "")
    reply_to: str = _setting(_l("Reply-To address"), "")
    company: str = _general("company_name")
    postal_address: str = _general("company_address")
    rate_per_second: int = _setting(_l("Messages per second"), 50, help=_l("0 = no limit."))
    rate_per_hour: int = _setting(_l("Messages per hour"), 0, help=_l("0 = no limit."))
    domain_limits: str = _setting(
        _l("Per-domain limits"), "", clean=clean_domain_limits,
        help=_l("On top of the limits above, e.g. 'gmail.com=20/s, orange.fr=5/s' (per s, m or h)."))
    dkim_selector: str = _setting(_l("DKIM selector"), "", help=_l("e.g. couvee1: the record is published at "
                                      "<selector>._domainkey.<domain>."))
    dkim_domain: str = _setting(_l("DKIM domain"), "", help=_l("Usually the domain of the sender address."))
    dkim_private_key: str = _setting(
        _l("DKIM private key (PEM)"), "", kind="textarea", secret=True, env="COUVEE_DKIM_PRIVATE_KEY",
        clean=normalize_key,
        help=_l("Paste an RSA private key (PKCS#1 or PKCS#8, with or without the BEGIN/END lines), "
                "or use 'Generate a key' below."))
    bounce_domain: str = _setting(
        _l("Return-path domain"), "",
        help=_l("Bounces go to bounce+<id>@this domain (VERP); defaults to the sender's domain."))
    inbound_secret: str = _setting(
        _l("Inbound secret"), "", kind="password", secret=True, env="COUVEE_EMAIL_INBOUND_SECRET",
        help=_l("Your MTA posts bounces and mailto unsubscribes to /e/inbound?secret=..."))
    bounce_imap_host: str = _setting(
        _l("Bounce mailbox: IMAP host"), "", env="COUVEE_BOUNCE_IMAP_HOST",
        help=_l("Or read bounces from a mailbox every 5 minutes (empty: off), e.g. imap.example.com."))
    bounce_imap_port: int = _setting(_l("Bounce mailbox: IMAP port"), 993,
                                     help=_l("993 with SSL/TLS, 143 with STARTTLS."))
    bounce_imap_security: str = _setting(
        _l("Bounce mailbox: security"), "tls", kind="choice",
        choices=[("tls", "SSL/TLS"), ("starttls", "STARTTLS"), ("none", _l("None (loopback only)"))])
    bounce_imap_verify: bool = _setting(
        _l("Bounce mailbox: verify the certificate"), True, kind="bool",
        help=_l("On: a certificate that is not trusted or not for this host is refused. Turn it off only for a "
                "test server: the connection is then encrypted but not authenticated."))
    bounce_imap_ca_file: str = _setting(
        _l("Bounce mailbox: CA file"), "", env="COUVEE_BOUNCE_IMAP_CA_FILE",
        help=_l("Optional: path to a PEM file of the authorities to trust (your own CA, or the server's "
                "self-signed certificate) instead of the system's."))
    bounce_imap_user: str = _setting(_l("Bounce mailbox: user"), "", env="COUVEE_BOUNCE_IMAP_USER")
    bounce_imap_password: str = _setting(_l("Bounce mailbox: password"), "", kind="password", secret=True,
                                         env="COUVEE_BOUNCE_IMAP_PASSWORD")
    bounce_imap_folder: str = _setting(_l("Bounce mailbox: folder"), "INBOX")
    bounce_imap_after: str = _setting(_l("Bounce mailbox: after reading a message"), "delete", kind="choice",
                                      choices=[("delete", _l("Delete it")),
                                               ("move", _l("Move it to the folder below"))])
    bounce_imap_move_to: str = _setting(_l("Bounce mailbox: move read messages to"), "Processed")
    soft_bounce_limit: int = _setting(_l("Soft bounces before stopping"), 3)
    machine_open_seconds: int = _setting(_l("Opens within N seconds of sending count as machine opens"), 5)
    timezone: str = _setting(_l("Default timezone for send windows"), "",
                             help=_l("Empty: the instance time zone (Settings → General)."))
    timezone_field: str = _setting(_l("Contact field holding a timezone"), "timezone")
    batch_size: int = _setting(_l("Messages per batch"), 100)
    workers: int = _setting(_l("Parallel send jobs per newsletter"), 2)
    image_max_mb: int = _setting(_l("Largest image in the image library (MB)"), 5,
                                 help=_l("Images sent to thousands of readers should stay small: 1 MB is plenty."))

    @cached_property
    def send_timezone(self) -> str:
        """The time zone of send windows and scheduled sends: this setting, else the
        instance's (read once per loaded config, not once per recipient)."""
        return self.timezone or instance_timezone()

    @property
    def sender_domain(self) -> str:
        return (self.from_email or "localhost").rpartition("@")[2] or "localhost"

    @property
    def return_domain(self) -> str:
        return self.bounce_domain or self.sender_domain

    @property
    def dkim_enabled(self) -> bool:
        return bool(self.dkim_selector and self.dkim_domain and self.dkim_private_key)

    @property
    def smtp_identity(self) -> tuple:
        """What identifies a reusable SMTP connection."""
        return (self.smtp_host, self.smtp_port, self.smtp_security, self.smtp_user, self.smtp_password,
                self.helo_name)



#: the sender identity is asked once, in General settings: EmailConfig field -> general setting key
IDENTITY = {item.name: item.metadata["general"] for item in fields(EmailConfig) if "general" in item.metadata}


def settings_group() -> SettingsGroup:
    """The declared settings (the admin form is generated from them), read
    from :class:`EmailConfig`'s fields."""
    return SettingsGroup(GROUP, _l("Email"), [
        Setting(item.name, default=item.default,
                **{"kind": KINDS.get(item.type, "text"), **item.metadata["setting"]})
        for item in fields(EmailConfig) if "setting" in item.metadata
    ])


def load_config() -> EmailConfig:
    """Read every email setting once (environment, stored value, default);
    the company and postal address come from General settings."""
    values = {}
    for item in fields(EmailConfig):
        general = item.metadata.get("general")
        value = get_setting(GENERAL, general) if general else get_setting(GROUP, item.name)
        if value is None or value == "":
            continue
        if item.type == "bool":
            value = value in (True, 1, "1", "true", "on", "yes")
        elif item.type == "int":
            try:
                value = int(value)
            except (TypeError, ValueError):
                continue
        values[item.name] = value
    return EmailConfig(**values)
