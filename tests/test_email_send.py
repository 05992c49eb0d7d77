"""The email channel: real SMTP on loopback, headers (Message-ID,
List-Unsubscribe + One-Click, VERP), DKIM verified with dkimpy, plain part,
at-most-once per key, vetoes recorded, file transport."""
from __future__ import annotations

import base64
import re
import subprocess

import pytest

from core import Message, send_message
from core.contacts import create_contact
from core.models import Event, SettingValue

SENDER = {"from_email": "news@couvee.test", "from_name": "Couvée News", "company": "Couvée SAS",
          "postal_address": "1 rue de la Paix, 75002 Paris", "rate_per_second": 0}


def save_settings(group: str, **values) -> None:
    """Store settings the way the settings page does (one row per key)."""
    for key, value in values.items():
        SettingValue.insert(group=group, key=key, value=value).on_conflict(
            conflict_target=[SettingValue.group, SettingValue.key], update={SettingValue.value: value}).execute()


def configure(sink=None, **values) -> None:
    """Point the email plugin at the SMTP sink; consent is not what these tests are about."""
    settings = dict(SENDER)
    if sink is not None:
        settings.update(transport="smtp", smtp_host=sink.host, smtp_port=sink.port)
    settings.update(values)
    identity = {general: settings.pop(key) for key, general in (("company", "company_name"),
                                                                 ("postal_address", "company_address"))}
    save_settings("general", **identity)  # the sender identity is asked once, in General settings
    save_settings("email", **settings)
    save_settings("gdpr", require_consent=False)  # harmless when the gdpr plugin is absent


def part(message, subtype: str) -> str:
    for item in message.walk():
        if item.get_content_type() == f"text/{subtype}":
            return item.get_content()
    raise AssertionError(f"no text/{subtype} part")


def events(kind: str) -> list[Event]:
    return list(Event.select().where(Event.kind == kind).order_by(Event.id))


def test_a_message_goes_through_smtp_with_the_deliverability_headers(ctx, smtp_sink):
    configure(smtp_sink)
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada"})
    result = send_message(Message(to=ada.email, contact=ada, kind="smart_content.pick", purpose="marketing",
                                  subject="Pour vous, Ada", html='<p>Read <a href="https://shop.example/a?x=1">this</a></p>',
                                  key="pick:1", track=True))
    assert result.status == "sent", result.reason
    [mail] = smtp_sink.wait_for(1)
    assert mail["Subject"] == "Pour vous, Ada"
    assert mail["From"] == "Couvée News <news@couvee.test>"
    assert re.fullmatch(r"<\d+\.[0-9a-f]{12}@couvee\.test>", mail["Message-ID"])
    assert result.provider_id == mail["Message-ID"]
    unsubscribe = mail["List-Unsubscribe"]
    assert re.search(r"<mailto:unsubscribe\+\d+-[0-9a-f]{10}@couvee\.test\?subject=unsubscribe>", unsubscribe)
    assert re.search(r"<http://couvee\.test/e/u/[^>]+/one-click>", unsubscribe)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    from plugins.email.models import Send

    row = Send.get(Send.key == "msg:pick:1")
    assert mail.envelope_from.startswith(f"bounce+{row.id}-") and mail.envelope_from.endswith("@couvee.test")
    text, html = part(mail, "plain"), part(mail, "html")
    assert "Read this (http://couvee.test/e/c/" in text
    assert "Unsubscribe" in text and "1 rue de la Paix" in text
    assert 'href="http://couvee.test/e/c/' in html and "shop.example" not in html  # tracked redirect
    assert "/e/o/" in html  # open pixel
    [sent] = events("email_sent")
    assert sent.data == {"email_id": row.id, "kind": "smart_content.pick", "purpose": "marketing", "subject": "Pour vous, Ada"}


def test_the_same_key_is_sent_at_most_once(ctx, smtp_sink):
    configure(smtp_sink)
    bob = create_contact({"email": "bob@example.com"})
    message = Message(to=bob.email, contact=bob, kind="forms.double_opt_in", purpose="transactional",
                      subject="Confirm", text="Click to confirm.", key="doi:1:bob")
    assert send_message(message).status == "sent"
    again = send_message(message)
    assert again.status == "skipped" and "already sent" in again.reason
    assert len(smtp_sink.wait_for(1)) == 1
    assert len(events("email_sent")) == 1
    only = smtp_sink.messages[0]
    assert "List-Unsubscribe" not in only  # transactional
    assert "Click to confirm." in part(only, "plain")


def test_unsubscribed_contacts_get_no_marketing_but_still_transactional_mail(ctx, smtp_sink):
    from plugins.email import standing
    from plugins.email.models import Send

    configure(smtp_sink)
    cyd = create_contact({"email": "cyd@example.com"})
    standing.unsubscribe(cyd, None, reason="too many")
    marketing = send_message(Message(to=cyd.email, contact=cyd, purpose="marketing", subject="Promo", html="<p>x</p>",
                                     key="promo"))
    assert marketing.status == "skipped" and "email" in marketing.reason
    # called directly (as the email.send action does), the veto is recorded in the send log
    from plugins.email.delivery import send_single

    direct = send_single(Message(to=cyd.email, contact=cyd, purpose="marketing", subject="Promo", html="<p>x</p>",
                                 key="promo2"))
    assert direct.status == "skipped"
    assert Send.get(Send.key == "msg:promo2").status == "skipped"
    assert "unsubscribed" in Send.get(Send.key == "msg:promo2").reason  # the reason, then the vetoing plugins
    assert send_message(Message(to=cyd.email, contact=cyd, purpose="transactional", subject="Your export",
                                text="Here it is.")).status == "sent"
    assert len(smtp_sink.wait_for(1)) == 1


def _dkim_key(tmp_path) -> tuple[str, str]:
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return key.read_text(), base64.b64encode(der).decode()


def test_dkim_signature_verifies(ctx, smtp_sink, tmp_path):
    import dkim

    private, public = _dkim_key(tmp_path)
    configure(smtp_sink, dkim_selector="couvee", dkim_domain="couvee.test", dkim_private_key=private)
    dee = create_contact({"email": "dee@example.com"})
    assert send_message(Message(to=dee.email, contact=dee, purpose="marketing", subject="Signed",
                                html="<p>Hello</p>")).status == "sent"
    [mail] = smtp_sink.wait_for(1)
    assert "d=couvee.test" in mail["DKIM-Signature"] and "s=couvee" in mail["DKIM-Signature"]
    signed = mail["DKIM-Signature"].replace(" ", "").replace("\n", "")
    assert "list-unsubscribe-post" in signed.lower()

    def dns(name, timeout=5):
        assert name == b"couvee._domainkey.couvee.test."
        return b"v=DKIM1; k=rsa; p=" + public.encode()

    assert dkim.verify(mail.raw, dnsfunc=dns)
    tampered = mail.raw.replace(b"Subject: Signed", b"Subject: Changed")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_a_bad_dkim_key_fails_clearly_and_sends_nothing(ctx, smtp_sink):
    configure(smtp_sink, dkim_selector="s", dkim_domain="couvee.test", dkim_private_key="not a key")
    eve = create_contact({"email": "eve@example.com"})
    result = send_message(Message(to=eve.email, contact=eve, subject="x", text="y"))
    assert result.status == "failed" and "DKIM" in result.reason
    assert smtp_sink.messages == []


def test_file_transport_writes_a_maildir(ctx, instance):
    import mailbox

    configure(transport="file")
    fay = create_contact({"email": "fay@example.com"})
    assert send_message(Message(to=fay.email, contact=fay, subject="Dev", text="Hello")).status == "sent"
    [stored] = list(mailbox.Maildir(str(instance / "mail"), create=False))
    assert stored["Subject"] == "Dev" and stored["To"] == "fay@example.com"


def test_no_smtp_server_fails_with_the_reason(ctx):
    from tests.conftest import free_port

    configure(transport="smtp", smtp_host="127.0.0.1", smtp_port=free_port())
    gus = create_contact({"email": "gus@example.com"})
    result = send_message(Message(to=gus.email, contact=gus, subject="x", text="y", key="k"))
    assert result.status == "failed" and "SMTP server 127.0.0.1" in result.reason
    # a failed key can be retried later
    from plugins.email.models import Send

    assert Send.get(Send.key == "msg:k").status == "failed"


def test_no_sender_configured_is_a_clear_failure(ctx, smtp_sink):
    save_settings("email", transport="smtp", smtp_host=smtp_sink.host, smtp_port=smtp_sink.port)
    hal = create_contact({"email": "hal@example.com"})
    result = send_message(Message(to=hal.email, contact=hal, subject="x", text="y"))
    assert result.status == "failed" and "sender" in result.reason


def test_raw_headers_keep_urls_plain_and_encode_only_non_ascii_text(ctx):
    """List-Unsubscribe URLs stay readable by mail clients (never RFC 2047
    encoded, however long); names and subjects outside ASCII are encoded and
    read back intact by the standard parser."""
    import email
    from email.policy import default

    from plugins.email import compose
    from plugins.email.config import load_config

    long_url = "https://couvee.test/e/u/" + "t" * 150 + "/one-click"
    envelope = compose.Envelope(
        send_id=7, to="zoe@example.com", subject="Élan de printemps pour Zoé — " + "très " * 20,
        html="<p>Bonjour Zoé</p>", text="Bonjour Zoé\n", sender_name="Couvée News", sender_email="news@couvee.test",
        unsubscribe_mailto="mailto:unsubscribe+7-ab@couvee.test?subject=unsubscribe", unsubscribe_https=long_url,
        headers={"Precedence": "bulk", "Bad Name": "x", "Injected": "a\r\nBcc: evil@example.com"})
    message_id, raw = compose.build(load_config(), envelope)
    assert b"\r\n" in raw and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert f"<{long_url}>" in head and "=?utf-8?" not in head.split("List-Unsubscribe:")[1].split("\r\n")[1]
    assert "Bcc" not in head and "Bad Name" not in head
    mail = email.message_from_bytes(raw, policy=default)
    assert mail["Subject"] == envelope.subject
    assert mail["From"] == "Couvée News <news@couvee.test>" and mail["Message-ID"] == message_id
    assert mail["Precedence"] == "bulk" and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert long_url in mail["List-Unsubscribe"]
    assert part(mail, "plain").replace("\r\n", "\n") == "Bonjour Zoé\n"  # CRLF: MIME's canonical line end
    assert part(mail, "html") == "<p>Bonjour Zoé</p>"
