"""Bounces coming in (issue 19 item 4): the documented curl line posts a DSN to
``/e/inbound`` with curl's default form content type, and it is read; the
bounce mailbox job reads a real IMAP server on loopback (Debian's dovecot,
started by the test with its configuration in a temporary folder)."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import types

import pytest
from imapclient import IMAPClient

from core import enqueue
from core.models import Event
from tests.conftest import free_port
from tests.test_email_send import save_settings
from tests.test_email_tracking import DSN, sent_mail

from plugins.email.mailbox import poll, poll_job
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


DOVECOT_CONF = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@pytest.fixture
def imap_server():
    """Debian's dovecot-imapd on a loopback port, one mailbox (bounces / s3cret)."""
    if not shutil.which("dovecot") and not os.path.exists("/usr/sbin/dovecot"):
        pytest.fail("the IMAP test needs Debian's dovecot-imapd (apt-get install dovecot-imapd)")
    root = tempfile.mkdtemp(prefix="couvee-imap-", dir="/tmp")
    os.chmod(root, 0o755)  # dovecot's unprivileged login processes reach their sockets through it
    user = pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
    for sub in ("mail", "home"):
        os.makedirs(os.path.join(root, sub))
        os.chown(os.path.join(root, sub), user.pw_uid, user.pw_gid)
    with open(os.path.join(root, "users"), "w") as users:
        users.write("bounces:{PLAIN}s3cret::::::\n")
    port = free_port()
    conf = os.path.join(root, "dovecot.conf")
    with open(conf, "w") as handle:
        handle.write(DOVECOT_CONF.format(root=root, uid=user.pw_uid, gid=user.pw_gid, port=port))
    process = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", conf], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = open(os.path.join(root, "dovecot.log")).read() if os.path.exists(
                    os.path.join(root, "dovecot.log")) else ""
                process.kill()
                pytest.fail(f"dovecot did not start: {process.stderr.read().decode()} {log}")
            time.sleep(0.1)
    yield types.SimpleNamespace(host="127.0.0.1", port=port, user="bounces", password="s3cret")
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def mailbox(server) -> IMAPClient:
    client = IMAPClient(server.host, port=server.port, ssl=False)
    client.login(server.user, server.password)
    return client


def test_the_bounce_mailbox_job_turns_a_dsn_into_a_hard_bounce_over_imap(imap_server, ctx, smtp_sink, run_jobs):
    contact, mail, row = sent_mail(ctx, smtp_sink)
    save_settings("email", bounce_imap_host=imap_server.host, bounce_imap_port=imap_server.port,
                  bounce_imap_security="none", bounce_imap_user=imap_server.user,
                  bounce_imap_password=imap_server.password, bounce_imap_after="move", bounce_imap_move_to="Done")
    dsn = DSN.format(to=mail.envelope_from, status="5.1.1", diagnostic="550 5.1.1 No such user", mid=mail["Message-ID"])
    with mailbox(imap_server) as client:
        client.append("INBOX", dsn.replace("\n", "\r\n").encode())
    enqueue(poll_job, queue="email")  # what couvee cron queues every 5 minutes
    run_jobs()
    assert Recipient.get(Recipient.contact == contact.id).hard_bounced_at is not None
    assert Event.get(Event.kind == "email_bounced").data["email_id"] == row.id
    with mailbox(imap_server) as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
        assert client.select_folder("Done")[b"EXISTS"] == 1  # moved, not lost
    # deleting instead; a message that is no bounce is read and removed too
    save_settings("email", bounce_imap_after="delete")
    with mailbox(imap_server) as client:
        client.append("INBOX", b"From: someone@example.com\r\nSubject: hello\r\n\r\nnot a bounce\r\n")
    report = poll()
    assert (report.read, report.kinds) == (1, {"ignored": 1})
    with mailbox(imap_server) as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
        assert client.select_folder("Done")[b"EXISTS"] == 1


def test_an_unreachable_mailbox_is_reported_not_raised(ctx):
    save_settings("email", bounce_imap_host="127.0.0.1", bounce_imap_port=free_port(), bounce_imap_security="none")
    assert poll_job().startswith("failed: cannot read the bounce mailbox 127.0.0.1:")
