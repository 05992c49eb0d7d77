"""DKIM keys for the admin: generate one, normalise and validate a pasted
one, the DNS TXT record to publish, and a DNS check of what is published.

A key as the browser posts it (CRLF line endings), as an environment
variable holds it (a literal ``\\n``), with or without its PEM armour, in
PKCS#1 (``BEGIN RSA PRIVATE KEY``) or PKCS#8 (``BEGIN PRIVATE KEY``) form,
is stored as one canonical PKCS#1 PEM text::

    normalize_key(pasted)            # -> "-----BEGIN RSA PRIVATE KEY-----\\n..." or DkimKeyError
    dns_record("s1", "example.com", key)
    # DnsRecord(name="s1._domainkey.example.com", value="v=DKIM1; k=rsa; p=MIIB...",
    #           strings=["v=DKIM1; k=rsa; p=MIIB...(255 chars)", "..."])
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from dataclasses import dataclass

from core import translation_domain

#: the size of generated keys (RFC 8301: at least 1024, 2048 recommended)
KEY_BITS = 2048
#: a DNS TXT character-string holds at most 255 bytes
TXT_STRING_MAX = 255
#: seconds a DNS lookup may take before the check gives up
DNS_TIMEOUT = 5.0

_ = translation_domain(__name__).gettext
ngettext = translation_domain(__name__).ngettext
_ARMOUR = re.compile(r"-----(BEGIN|END) ([A-Z0-9 ]+)-----")


class DkimKeyError(ValueError):
    """A pasted key that cannot be used; the message says why, for the user."""


@dataclass
class DnsRecord:
    name: str
    value: str
    strings: list[str]

    @property
    def zone_text(self) -> str:
        """The value as a zone file writes it: quoted strings of at most 255 characters."""
        return " ".join(f'"{part}"' for part in self.strings)


@dataclass
class DnsCheck:
    ok: bool
    message: str
    found: list[str]


def generate_key() -> str:
    """A new 2048-bit RSA private key, PKCS#1 PEM."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS))


def _pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode("ascii")


def _load(text: str):
    """The private key object of a normalised or raw key text."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    body = text.replace("\\r", "").replace("\\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    kinds = {m.group(2) for m in _ARMOUR.finditer(body)}
    if "ENCRYPTED PRIVATE KEY" in kinds or "Proc-Type: 4,ENCRYPTED" in body:
        raise DkimKeyError(_("This key is protected by a passphrase: export it without one "
                             "(openssl rsa -in key.pem -out plain.pem)."))
    if kinds and not kinds <= {"RSA PRIVATE KEY", "PRIVATE KEY"}:
        if "PUBLIC KEY" in kinds or "RSA PUBLIC KEY" in kinds:
            raise DkimKeyError(_("This is a public key: paste the private key (BEGIN PRIVATE KEY or "
                                 "BEGIN RSA PRIVATE KEY); the public part goes in DNS."))
        raise DkimKeyError(_("This is not an RSA private key (found %(kinds)s).", kinds=", ".join(sorted(kinds))))
    base64_text = re.sub(r"\s+", "", _ARMOUR.sub("", body))
    try:
        der = base64.b64decode(base64_text, validate=True)
    except (binascii.Error, ValueError):
        raise DkimKeyError(_("The key is not valid base64 text: paste the whole PEM block, "
                             "from -----BEGIN to the END----- line.")) from None
    if not der:
        raise DkimKeyError(_("The key is empty."))
    key = None
    try:
        key = serialization.load_der_private_key(der, password=None)  # PKCS#8 or PKCS#1
    except (ValueError, TypeError):
        pass
    if key is None:
        raise DkimKeyError(_("The key could not be read as an RSA private key (PKCS#1 or PKCS#8): "
                             "it may be truncated or not a key."))
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DkimKeyError(_("Only RSA keys are supported for DKIM signing here."))
    if key.key_size < 1024:
        raise DkimKeyError(_("The key has %(bits)s bits: DKIM verifiers refuse keys under 1024 bits "
                             "(use %(wanted)s).", bits=key.key_size, wanted=KEY_BITS))
    return key


@functools.lru_cache(maxsize=8)
def normalize_key(text: str) -> str:
    """The canonical PKCS#1 PEM text of a pasted key (see the module doc),
    or :class:`DkimKeyError` with a message for the user. Cached: the
    sender signs every message with the same stored text."""
    if not (text or "").strip():
        raise DkimKeyError(_("The key is empty."))
    return _pem(_load(text))


def public_key_base64(private_pem: str) -> str:
    """The ``p=`` value: the public key, SubjectPublicKeyInfo DER in base64."""
    from cryptography.hazmat.primitives import serialization

    der = _load(private_pem).public_key().public_bytes(serialization.Encoding.DER,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def fingerprint(private_pem: str) -> str:
    """A short fingerprint of the key (SHA-256 of the public key, first 16 hex digits, grouped)."""
    digest = hashlib.sha256(base64.b64decode(public_key_base64(private_pem))).hexdigest()[:16]
    return ":".join(digest[i:i + 4] for i in range(0, 16, 4))


def split_txt(value: str) -> list[str]:
    """``value`` cut into DNS character-strings of at most 255 characters."""
    return [value[i:i + TXT_STRING_MAX] for i in range(0, len(value), TXT_STRING_MAX)] or [""]


def dns_record(selector: str, domain: str, private_pem: str) -> DnsRecord:
    """The TXT record to publish for this key."""
    value = f"v=DKIM1; k=rsa; p={public_key_base64(private_pem)}"
    return DnsRecord(f"{selector}._domainkey.{domain}", value, split_txt(value))


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = re.sub(r"\s+", "", value)
    return tags


def compare(published: list[str], expected_p: str) -> DnsCheck:
    """Does one of the ``published`` TXT values (strings already joined)
    carry the expected public key? ``DnsCheck.message`` says what was found."""
    dkim_records = [r for r in published if "p=" in r.replace(" ", "")]
    if not dkim_records:
        if not published:
            return DnsCheck(False, _("No DKIM record is published there (found no TXT record)."), published)
        return DnsCheck(False, ngettext("No DKIM record is published there (found %(num)d other TXT record).",
                                        "No DKIM record is published there (found %(num)d other TXT records).",
                                        len(published)), published)
    for record in dkim_records:
        tags = _tags(record)
        if tags.get("p") == expected_p:
            if tags.get("k", "rsa").lower() != "rsa":
                return DnsCheck(False, _("The record has the right key but k=%(k)s instead of k=rsa.", k=tags["k"]),
                                published)
            return DnsCheck(True, _("The published record matches the stored key."), published)
    found = _tags(dkim_records[0]).get("p", "")
    if not found:
        return DnsCheck(False, _("The published record has an empty p= (a revoked key)."), published)
    return DnsCheck(False, _("A DKIM record is published but with another key (p=%(key)s…): publish the record "
                             "shown here, or paste the key that matches it.", key=found[:24]), published)


def lookup(name: str, timeout: float = DNS_TIMEOUT, nameservers: list[str] | None = None,
           port: int = 53) -> list[str]:
    """The TXT values at ``name`` (character-strings joined); raises
    :class:`LookupError` saying why the lookup failed. ``nameservers``:
    ask these instead of the system's resolvers."""
    import dns.exception
    import dns.resolver

    try:
        resolver = dns.resolver.Resolver(configure=nameservers is None)
        if nameservers is not None:
            resolver.nameservers, resolver.port = list(nameservers), port
        answer = resolver.resolve(name, "TXT", lifetime=timeout)
    except dns.resolver.NXDOMAIN:
        return []
    except dns.resolver.NoAnswer:
        return []
    except dns.resolver.NoNameservers as error:
        raise LookupError(f"no DNS server answered ({error})") from None
    except dns.resolver.NoResolverConfiguration:
        raise LookupError("this server has no DNS resolver configured (/etc/resolv.conf)") from None
    except dns.exception.Timeout:
        raise LookupError(f"no answer from the DNS servers within {timeout:g} seconds") from None
    except dns.exception.DNSException as error:
        raise LookupError(f"{type(error).__name__}: {error}") from None
    except OSError as error:
        raise LookupError(f"network error: {error}") from None
    return [b"".join(rdata.strings).decode("ascii", "replace") for rdata in answer]


def check_dns(selector: str, domain: str, private_pem: str, resolve=lookup) -> DnsCheck:
    """Look up ``selector._domainkey.domain`` and compare it with the key."""
    record = dns_record(selector, domain, private_pem)
    try:
        published = resolve(record.name)
    except LookupError as error:
        return DnsCheck(False, _("The DNS lookup of %(name)s failed: %(error)s. Nothing can be said about the "
                                 "record from here; check it again later or with 'dig TXT %(name)s'.",
                                 name=record.name, error=error), [])
    check = compare(published, _tags(record.value)["p"])
    check.message = f"{record.name}: {check.message}"
    return check
