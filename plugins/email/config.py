"""The ``email`` settings group and a snapshot of it (:class:`EmailConfig`)
read once per job, so a batch does not query settings per message."""
from __future__ import annotations

from dataclasses import dataclass, fields

from core import Setting, SettingsGroup, get_setting

from .dkim import normalize_key
from .ratelimit import clean_domain_limits

GROUP = "email"
#: the sender identity is asked once, in General settings: EmailConfig field -> general setting key
IDENTITY = {"company": "company_name", "postal_address": "company_address"}
GENERAL = "general"


def settings_group() -> SettingsGroup:
    """The declared settings (the admin form is generated from them)."""
    return SettingsGroup(GROUP, "Email", [
        Setting("transport", "Transport", kind="choice", default="file",
                choices=[("smtp", "SMTP server"), ("file", "Files in the instance folder (development)")],
                help="'file' writes each message into <instance>/mail/ (a Maildir) instead of sending it."),
        Setting("smtp_host", "SMTP host", default="localhost", env="COUVEE_SMTP_HOST"),
        Setting("smtp_port", "SMTP port", kind="int", default=25, env="COUVEE_SMTP_PORT"),
        Setting("smtp_security", "SMTP security", kind="choice", default="none",
                choices=[("none", "None"), ("starttls", "STARTTLS"), ("ssl", "SSL/TLS")]),
        Setting("smtp_user", "SMTP user", default="", env="COUVEE_SMTP_USER"),
        Setting("smtp_password", "SMTP password", kind="password", secret=True, default="",
                env="COUVEE_SMTP_PASSWORD"),
        Setting("helo_name", "HELO/EHLO name", default="", env="COUVEE_SMTP_HELO",
                help="The name this server gives the SMTP server (e.g. mail.example.com, matching its "
                     "reverse DNS); empty = this machine's name."),
        Setting("from_email", "Sender address", default="", help="e.g. news@example.com (avoid noreply@)."),
        Setting("from_name", "Sender name", default=""),
        Setting("reply_to", "Reply-To address", default=""),
        Setting("rate_per_second", "Messages per second", kind="int", default=50, help="0 = no limit."),
        Setting("rate_per_hour", "Messages per hour", kind="int", default=0, help="0 = no limit."),
        Setting("domain_limits", "Per-domain limits", default="", clean=clean_domain_limits,
                help="On top of the limits above, e.g. 'gmail.com=20/s, orange.fr=5/s' (per s, m or h)."),
        Setting("dkim_selector", "DKIM selector", default="", help="e.g. couvee1: the record is published at "
                "<selector>._domainkey.<domain>."),
        Setting("dkim_domain", "DKIM domain", default="", help="Usually the domain of the sender address."),
        Setting("dkim_private_key", "DKIM private key (PEM)", kind="textarea", secret=True, default="",
                env="COUVEE_DKIM_PRIVATE_KEY", clean=normalize_key,
                help="Paste an RSA private key (PKCS#1 or PKCS#8, with or without the BEGIN/END lines), "
                     "or use 'Generate a key' below."),
        Setting("bounce_domain", "Return-path domain", default="",
                help="Bounces go to bounce+<id>@this domain (VERP); defaults to the sender's domain."),
        Setting("inbound_secret", "Inbound secret", kind="password", secret=True, default="",
                env="COUVEE_EMAIL_INBOUND_SECRET",
                help="Your MTA posts bounces and mailto unsubscribes to /e/inbound?secret=..."),
        Setting("bounce_imap_host", "Bounce mailbox: IMAP host", default="", env="COUVEE_BOUNCE_IMAP_HOST",
                help="Or read bounces from a mailbox every 5 minutes (empty: off), e.g. imap.example.com."),
        Setting("bounce_imap_port", "Bounce mailbox: IMAP port", kind="int", default=993,
                help="993 with SSL/TLS, 143 with STARTTLS."),
        Setting("bounce_imap_security", "Bounce mailbox: security", kind="choice", default="tls",
                choices=[("tls", "SSL/TLS"), ("starttls", "STARTTLS"), ("none", "None (loopback only)")]),
        Setting("bounce_imap_user", "Bounce mailbox: user", default="", env="COUVEE_BOUNCE_IMAP_USER"),
        Setting("bounce_imap_password", "Bounce mailbox: password", kind="password", secret=True, default="",
                env="COUVEE_BOUNCE_IMAP_PASSWORD"),
        Setting("bounce_imap_folder", "Bounce mailbox: folder", default="INBOX"),
        Setting("bounce_imap_after", "Bounce mailbox: after reading a message", kind="choice", default="delete",
                choices=[("delete", "Delete it"), ("move", "Move it to the folder below")]),
        Setting("bounce_imap_move_to", "Bounce mailbox: move read messages to", default="Processed"),
        Setting("soft_bounce_limit", "Soft bounces before stopping", kind="int", default=3),
        Setting("machine_open_seconds", "Opens within N seconds of sending count as machine opens",
                kind="int", default=5),
        Setting("timezone", "Default timezone for send windows", default="UTC"),
        Setting("timezone_field", "Contact field holding a timezone", default="timezone"),
        Setting("batch_size", "Messages per batch", kind="int", default=100),
        Setting("workers", "Parallel send jobs per newsletter", kind="int", default=2),
    ])


@dataclass
class EmailConfig:
    transport: str = "file"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_user: str = ""
    smtp_password: str = ""
    helo_name: str = ""
    from_email: str = ""
    from_name: str = ""
    reply_to: str = ""
    company: str = ""
    postal_address: str = ""
    rate_per_second: int = 50
    rate_per_hour: int = 0
    domain_limits: str = ""
    dkim_selector: str = ""
    dkim_domain: str = ""
    dkim_private_key: str = ""
    bounce_domain: str = ""
    inbound_secret: str = ""
    bounce_imap_host: str = ""
    bounce_imap_port: int = 993
    bounce_imap_security: str = "tls"
    bounce_imap_user: str = ""
    bounce_imap_password: str = ""
    bounce_imap_folder: str = "INBOX"
    bounce_imap_after: str = "delete"
    bounce_imap_move_to: str = "Processed"
    soft_bounce_limit: int = 3
    machine_open_seconds: int = 5
    timezone: str = "UTC"
    timezone_field: str = "timezone"
    batch_size: int = 100
    workers: int = 2

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


def load_config() -> EmailConfig:
    """Read every email setting once (environment, stored value, default);
    the company and postal address come from General settings."""
    values = {}
    for item in fields(EmailConfig):
        value = (get_setting(GENERAL, IDENTITY[item.name]) if item.name in IDENTITY
                 else get_setting(GROUP, item.name))
        if value is None or value == "":
            continue
        if item.type == "int" or isinstance(item.default, int):
            try:
                value = int(value)
            except (TypeError, ValueError):
                continue
        values[item.name] = value
    return EmailConfig(**values)
