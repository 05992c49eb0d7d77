"""Deliverability from the admin (issue 19, part A): DKIM keys (generate,
paste in any form, stored state, DNS record, DNS check), test sends and the
SMTP connection check that report the server's answer, the HELO name,
per-domain rate limits and the send rate on the progress page. Real SMTP
servers on loopback, a real RQ worker."""
from __future__ import annotations

import base64
import datetime as dt
import re
import time

import pytest

from core import Message, send_message, utcnow
from core.contacts import create_contact
from core.models import SettingValue
from plugins.segments import Segment, add_to_segment
from tests.conftest import SmtpSink, free_port
from tests.test_email_send import configure

from plugins.email import dkim as dkim_keys
from plugins.email import newsletters
from plugins.email.models import Newsletter, Send

SETTINGS = "/admin/settings/email"


def rsa_key(bits: int = 2048, pkcs8: bool = False) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    fmt = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def stored(key: str):
    row = SettingValue.get_or_none((SettingValue.group == "email") & (SettingValue.key == key))
    return None if row is None else row.value


def settings_form(admin):
    return admin.get(SETTINGS).forms["settings-form"]


def panel_form(page, endpoint: str):
    return next(f for f in page.forms.values() if f.action.endswith(endpoint))


def flashes(page) -> str:
    return " ".join(re.sub(r"\s+", " ", m) for m in re.findall(r'class="flash[^"]*"[^>]*>(.*?)</div>', page.text, re.S))


def published_record(page) -> tuple[str, bytes]:
    """The record name and the TXT value (its strings joined) as the settings page shows them."""
    name = re.search(r'id="dkim-record-name">([^<]+)<', page.text).group(1)
    zone = re.search(r'id="dkim-record-value"[^>]*>([^<]+)<', page.text).group(1).replace("&#34;", '"')
    strings = re.findall(r'"([^"]*)"', zone)
    assert strings and all(len(s) <= 255 for s in strings)
    return name, "".join(strings).encode()


# --- DKIM ----------------------------------------------------------------------------------


def test_a_key_pasted_with_crlf_in_the_settings_form_signs_what_the_server_receives(admin, ctx, smtp_sink):
    import dkim

    configure(smtp_sink)
    form = settings_form(admin)
    form["dkim_selector"] = "s2026"
    form["dkim_domain"] = "couvee.test"
    form["dkim_private_key"] = rsa_key(pkcs8=True).replace("\n", "\r\n")  # as a browser posts a textarea
    page = form.submit().follow()
    assert "Email settings saved." in flashes(page)
    assert stored("dkim_private_key").startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert "\r" not in stored("dkim_private_key")
    assert "A key is stored (fingerprint" in page.text
    name, record = published_record(page)
    assert name == "s2026._domainkey.couvee.test" and record.startswith(b"v=DKIM1; k=rsa; p=MII")

    ann = create_contact({"email": "ann@example.com"})
    assert send_message(Message(to=ann.email, contact=ann, purpose="marketing", subject="Signed",
                                html="<p>Hello</p>")).status == "sent"
    [mail] = smtp_sink.wait_for(1)

    def dns(qname, timeout=5):
        assert qname == name.encode() + b"."
        return record

    assert dkim.verify(mail.raw, dnsfunc=dns)
    assert not dkim.verify(mail.raw.replace(b"Subject: Signed", b"Subject: Changed"), dnsfunc=dns)


@pytest.mark.parametrize("form_of", [
    lambda pem: pem.replace("\n", "\r\n"),
    lambda pem: pem.replace("\n", "\r"),
    lambda pem: pem.replace("\n", "\\n"),  # an environment variable on one line
    lambda pem: "".join(line for line in pem.splitlines() if not line.startswith("-----")),  # no armour
    lambda pem: "  \n" + pem.replace("\n", "\n   ") + "\n\n",  # indented, blank lines
], ids=["crlf", "cr", "literal-backslash-n", "no-armour", "indented"])
@pytest.mark.parametrize("pkcs8", [False, True], ids=["pkcs1", "pkcs8"])
def test_pasted_keys_are_normalised_to_one_pkcs1_pem(form_of, pkcs8):
    pem = rsa_key(1024, pkcs8=pkcs8)
    canonical = dkim_keys.normalize_key(pem)
    assert canonical.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert dkim_keys.normalize_key(form_of(pem)) == canonical


@pytest.mark.parametrize("text, message", [
    ("not a key", "not valid base64"),
    ("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "This is a public key"),
    ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----", "passphrase"),
    (base64.b64encode(b"hello world, not DER").decode(), "could not be read as an RSA private key"),
])
def test_a_bad_key_is_refused_on_save_with_the_form_shown_again_and_nothing_stored(admin, ctx, text, message):
    form = settings_form(admin)
    form["from_email"] = "news@couvee.test"
    form["dkim_private_key"] = text
    page = form.submit(status=400)
    assert "DKIM private key (PEM): " in page.text and message in page.text
    assert stored("dkim_private_key") is None and stored("from_email") is None


def test_a_short_key_is_refused_with_the_reason():
    import subprocess

    short = subprocess.run(["openssl", "genrsa", "512"], check=True, capture_output=True, text=True).stdout
    with pytest.raises(dkim_keys.DkimKeyError, match="The key has 512 bits"):
        dkim_keys.normalize_key(short)


def test_an_empty_field_keeps_the_stored_key_and_says_so_and_remove_key_removes_it(admin, ctx):
    form = settings_form(admin)
    form["dkim_selector"], form["dkim_domain"] = "s1", "couvee.test"
    form["dkim_private_key"] = rsa_key(1024)
    form.submit().follow()
    key = stored("dkim_private_key")
    page = admin.get(SETTINGS)
    assert "A key is stored (fingerprint <code>" + dkim_keys.fingerprint(key) + "</code>)" in page.text
    assert 'placeholder="A value is stored: leave empty to keep it."' in page.text

    page = settings_form(admin).submit().follow()  # the key field comes back empty
    assert "DKIM private key (PEM): left empty, the stored value is kept." in flashes(page)
    assert stored("dkim_private_key") == key

    page = panel_form(page, "/dkim/remove").submit().follow()
    assert "The DKIM key is removed" in flashes(page)
    assert stored("dkim_private_key") is None
    assert "No DKIM key is stored: messages are not signed." in page.text


def test_the_generic_remove_box_forgets_a_stored_secret(admin, ctx):
    configure(smtp_password="hunter2")
    form = settings_form(admin)
    form["smtp_password__remove"] = True
    form.submit().follow()
    assert stored("smtp_password") is None


def test_generate_key_stores_a_2048_bit_key_and_shows_the_record_to_publish(admin, ctx):
    from cryptography.hazmat.primitives import serialization

    configure(from_email="news@couvee.test")
    page = admin.get(SETTINGS)
    admin.post("/admin/email/dkim/generate", status=400)  # no CSRF token
    assert stored("dkim_private_key") is None
    page = panel_form(page, "/dkim/generate").submit().follow()
    assert "A new 2048-bit key is stored" in flashes(page)
    key = serialization.load_pem_private_key(stored("dkim_private_key").encode(), password=None)
    assert key.key_size == 2048
    name, record = published_record(page)
    assert name == "couvee1._domainkey.couvee.test"
    assert record == dkim_keys.dns_record("couvee1", "couvee.test", stored("dkim_private_key")).value.encode()
    assert len(dkim_keys.dns_record("couvee1", "couvee.test", stored("dkim_private_key")).strings) == 2
    assert "copy.js" in page.text and admin.get("/admin/email/static/copy.js").status_code == 200

    first = stored("dkim_private_key")
    page = panel_form(page, "/dkim/generate").submit().follow()  # the button of the stored state replaces
    assert stored("dkim_private_key") != first
    admin.post("/admin/email/dkim/generate", {"csrf_token": csrf(page)})  # without the confirmation
    assert "A key is already stored" in flashes(admin.get(SETTINGS))


def csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_dns_check_compares_the_published_record_with_the_stored_key():
    key, other = rsa_key(1024), rsa_key(1024)
    record = dkim_keys.dns_record("s1", "couvee.test", key)
    p = record.value.split("p=")[1]
    assert dkim_keys.compare([record.value], p).ok
    assert dkim_keys.compare(["v=DKIM1;  k=rsa;\tp=" + p[:40] + " " + p[40:]], p).ok  # spaces are ignored
    assert dkim_keys.compare(["v=spf1 -all", record.value], p).ok
    wrong = dkim_keys.compare([dkim_keys.dns_record("s1", "couvee.test", other).value], p)
    assert not wrong.ok and "with another key" in wrong.message
    assert "no TXT record" in dkim_keys.compare([], p).message
    assert "1 other TXT record" in dkim_keys.compare(["v=spf1 -all"], p).message
    assert "revoked" in dkim_keys.compare(["v=DKIM1; k=rsa; p="], p).message
    found = dkim_keys.check_dns("s1", "couvee.test", key, resolve=lambda name: [record.value])
    assert found.ok and found.message == "s1._domainkey.couvee.test: The published record matches the stored key."


def test_dns_check_says_when_the_lookup_itself_failed():
    closed = free_port()  # no DNS server there
    check = dkim_keys.check_dns("s1", "couvee.test", rsa_key(1024), resolve=lambda name: dkim_keys.lookup(
        name, timeout=1, nameservers=["127.0.0.1"], port=closed))
    assert not check.ok
    assert check.message.startswith("The DNS lookup of s1._domainkey.couvee.test failed: ")
    assert "Nothing can be said about the record from here" in check.message


def test_check_dns_button_reports_in_the_page(admin, ctx):
    configure(dkim_selector="s1", dkim_domain="couvee.test", dkim_private_key=rsa_key(1024))
    page = panel_form(admin.get(SETTINGS), "/dkim/check").submit().follow()
    said = flashes(page)
    # this machine may or may not reach a DNS server: either way the page says which
    assert ("The DNS lookup of s1._domainkey.couvee.test failed" in said
            or "s1._domainkey.couvee.test: No DKIM record is published there" in said), said


# --- test send and SMTP connection check ---------------------------------------------------


def test_smtp_check_shows_the_servers_answer_or_the_refusal(admin, ctx, smtp_sink):
    configure(smtp_sink, helo_name="mail.couvee.test")
    page = panel_form(admin.get(SETTINGS), "/smtp-check").submit().follow()
    assert f"Connected to 127.0.0.1:{smtp_sink.port}" in flashes(page)
    assert "the server introduced itself as '" in flashes(page).replace("&#39;", "'")
    assert "answered 250" in flashes(page) and "to NOOP" in flashes(page)

    closed = free_port()
    configure(smtp_sink, smtp_port=closed)
    page = panel_form(admin.get(SETTINGS), "/smtp-check").submit().follow()
    assert f"Connection refused on 127.0.0.1:{closed}" in flashes(page)


@pytest.fixture
def smtp_refusing_login():
    """An SMTP server on loopback that offers AUTH and refuses every login."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    handler = SmtpSink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False,
                            authenticator=lambda *args: AuthResult(success=False, handled=False))
    controller.start()
    handler.host, handler.port = "127.0.0.1", port
    yield handler
    controller.stop()


def test_smtp_check_reports_an_authentication_failure(admin, ctx, smtp_refusing_login):
    configure(smtp_refusing_login, smtp_user="me", smtp_password="wrong")
    page = panel_form(admin.get(SETTINGS), "/smtp-check").submit().follow()
    assert "Authentication failed: 535" in flashes(page)


def test_a_test_send_shows_the_servers_answer_or_the_error(admin, ctx, smtp_sink):
    configure(smtp_sink)
    newsletter = Newsletter.create(name="N", subject="Hello", content="<p>Hi</p>")
    preview = admin.get(f"/admin/email/{newsletter.id}/preview")
    form = next(f for f in preview.forms.values() if "address" in f.fields)
    form["address"] = "boss@example.com"
    said = flashes(form.submit().follow())
    assert (f"Sent to boss@example.com through 127.0.0.1:{smtp_sink.port}: "
            "the server answered 250 Message accepted") in said
    [mail] = smtp_sink.wait_for(1)
    assert mail["Subject"] == "[Test] Hello"

    closed = free_port()
    configure(smtp_sink, smtp_port=closed)
    said = flashes(form.submit().follow())
    assert f"Not sent: Connection refused on 127.0.0.1:{closed}" in said
    assert Send.get(Send.kind == "newsletter.test", Send.status == "failed").reason.startswith("Connection refused")


# --- HELO name -----------------------------------------------------------------------------


class HeloSink(SmtpSink):
    async def handle_DATA(self, server, session, envelope):
        self.helo = session.host_name
        return await super().handle_DATA(server, session, envelope)


def test_the_helo_name_setting_is_what_the_server_sees(ctx):
    from aiosmtpd.controller import Controller

    handler = HeloSink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.host, handler.port = "127.0.0.1", port
    try:
        configure(handler, helo_name="mail.couvee.test")
        bea = create_contact({"email": "bea@example.com"})
        assert send_message(Message(to=bea.email, contact=bea, purpose="transactional", subject="x",
                                    text="y")).status == "sent"
        handler.wait_for(1)
        assert handler.helo == "mail.couvee.test"
    finally:
        controller.stop()


# --- per-domain rate limits ----------------------------------------------------------------


def test_domain_limits_are_validated_and_stored_in_one_form(admin, ctx):
    form = settings_form(admin)
    form["domain_limits"] = "gmail.com=20/s, orange.fr=fast"
    page = form.submit(status=400)
    assert "Per-domain limits: &#39;orange.fr=fast&#39; is not understood" in page.text
    assert stored("domain_limits") is None
    form = settings_form(admin)
    form["domain_limits"] = "Gmail.com = 20/s; orange.fr=5/m"
    form.submit().follow()
    assert stored("domain_limits") == "gmail.com=20/s, orange.fr=5/m"


def _newsletter_to(emails: list[str]) -> Newsletter:
    segment = Segment.create(name="All", kind="static")
    for email in emails:
        add_to_segment(create_contact({"email": email}), segment)
    newsletter = Newsletter.create(name="Limits", subject="Hi", content="<p>Hi</p>", segments=[segment.id])
    assert not newsletters.start(newsletter).errors
    return newsletter


def test_a_domain_over_its_limit_waits_without_holding_back_the_others(ctx, smtp_sink, run_jobs):
    configure(smtp_sink, domain_limits="slow.test=2/s", workers=1, batch_size=50)
    emails = [f"{kind}{i}@{kind}.test" for i in range(6) for kind in ("slow", "fast")]
    _newsletter_to(emails)
    run_jobs()
    received = [m.envelope_to[0] for m in smtp_sink.wait_for(12)]
    assert sorted(received) == sorted(emails)
    slow = [i for i, address in enumerate(received) if address.endswith("@slow.test")]
    fast = [i for i, address in enumerate(received) if address.endswith("@fast.test")]
    # the bucket holds 2: two slow.test messages go at once, the other four wait for tokens
    # while every fast.test message is sent
    assert max(fast) < slow[2]


def test_the_pacer_calls_before_sleep_right_before_each_sleep_and_only_then(ctx):
    """A send job reads its pending SMTP verdict in ``before_sleep``: the
    pacer calls it before each of its sleeps, never when it does not sleep."""
    from core import state
    from plugins.email.ratelimit import DomainPacer, parse_domain_limits

    calls = []
    pacer = DomainPacer(state().redis, parse_domain_limits("slow.test=1/s"), max_wait=5.0,
                        sleep=lambda seconds: (calls.append("sleep"), time.sleep(seconds)))

    class Row:
        def __init__(self, to_email):
            self.to_email = to_email

    rows = [Row("a@slow.test"), Row("b@fast.test"), Row("c@slow.test"), Row("d@fast.test")]
    sent = []
    for row, postpone in pacer.pace(rows, before_sleep=lambda: calls.append("before_sleep")):
        assert postpone == 0
        sent.append(row.to_email)
        calls.append(row.to_email)
    # the fast domain never waits; c@slow.test waits for slow.test's next token, after the others
    assert sent == ["a@slow.test", "b@fast.test", "d@fast.test", "c@slow.test"]
    assert calls[:3] == ["a@slow.test", "b@fast.test", "d@fast.test"] and calls[-1] == "c@slow.test"
    waits = calls[3:-1]  # one sleep, or a few when the token is a hair late: each announced
    assert waits and waits == ["before_sleep", "sleep"] * (len(waits) // 2)

    calls.clear()
    fast = [Row(f"{n}@fast.test") for n in "xyz"]
    assert [row.to_email for row, _ in pacer.pace(fast, before_sleep=lambda: calls.append("before_sleep"))] == \
        ["x@fast.test", "y@fast.test", "z@fast.test"]
    assert calls == []  # no sleep, no call


def test_a_domain_limit_per_hour_postpones_its_messages_and_sends_the_rest(ctx, smtp_sink, run_jobs):
    configure(smtp_sink, domain_limits="slow.test=1/h", workers=1)
    newsletter = _newsletter_to(["a@slow.test", "b@slow.test", "c@fast.test", "d@fast.test", "e@slow.test"])
    run_jobs()
    received = sorted(m.envelope_to[0] for m in smtp_sink.wait_for(3))
    assert received == ["a@slow.test", "c@fast.test", "d@fast.test"]
    waiting = list(Send.select().where((Send.newsletter == newsletter.id) & (Send.status == "queued")))
    assert sorted(s.to_email for s in waiting) == ["b@slow.test", "e@slow.test"]
    assert {s.reason for s in waiting} == {"domain rate limit"}
    assert all(s.not_before > utcnow() + dt.timedelta(minutes=30) for s in waiting)


def test_single_messages_respect_the_domain_limit_too(ctx, smtp_sink):
    configure(smtp_sink, domain_limits="slow.test=1/h")
    first, second = (create_contact({"email": e}) for e in ("a@slow.test", "b@slow.test"))
    assert send_message(Message(to=first.email, contact=first, subject="x", text="y")).status == "sent"
    result = send_message(Message(to=second.email, contact=second, subject="x", text="y"))
    assert result.status == "failed" and "rate limit" in result.reason


# --- send rate -----------------------------------------------------------------------------


def test_the_send_rate_is_messages_over_the_elapsed_send_time(admin, ctx):
    newsletter = Newsletter.create(name="Rate", subject="s", content="<p>x</p>", status="sent")
    start = utcnow() - dt.timedelta(minutes=10)  # long ago: a "last minute" count would say 0
    for i in range(21):
        Send.create(key=f"r{i}", kind="newsletter", purpose="marketing", newsletter=newsletter.id,
                    to_email=f"r{i}@example.com", status="sent", sent_at=start + dt.timedelta(seconds=i / 14))
    assert newsletters.progress(newsletter)["rate"] == 14.0
    assert "14.0 messages/s" in admin.get(f"/admin/email/{newsletter.id}").text



# --- company and postal address: asked once, in General settings ---------------------------


def test_company_and_postal_address_are_asked_once_in_general_settings(admin, ctx, smtp_sink):
    from plugins.email.config import load_config

    email_page = admin.get(SETTINGS)
    assert "postal_address" not in email_page.forms["settings-form"].fields
    assert "company" not in email_page.forms["settings-form"].fields
    form = admin.get("/admin/settings/general").forms["settings-form"]
    form["company_name"], form["company_address"] = "Couvée SAS", "1 rue de la Paix, 75002 Paris"
    form.submit().follow()
    assert (load_config().company, load_config().postal_address) == ("Couvée SAS", "1 rue de la Paix, 75002 Paris")

    configure(smtp_sink, company="Couvée SAS", postal_address="1 rue de la Paix, 75002 Paris")
    ann = create_contact({"email": "ann@example.com"})
    assert send_message(Message(to=ann.email, contact=ann, purpose="marketing", subject="News",
                                html="<p>News</p>")).status == "sent"
    [mail] = smtp_sink.wait_for(1)
    assert "1 rue de la Paix, 75002 Paris" in mail.get_body(("plain",)).get_content()


def test_the_migration_moves_values_from_email_to_general_settings(ctx):
    from core import state
    from core.migrations import apply_migrations
    from core.models import MigrationRecord
    from plugins.email import register_migrations
    from plugins.email.config import load_config

    rows = {("email", "company"): "Old Co", ("email", "postal_address"): "2 rue Neuve, Lyon",
            ("general", "company_name"): "Kept Co"}  # a value already in General wins
    for (group, key), value in rows.items():
        SettingValue.create(group=group, key=key, value=value)
    MigrationRecord.delete().where((MigrationRecord.plugin == "email") & (MigrationRecord.version == 2)).execute()
    assert [m.version for m in apply_migrations(state().database, "email", register_migrations())] == [2]
    assert SettingValue.select().where(SettingValue.group == "email").count() == 0
    assert (load_config().company, load_config().postal_address) == ("Kept Co", "2 rue Neuve, Lyon")


def test_generate_and_copy_the_dns_record_in_the_browser(live_server, page, admin_user, ctx):
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    configure(from_email="news@couvee.test")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(live_server.url + "/admin/login")
    page.fill("input[name=email]", ADMIN_EMAIL)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button.primary")
    page.goto(live_server.url + SETTINGS)
    page.click("form[action$='/dkim/generate'] button")
    assert "A key is stored (fingerprint" in page.inner_text("#deliverability")
    page.click("button[data-copy='dkim-record-value']")
    page.wait_for_selector("button[data-copy='dkim-record-value']:has-text('Copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    record = dkim_keys.dns_record("couvee1", "couvee.test", stored("dkim_private_key"))
    assert copied == record.zone_text
