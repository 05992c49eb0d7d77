"""Double opt-in: the confirmation email, its signed expiring link, the
confirmation, and the veto on marketing sends while a confirmation is pending.

The link's token is :func:`core.contact_token` for the purpose
``forms.confirm`` and names the request (``o``). Opening the link shows a page
with a button; the confirmation itself is a POST, so mail scanners that open
every link do not confirm on the person's behalf.
"""
from __future__ import annotations

import datetime as dt
import html

from core import (
    Message, contact_token, external_url, get_setting, read_contact_token, send_message, utcnow, write_transaction,
)

from .models import Form, OptIn
from .submitting import Meta, consent_proof, emit_consent
from .texts import DOI_BODY, DOI_SUBJECT

TOKEN_PURPOSE = "forms.confirm"


def max_age() -> dt.timedelta:
    return dt.timedelta(days=int(get_setting("forms", "doi_expiry_days") or 7))


def confirm_link(opt_in: OptIn) -> str:
    return external_url("forms.confirm", t=contact_token(opt_in.contact, TOKEN_PURPOSE, o=opt_in.id))


def read_link(token: str) -> OptIn:
    """The request a link names, or :class:`core.TokenError`."""
    from core import TokenError

    contact, data = read_contact_token(TOKEN_PURPOSE, token, max_age())
    opt_in = OptIn.get_or_none((OptIn.id == data.get("o")) & (OptIn.contact == contact.id))
    if opt_in is None:
        raise TokenError("This link is not valid.")
    return opt_in


def message_for(opt_in: OptIn) -> Message:
    form = opt_in.form
    language = form.language if form else "fr"
    link = confirm_link(opt_in)
    subject = (form.doi_subject if form and form.doi_subject else "") or DOI_SUBJECT.get(language, DOI_SUBJECT["fr"])
    body = (form.doi_body if form and form.doi_body else "") or DOI_BODY.get(language, DOI_BODY["fr"])
    if "{link}" not in body:
        body += "\n\n{link}"
    text = body.replace("{link}", link)
    paragraphs = html.escape(body).split("\n\n")
    anchor = f'<a href="{html.escape(link)}">{html.escape(link)}</a>'
    html_body = "".join(f"<p>{p.replace(chr(10), '<br>').replace('{link}', anchor)}</p>" for p in paragraphs)
    return Message(
        to=opt_in.contact.email or "", contact=opt_in.contact, kind="forms.double_opt_in",
        purpose="transactional", subject=subject, html=html_body, text=text,
        key=f"forms.doi:{opt_in.id}", track=False, metadata={"form_id": opt_in.form_id, "opt_in_id": opt_in.id},
    )


#: ``send_status`` of a request whose email failed for now (``SendResult.retry``): sent again later
WAITING = "waiting"


def send(opt_in: OptIn):
    result = send_message(message_for(opt_in))
    status = WAITING if result.retry else result.status
    OptIn.update(sent_at=utcnow() if result.sent else None,
                 send_status=(status + (f": {result.reason}" if result.reason else ""))[:250]).where(
        OptIn.id == opt_in.id).execute()
    return result


def confirm_request(opt_in_id: int, meta: dict, at: str) -> bool:
    """:func:`confirm` with JSON-like arguments, in one write transaction:
    what the confirmation page writes now, or hands to a worker through
    ``core.write_or_defer`` while the database is busy (``at`` is when the
    person confirmed, ISO 8601)."""
    with write_transaction():
        opt_in = OptIn.get_or_none(OptIn.id == opt_in_id)
        return opt_in is not None and confirm(opt_in, Meta(**meta), dt.datetime.fromisoformat(at))


def confirm(opt_in: OptIn, meta: Meta, now: dt.datetime | None = None) -> bool:
    """Confirm a request; emits ``consent_given`` (source ``double_opt_in``)
    with the proof. Returns False when it was already confirmed."""
    if opt_in.status == "confirmed":
        return False
    now = now or utcnow()
    updated = OptIn.update(status="confirmed", confirmed_at=now, confirm_ip=meta.ip[:64],
                           confirm_user_agent=meta.user_agent[:1000]).where(
        (OptIn.id == opt_in.id) & (OptIn.status != "confirmed")).execute()
    if not updated:
        return False
    OptIn.update(status="superseded").where(
        (OptIn.contact == opt_in.contact_id) & (OptIn.purpose == opt_in.purpose) & (OptIn.status == "pending")
    ).execute()
    form = Form.get_or_none(Form.id == opt_in.form_id) if opt_in.form_id else None
    proof = consent_proof(opt_in.purpose, opt_in.text, opt_in.text_version, "double_opt_in", form, meta, now)
    proof["requested_at"] = opt_in.requested_at.isoformat()
    proof["submission_id"] = opt_in.submission_id
    emit_consent(opt_in.contact, proof)
    return True


def pending_purposes(contact) -> set[str]:
    return {row.purpose for row in OptIn.select(OptIn.purpose).where(
        (OptIn.contact == contact.id) & (OptIn.status == "pending"))}


def vetoes(contact, channel: str, purpose: str) -> bool:
    """Whether a pending confirmation forbids this send: the purpose itself
    (``email_marketing``), or ``marketing`` on the purpose's channel."""
    if purpose == "transactional" or getattr(contact, "id", None) is None:
        return False
    for pending in pending_purposes(contact):
        if purpose == pending or (purpose == "marketing" and pending == f"{channel}_marketing"):
            return True
    return False


def pending_refusals(contact_ids: list[int], channel: str, purpose: str) -> dict[int, str]:
    """:func:`vetoes` for many contacts in one query."""
    if purpose == "transactional":
        return {}
    wanted = [purpose] + ([f"{channel}_marketing"] if purpose == "marketing" else [])
    pending = OptIn.select(OptIn.contact).where(
        OptIn.contact.in_(contact_ids) & (OptIn.status == "pending") & OptIn.purpose.in_(wanted))
    return {row.contact_id: "awaiting opt-in confirmation" for row in pending}


def supersede_on_consent(event) -> None:
    """Consent given another way (preference centre, admin, API) ends a pending request."""
    data = event.data or {}
    if event.kind != "consent_given" or data.get("source") in ("form", "double_opt_in"):
        return
    OptIn.update(status="superseded").where(
        (OptIn.contact == event.contact_id) & (OptIn.purpose == data.get("purpose")) & (OptIn.status == "pending")
    ).execute()
