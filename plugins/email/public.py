"""Public endpoints reached from emails and from the MTA (all ``@public``;
each is authenticated by a signed token or the inbound secret):

- ``/e/o/<t>.gif`` open pixel, ``/e/c/<t>`` click redirect (stored targets only),
- ``/e/v/<t>`` the email in a browser,
- ``/e/u/<t>`` unsubscribe page (one button, optional reason; CSRF),
- ``/e/u/<t>/one-click`` RFC 8058 One-Click POST (mail clients; no CSRF),
- ``/e/inbound`` bounces (DSN) and mailto unsubscribes posted by the MTA;
- ``/e/i/<token>`` an image of the library (in imageviews.py, with the library's pages).

Opens, clicks and unsubscribes are never refused because the database is busy:
they go through ``core.write_or_defer`` (written now, or by a worker a moment later).
"""
from __future__ import annotations

import base64
import datetime as dt
import hmac

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request

from core import (
    Contact, TokenError, csrf_exempt, public, read_token, translation_domain, use_contact_language, write_or_defer,
    write_transaction,
)

from . import bounces, standing, tracking
from .config import load_config
from .models import Newsletter, Send

email_public = Blueprint("email", __name__, url_prefix="/e")
MAX_AGE = dt.timedelta(days=400)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}
_ = translation_domain(__name__).gettext


def _send_from(purpose: str, token: str) -> Send:
    try:
        data = read_token(purpose, token, MAX_AGE)
    except TokenError as error:
        abort(404, description=str(error))
    send_id = data[0] if isinstance(data, list) else data
    row = Send.get_or_none(Send.id == send_id) if isinstance(send_id, int) else None
    if row is None:
        abort(404, description=_("This email is no longer available."))
    return row


@email_public.route("/o/<t>.gif")
@public
def open(t):  # noqa: A001 - the endpoint name is part of the URL contract
    try:
        send_id = read_token("email.open", t, MAX_AGE)
        row = Send.get_or_none(Send.id == send_id) if isinstance(send_id, int) else None
    except TokenError:
        row = None
    if row is not None:
        write_or_defer(record_open, row.id, request.headers.get("User-Agent", ""), load_config().machine_open_seconds)
    return Response(PIXEL, mimetype="image/gif", headers=NO_STORE)


def record_open(send_id: int, user_agent: str, machine_seconds: int) -> None:
    """Store an open in one write transaction (now, or by a worker while the
    database is busy: the pixel is served either way)."""
    with write_transaction():
        row = Send.get_or_none(Send.id == send_id)
        if row is not None:
            tracking.record_open(row, user_agent, machine_seconds)


@email_public.route("/c/<t>")
@public
def click(t):
    try:
        data = read_token("email.click", t, MAX_AGE)
    except TokenError as error:
        abort(404, description=str(error))
    if not (isinstance(data, list) and len(data) == 2 and all(isinstance(x, int) for x in data)):
        abort(404, description=_("This link is not valid."))
    row = Send.get_or_none(Send.id == data[0])
    link = tracking.link_of(row, data[1]) if row is not None else None
    if link is None:
        abort(404, description=_("This link is not valid."))
    written = write_or_defer(record_click, row.id, link.id)
    return redirect(written.result if written.done else tracking.click_target(row, link), code=302)


def record_click(send_id: int, link_id: int) -> str:
    """Store a click in one write transaction and return the redirect target
    (now, or by a worker while the database is busy: the browser goes on)."""
    with write_transaction():
        row = Send.get_by_id(send_id)
        return tracking.record_click(row, tracking.link_of(row, link_id))


@email_public.route("/v/<t>")
@public
def view(t):
    row = _send_from("email.view", t)
    if row.html:
        html = row.html
    elif row.newsletter_id:
        from .newsletters import newsletter_renderer

        newsletter = Newsletter.get_by_id(row.newsletter_id)
        contact = Contact.get_or_none(Contact.id == row.contact_id) if row.contact_id else None
        html = newsletter_renderer(newsletter, load_config()).render(row.id, contact).html
    else:
        abort(404, description=_("This email is no longer available."))
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "script-src 'none'; object-src 'none'; frame-ancestors 'none'"
    response.headers.update(NO_STORE)
    return response


@email_public.route("/u/<t>", methods=["GET", "POST"])
@public
def unsubscribe(t):
    row = _send_from("email.unsubscribe", t)
    contact = Contact.get_or_none(Contact.id == row.contact_id) if row.contact_id else None
    if contact is None:
        return render_template("email/unsubscribe.html", state="no_contact")
    use_contact_language(contact)
    if request.method == "POST":
        reason = (request.form.get("reason") or "").strip()[:1000]
        write_or_defer(record_unsubscribe, row.id, reason, "page")
        return render_template("email/unsubscribe.html", state="done", email=contact.email)
    already = standing.blocked_reason(contact, 0) == "unsubscribed"
    return render_template("email/unsubscribe.html", state="already" if already else "ask", email=contact.email)


@email_public.route("/u/<t>/one-click", methods=["POST"])
@public
@csrf_exempt
def one_click(t):
    """RFC 8058: the mail client POSTs ``List-Unsubscribe=One-Click``."""
    row = _send_from("email.unsubscribe", t)
    if (request.form.get("List-Unsubscribe") or "").strip() != "One-Click":
        return Response("expected List-Unsubscribe=One-Click\n", status=400, mimetype="text/plain")
    if row.contact_id:
        write_or_defer(record_unsubscribe, row.id, "", "one-click")
    return Response("unsubscribed\n", mimetype="text/plain")


def record_unsubscribe(send_id: int, reason: str, via: str) -> bool:
    """Unsubscribe the recipient of an email, in one write transaction: what
    the unsubscribe page and One-Click write now, or hand to a worker through
    ``core.write_or_defer`` while the database is busy (the answer is the same)."""
    with write_transaction():
        row = Send.get_or_none(Send.id == send_id)
        contact = Contact.get_or_none(Contact.id == row.contact_id) if row and row.contact_id else None
        return contact is not None and standing.unsubscribe(contact, row, reason=reason, via=via)


def _posted_message() -> bytes:
    """The raw message: a ``message`` form field when the body really is a form
    (multipart, or urlencoded starting with ``message=``), else the body as it
    came: a raw email sent as "urlencoded" is not a form, so it is read before
    anything parses it as one."""
    body = request.get_data(cache=True)
    if request.mimetype == "multipart/form-data" or (
            request.mimetype == "application/x-www-form-urlencoded" and body.startswith(b"message=")):
        return (request.form.get("message") or "").encode()
    return body


@email_public.route("/inbound", methods=["POST"])
@public
@csrf_exempt
def inbound():
    """The MTA posts a bounce or a mail to our mailto address: the raw message
    as the body, whatever the content type says (``message/rfc822``, or curl's
    default ``application/x-www-form-urlencoded`` for ``--data-binary @-``), or
    in a ``message`` form field; the envelope recipient as ``?to=``.
    Authenticated by ``?secret=`` (or the ``X-Couvee-Secret`` header) equal to
    the ``inbound_secret`` setting."""
    secret = load_config().inbound_secret
    given = request.args.get("secret") or request.headers.get("X-Couvee-Secret") or ""
    if not secret:
        return jsonify(error="disabled", message="Set the inbound secret in Settings → Email first."), 403
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return jsonify(error="forbidden", message="Wrong or missing secret."), 403
    raw = _posted_message()
    if not raw.strip():
        return jsonify(error="empty", message="Post the raw message as the body."), 400
    report = bounces.process_inbound(raw, request.args.get("to", ""))
    return jsonify(kind=report.kind, email_id=report.send_id, type=report.type, status=report.status,
                   diagnostic=report.diagnostic)
