"""Opens (human and machine), clicks through stored links with cv_t and UTM,
unsubscribe page and RFC 8058 One-Click, view in browser, bounces from
DSNs and mailto unsubscribes, metrics, the email.send action."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import time_machine

from core import Message, read_contact_token, send_message, utcnow
from core.contacts import create_contact
from tests.test_email_send import configure, events, part, save_settings

from plugins.email.models import Newsletter, Send


def sent_mail(ctx, smtp_sink, email="ada@example.com", html=None):
    configure(smtp_sink)
    contact = create_contact({"email": email, "first_name": "Ada"})
    html = html or '<p><a href="https://shop.example/offer?ref=1">Offer</a> <a href="mailto:hi@x.example">mail</a></p>'
    result = send_message(Message(to=email, contact=contact, purpose="marketing", kind="workflow.email",
                                  subject="Offer", html=html, track=True, key=f"t:{email}"))
    assert result.status == "sent", result.reason
    mail = smtp_sink.wait_for(1)[-1]
    return contact, mail, Send.get(Send.key == f"msg:t:{email}")


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def test_click_redirects_only_to_the_stored_link_with_identification_token(ctx, web, smtp_sink):
    contact, mail, row = sent_mail(ctx, smtp_sink)
    html = part(mail, "html")
    [click] = re.findall(r'href="(http://couvee\.test/e/c/[^"]+)"', html)
    assert 'href="mailto:hi@x.example"' in html  # not rewritten
    response = web.get(local(click), status=302)
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "shop.example", "/offer")
    query = parse_qs(target.query)
    assert query["ref"] == ["1"]
    identified, _ = read_contact_token("tracking.identify", query["cv_t"][0], max_age=60)
    assert identified.id == contact.id
    web.get(local(click), status=302)
    [clicked] = events("email_clicked")
    assert clicked.data == {"email_id": row.id, "url": "https://shop.example/offer?ref=1", "link_id": clicked.data["link_id"]}
    [opened] = events("email_opened")  # a click proves an open
    assert opened.data == {"email_id": row.id, "machine": False}
    assert Send.get_by_id(row.id).click_count == 2
    # forged or foreign tokens never redirect
    web.get("/e/c/not-a-token", status=404)
    from core import make_token

    web.get("/e/c/" + make_token("email.click", [row.id, 999]), status=404)
    web.get("/e/c/" + make_token("email.open", [row.id, 1]), status=404)


def test_opens_separate_machine_prefetches_from_people(ctx, web, smtp_sink):
    _, mail, row = sent_mail(ctx, smtp_sink)
    [pixel] = re.findall(r'src="(http://couvee\.test/e/o/[^"]+)"', part(mail, "html"))
    response = web.get(local(pixel), headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) GoogleImageProxy"})
    assert response.content_type == "image/gif"
    assert [e.data["machine"] for e in events("email_opened")] == [True]
    with time_machine.travel(utcnow() + dt.timedelta(minutes=5)):
        web.get(local(pixel), headers={"User-Agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605 Mail"})
        web.get(local(pixel), headers={"User-Agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605 Mail"})
    assert [e.data["machine"] for e in events("email_opened")] == [True, False]
    stored = Send.get_by_id(row.id)
    assert stored.open_count == 2 and stored.machine_opened_at and stored.opened_at
    web.get("/e/o/garbage.gif")  # still a pixel, nothing recorded
    assert Send.get_by_id(row.id).open_count == 2


def test_an_open_seconds_after_sending_is_a_machine_open(ctx, web, smtp_sink):
    _, mail, row = sent_mail(ctx, smtp_sink)
    [pixel] = re.findall(r'src="(http://couvee\.test/e/o/[^"]+)"', part(mail, "html"))
    web.get(local(pixel), headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile"})
    assert [e.data["machine"] for e in events("email_opened")] == [True]


def test_unsubscribe_page_with_reason_and_then_no_more_marketing(ctx, web, smtp_sink):
    contact, mail, row = sent_mail(ctx, smtp_sink)
    [page_url] = re.findall(r'href="(http://couvee\.test/e/u/[^"/]+)"', part(mail, "html"))
    page = web.get(local(page_url))
    assert "ada@example.com" in page.text
    form = page.forms[0]
    form["reason"] = "Too many <emails>"
    done = form.submit()
    assert "You are unsubscribed" in done.text
    [event] = events("email_unsubscribed")
    assert event.data["email_id"] == row.id and event.data["reason"] == "Too many <emails>"
    assert "already" in web.get(local(page_url)).text.lower()
    again = send_message(Message(to=contact.email, contact=contact, purpose="marketing", subject="More", text="x"))
    assert again.status == "skipped"


def test_unsubscribe_form_needs_csrf(ctx, web, smtp_sink):
    _, mail, _ = sent_mail(ctx, smtp_sink)
    [page_url] = re.findall(r'href="(http://couvee\.test/e/u/[^"/]+)"', part(mail, "html"))
    web.post(local(page_url), {"reason": "x"}, status=400)
    assert events("email_unsubscribed") == []


def test_rfc8058_one_click_post(ctx, web, smtp_sink):
    contact, mail, row = sent_mail(ctx, smtp_sink)
    https = re.search(r"<(http://couvee\.test/e/u/[^>]+/one-click)>", mail["List-Unsubscribe"]).group(1)
    web.post(local(https), {"List-Unsubscribe": "Other"}, status=400)
    web.post(local(https), {"List-Unsubscribe": "One-Click"}, status=200)
    web.post(local(https), {"List-Unsubscribe": "One-Click"}, status=200)
    assert len(events("email_unsubscribed")) == 1
    web.post("/e/u/forged/one-click", {"List-Unsubscribe": "One-Click"}, status=404)


def test_view_in_browser(ctx, web, smtp_sink):
    _, mail, _ = sent_mail(ctx, smtp_sink)
    [view] = re.findall(r'href="(http://couvee\.test/e/v/[^"]+)"', part(mail, "html"))
    page = web.get(local(view))
    assert "Offer" in page.text and "script-src 'none'" in page.headers["Content-Security-Policy"]


DSN = """From: MAILER-DAEMON@mx.example
To: {to}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; ada@example.com
Action: failed
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--B
Content-Type: text/rfc822-headers

Message-ID: {mid}
Subject: Offer

--B--
"""


def test_bounces_from_dsns_hard_at_once_soft_after_the_limit(ctx, web, smtp_sink):
    contact, mail, row = sent_mail(ctx, smtp_sink)
    save_settings("email", inbound_secret="s3cret", soft_bounce_limit=2)
    body = DSN.format(to=mail.envelope_from, status="4.2.2", diagnostic="452 4.2.2 Mailbox full", mid=mail["Message-ID"])
    web.post("/e/inbound?secret=wrong", body, headers={"Content-Type": "message/rfc822"}, status=403)
    answer = web.post("/e/inbound?secret=s3cret", body, headers={"Content-Type": "message/rfc822"}).json
    assert answer["kind"] == "bounce" and answer["type"] == "soft" and answer["email_id"] == row.id
    assert send_message(Message(to=contact.email, contact=contact, purpose="marketing", subject="x", text="y")).sent
    # without the VERP address, the original Message-ID finds the send
    body2 = DSN.format(to="postmaster@couvee.test", status="4.2.2", diagnostic="mailbox full", mid=mail["Message-ID"])
    assert web.post("/e/inbound?secret=s3cret", body2, headers={"Content-Type": "message/rfc822"}).json["type"] == "soft"
    refused = send_message(Message(to=contact.email, contact=contact, purpose="marketing", subject="x", text="y"))
    assert refused.status == "skipped"
    assert [e.data["type"] for e in events("email_bounced")] == ["soft", "soft"]

    other, mail2, row2 = sent_mail(ctx, smtp_sink, email="bob@example.com")
    hard = DSN.format(to=mail2.envelope_from, status="5.1.1", diagnostic="550 5.1.1 No such user", mid="<x@y>")
    answer = web.post("/e/inbound?secret=s3cret", hard, headers={"Content-Type": "message/rfc822"}).json
    assert answer["type"] == "hard" and answer["email_id"] == row2.id
    assert send_message(Message(to=other.email, contact=other, purpose="transactional", subject="x", text="y")).status == "skipped"
    forged = mail2.envelope_from.replace(mail2.envelope_from.split("-")[1][:10], "0" * 10)
    assert web.post("/e/inbound?secret=s3cret", DSN.format(to=forged, status="5.1.1", diagnostic="", mid="<n@n>"),
                    headers={"Content-Type": "message/rfc822"}).json["kind"] == "ignored"


def test_mailto_unsubscribe_through_the_inbound_endpoint(ctx, web, smtp_sink):
    contact, mail, row = sent_mail(ctx, smtp_sink)
    save_settings("email", inbound_secret="s3cret")
    mailto = re.search(r"<mailto:([^?>]+)", mail["List-Unsubscribe"]).group(1)
    raw = f"From: ada@example.com\nTo: {mailto}\nSubject: unsubscribe\n\nplease"
    answer = web.post(f"/e/inbound?secret=s3cret&to={mailto}", raw, headers={"Content-Type": "message/rfc822"}).json
    assert answer["kind"] == "unsubscribe"
    assert events("email_unsubscribed")[0].data["via"] == "mailto"


def test_email_send_action_personalises_and_sends_once_per_key(ctx, smtp_sink):
    from core import state

    configure(smtp_sink)
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada"})
    action = state().registries.actions["email.send"]
    settings = {"subject": "Hi {{ first_name }}", "body": "<p>Welcome {{ first_name or 'friend' }}</p>"}
    assert action.run(ada, settings, {"key": "run:1:step:2"}).status == "sent"
    assert action.run(ada, settings, {"key": "run:1:step:2"}).status == "skipped"
    [mail] = smtp_sink.wait_for(1)
    assert mail["Subject"] == "Hi Ada" and "Welcome Ada" in part(mail, "plain")


def test_newsletter_metrics_and_utm(admin, ctx, smtp_sink, run_jobs):
    from plugins.segments import Segment, add_to_segment

    configure(smtp_sink)
    seg = Segment.create(name="All", kind="static")
    people = [create_contact({"email": f"m{i}@example.com"}) for i in range(4)]
    for contact in people:
        add_to_segment(contact, seg)
    newsletter = Newsletter.create(name="N", subject="S", content='<p><a href="https://site.example/p">P</a></p>',
                                   segments=[seg.id], utm={"source": "newsletter", "medium": "email", "campaign": "n1"})
    from plugins.email import newsletters

    newsletters.start(newsletter)
    run_jobs()
    mails = smtp_sink.wait_for(4)
    web = admin
    save_settings("email", machine_open_seconds=0)
    for mail in mails[:2]:
        [click] = re.findall(r'href="(http://couvee\.test/e/c/[^"]+)"', part(mail, "html"))
        target = web.get(local(click), status=302).headers["Location"]
        assert "utm_source=newsletter" in target and "utm_campaign=n1" in target
    [pixel] = re.findall(r'src="(http://couvee\.test/e/o/[^"]+)"', part(mails[2], "html"))
    web.get(local(pixel), headers={"User-Agent": "Mozilla/5.0 (X11) Thunderbird"})
    page = web.get(f"/admin/email/{newsletter.id}")
    assert "3</strong> unique opens (75.0%)" in page.text
    assert "2</strong> unique clicks (50.0%)" in page.text
    assert "https://site.example/p?utm_source=newsletter" in page.text
    assert "<svg" in page.text
    assert "<svg" in web.get("/admin/email").text


def test_preview_with_a_contacts_data_and_test_send(admin, ctx, smtp_sink, run_jobs):
    configure(smtp_sink)
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada"})
    newsletter = Newsletter.create(name="N", subject="For {{ first_name or 'you' }}",
                                   content="<p>Dear {{ first_name or 'reader' }} <script>x</script></p>")
    page = admin.get(f"/admin/email/{newsletter.id}/preview?contact=ada@example.com")
    assert "For Ada" in page.text and "Dear Ada" in page.text
    assert 'sandbox=""' in page.text
    assert "No contact with this id" in admin.get(f"/admin/email/{newsletter.id}/preview?contact=zz@example.com").text
    form = next(f for f in page.forms.values() if "address" in f.fields)
    form["address"] = "not-an-address"
    assert "Enter a valid address" in form.submit().follow().text
    form["address"] = "boss@example.com"
    answer = form.submit().follow().text  # sent while the admin waits: the server's answer is shown
    assert "Sent to boss@example.com through" in answer and "250 Message accepted" in answer
    assert "with ada@example.com&#39;s data" in answer
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "boss@example.com" and mail["Subject"] == "[Test] For Ada"
    assert "/e/o/" not in part(mail, "html")  # not tracked
    assert events("email_sent") == []


def test_admin_pages_need_login_and_show_empty_state(web, admin_user, ctx):
    assert web.get("/admin/email").status_code == 302
    from tests.conftest import login

    login(web)
    page = web.get("/admin/email")
    assert "No newsletters yet" in page.text
