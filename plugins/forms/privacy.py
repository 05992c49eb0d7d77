"""What the forms plugin holds about a person, for erasure and export."""
from __future__ import annotations

from .models import OptIn, Submission, SubmittedValue


def erase(contact, mode: str) -> None:
    """``delete``: remove submissions, values and opt-ins. ``pseudonymise``:
    keep the submissions (form statistics) without values, IP, user agent,
    page URL or visitor id."""
    if mode == "delete":
        SubmittedValue.delete().where(SubmittedValue.contact == contact.id).execute()
        OptIn.delete().where(OptIn.contact == contact.id).execute()
        Submission.delete().where(Submission.contact == contact.id).execute()
        return
    SubmittedValue.delete().where(SubmittedValue.contact == contact.id).execute()
    OptIn.update(text="", confirm_ip="", confirm_user_agent="").where(OptIn.contact == contact.id).execute()
    Submission.update(ip="", user_agent="", page_url="", visitor_id="").where(
        Submission.contact == contact.id).execute()


def export(contact) -> dict:
    submissions = list(Submission.select().where(Submission.contact == contact.id).order_by(Submission.id))
    values = list(SubmittedValue.select().where(SubmittedValue.contact == contact.id).order_by(SubmittedValue.id))
    opt_ins = list(OptIn.select().where(OptIn.contact == contact.id).order_by(OptIn.id))
    if not (submissions or values or opt_ins):
        return None
    return {
        "Form submissions": [
            {"submission_id": s.id, "form": s.form_name, "at": s.created_at.isoformat(), "page_url": s.page_url,
             "ip": s.ip, "user_agent": s.user_agent} for s in submissions],
        "Submitted values": [
            {"submission_id": v.submission_id, "field": v.label or v.name, "value": v.value,
             "at": v.created_at.isoformat()} for v in values],
        "Double opt-in requests": [
            {"purpose": o.purpose, "status": o.status, "requested_at": o.requested_at.isoformat(),
             "confirmed_at": o.confirmed_at.isoformat() if o.confirmed_at else "", "text": o.text}
            for o in opt_ins],
    }
