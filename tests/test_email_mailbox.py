"""Bounces coming in (issue 19 item 4): the documented curl line posts a DSN to
``/e/inbound`` with curl's default form content type, and it is read."""
from __future__ import annotations

import subprocess

from core.models import Event
from tests.test_email_send import save_settings
from tests.test_email_tracking import DSN, sent_mail

from plugins.email.models import Recipient


def test_the_documented_curl_line_turns_a_dsn_into_a_hard_bounce(live_server, ctx, smtp_sink, tmp_path):
    contact, mail, row = sent_mail(ctx, smtp_sink)
    save_settings("email", inbound_secret="s3cret")
    dsn = DSN.format(to=mail.envelope_from, status="5.1.1", diagnostic="550 5.1.1 No such user", mid=mail["Message-ID"])
    message = tmp_path / "bounce.eml"
    message.write_text(dsn.replace("\n", "\r\n"))
    url = f"{live_server.url}/e/inbound?secret=s3cret&to={mail.envelope_from}"
    # as the Postfix pipe transport runs it: the message on stdin, no content type given
    answer = subprocess.run(["curl", "-sS", "--fail-with-body", "--data-binary", "@-", url], input=message.read_bytes(),
                            capture_output=True, timeout=30)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert b'"type":"hard"' in answer.stdout.replace(b" ", b"") and f'"email_id":{row.id}'.encode() in answer.stdout.replace(b" ", b"")
    assert Recipient.get(Recipient.contact == contact.id).hard_bounced_at is not None
    assert [e.data["type"] for e in Event.select().where(Event.kind == "email_bounced")] == ["hard"]
    # a form field named "message" still works (multipart, as curl -F sends it)
    form = subprocess.run(["curl", "-sS", "--fail-with-body", "-F", f"message=<{message}", url], capture_output=True,
                          timeout=30)
    assert form.returncode == 0 and b'"kind":"bounce"' in form.stdout.replace(b" ", b""), form.stdout + form.stderr
    empty = subprocess.run(["curl", "-sS", "--data-binary", "", url], capture_output=True, timeout=30)
    assert b"empty" in empty.stdout
