"""Admin pages: overview, per-contact actions (export, consent, opposition,
erasure), retention dry-run report, processing register, audit log,
re-opt-in helper and the suppression-list check."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from peewee import fn

from core import AudienceUnavailable, Contact, current_user, enqueue, normalize_email, roles_required, translation_domain

from . import audit, export, ledger, reoptin, retention
from .erasure import ErasureError, erase, is_erased
from .models import ConsentState, ErasedContact, Suppression
from .opposition import FLAGS, set_flags
from .panel import record_flag_changes
from .purposes import ERASE_MODES, PURPOSES, purpose_label
from .register import processing_register
from .suppression import lift, suppressed

_ = translation_domain(__name__).gettext
ngettext = translation_domain(__name__).ngettext

gdpr_admin = Blueprint("gdpr", __name__, url_prefix="/admin/gdpr")
ADMINS = ("admin",)
EDITORS = ("admin", "marketer")


def _contact(contact_id: int) -> Contact:
    return Contact.get_or_none(Contact.id == contact_id) or abort(404)


def _back(contact: Contact):
    return redirect(url_for("admin.contact", contact_id=contact.id))


@gdpr_admin.route("/")
@roles_required(*EDITORS)
def index():
    granted = dict(ConsentState.select(ConsentState.purpose, fn.COUNT(ConsentState.contact))
                   .where(ConsentState.granted == True).group_by(ConsentState.purpose).tuples())  # noqa: E712
    withdrawn = dict(ConsentState.select(ConsentState.purpose, fn.COUNT(ConsentState.contact))
                     .where(ConsentState.granted == False).group_by(ConsentState.purpose).tuples())  # noqa: E712
    total = Contact.select().where(Contact.email.is_null(False)).count()
    rows = [{"purpose": p, "label": purpose_label(p), "granted": granted.get(p, 0), "withdrawn": withdrawn.get(p, 0),
             "share": (granted.get(p, 0) / total) if total else 0} for p in PURPOSES]
    return render_template("gdpr/index.html", rows=rows, total=total, suppressed=Suppression.select().count(),
                           erased=ErasedContact.select().count(), report=retention.report(limit=0))


# --- one contact -------------------------------------------------------------------


@gdpr_admin.route("/contacts/<int:contact_id>/export.<fmt>")
@roles_required(*EDITORS)
def contact_export(contact_id, fmt):
    contact = _contact(contact_id)
    if fmt not in ("json", "zip"):
        abort(404)
    document = export.build(contact)
    audit.log_action(f"export.{fmt}", contact.id)
    return _download(document, fmt, f"contact-{contact.id}")


def _download(document: dict, fmt: str, stem: str) -> Response:
    if fmt == "json":
        body, mimetype = export.to_json(document), "application/json"
    else:
        body, mimetype = export.to_csv_zip(document), "application/zip"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@gdpr_admin.route("/contacts/<int:contact_id>/consent", methods=["POST"])
@roles_required(*EDITORS)
def contact_consent(contact_id):
    contact = _contact(contact_id)
    purpose = request.form.get("purpose", "")
    decision = request.form.get("decision", "")
    proof = (request.form.get("text") or "").strip()
    if purpose not in PURPOSES or decision not in ("granted", "withdrawn"):
        flash(_("Choose a purpose and whether consent was given or withdrawn."), "error")
        return _back(contact)
    if decision == "granted" and not proof:
        flash(_("Say how the person consented (the proof: date, channel, wording) before recording a consent."),
              "error")
        return _back(contact)
    user = current_user()
    ledger.change(contact, purpose, decision == "granted", source="admin",
                  text=proof or f"Withdrawn by {user.email}", text_version="admin", user_id=user.id)
    audit.log_action(f"consent.{decision}", contact.id, purpose=purpose)
    if decision == "granted":
        flash(_("%(purpose)s: consent given.", purpose=purpose_label(purpose)))
    else:
        flash(_("%(purpose)s: consent withdrawn.", purpose=purpose_label(purpose)))
    return _back(contact)


@gdpr_admin.route("/contacts/<int:contact_id>/opposition", methods=["POST"])
@roles_required(*EDITORS)
def contact_opposition(contact_id):
    contact = _contact(contact_id)
    changes = set_flags(contact, "admin", **{flag: request.form.get(flag) == "1" for flag in FLAGS})
    if changes:
        record_flag_changes(contact, changes, current_user())
        audit.log_action("opposition.changed", contact.id, **{f: new for f, (_, new) in changes.items()})
        flash(_("Opposition flags saved."))
    else:
        flash(_("Nothing changed."))
    return _back(contact)


@gdpr_admin.route("/contacts/<int:contact_id>/erase", methods=["GET", "POST"])
@roles_required(*ADMINS)
def contact_erase(contact_id):
    contact = _contact(contact_id)
    error = ""
    if request.method == "POST":
        mode = request.form.get("mode", "")
        typed = (request.form.get("confirm") or "").strip().lower()
        expected = (contact.email or str(contact.id)).lower()
        if mode not in ERASE_MODES:
            error = _("Choose delete or pseudonymise.")
        elif typed != expected:
            error = _("Type the contact’s address exactly to confirm.")
        elif is_erased(contact.id):
            error = _("This contact was already pseudonymised.")
        else:
            try:
                summary = erase(contact, mode, reason="request")
            except ErasureError as failure:
                error = str(failure)
            else:
                if mode == "delete":
                    flash(_("Contact #%(id)s was deleted; its address is on the suppression list.",
                            id=summary["contact_id"]))
                else:
                    flash(_("Contact #%(id)s was pseudonymised; its address is on the suppression list.",
                            id=summary["contact_id"]))
                if mode == "delete":
                    return redirect(url_for("admin.contacts"))
                return _back(contact)
    return render_template("gdpr/erase.html", contact=contact, error=error), (400 if error else 200)


# --- retention -------------------------------------------------------------------------


@gdpr_admin.route("/retention")
@roles_required(*EDITORS)
def retention_report():
    return render_template("gdpr/retention.html", report=retention.report(limit=200))


@gdpr_admin.route("/retention/run", methods=["POST"])
@roles_required(*ADMINS)
def retention_run():
    enqueue(retention.run_retention, queue="low")
    audit.log_action("retention.run")
    flash(_("The retention job was queued; refresh this report in a moment."))
    return redirect(url_for("gdpr.retention_report"))


# --- register, audit, re-opt-in, suppression ------------------------------------------


@gdpr_admin.route("/register")
@roles_required(*EDITORS)
def register():
    return render_template("gdpr/register.html", **processing_register())


@gdpr_admin.route("/audit")
@roles_required(*ADMINS)
def audit_log():
    return render_template("gdpr/audit.html", entries=audit.recent(500))


@gdpr_admin.route("/reoptin", methods=["GET", "POST"])
@roles_required(*EDITORS)
def reoptin_page():
    if request.method == "POST":
        try:
            segment = reoptin.ensure_segment()
        except AudienceUnavailable:
            flash(_("Segments are not active on this site: enable the Segments plugin to create this segment."),
                  "error")
            return redirect(url_for("gdpr.reoptin_page"))
        flash(ngettext("The segment “%(name)s” is up to date: %(num)s contact.",
                       "The segment “%(name)s” is up to date: %(num)s contacts.", segment.size,
                       name=segment.name))
        return redirect(segment.url)
    missing = Contact.select().where(reoptin.compile_consent({"purpose": "email_marketing",
                                                              "state": "not_granted"})).count()
    return render_template("gdpr/reoptin.html", missing=missing, segment_name=reoptin.SEGMENT_NAME)


@gdpr_admin.route("/suppression", methods=["GET", "POST"])
@roles_required(*ADMINS)
def suppression():
    result = None
    email = ""
    if request.method == "POST":
        raw = request.form.get("email", "")
        try:
            email = normalize_email(raw) or ""
        except ValueError:
            flash(_("“%(address)s” is not a valid email address.", address=raw), "error")
            return redirect(url_for("gdpr.suppression"))
        if request.form.get("lift") == "1":
            removed = lift(email)
            audit.log_action("suppression.lifted" if removed else "suppression.lift_missing")
            flash(_("The address was removed from the suppression list.") if removed
                  else _("This address is not on the suppression list."))
            return redirect(url_for("gdpr.suppression"))
        result = bool(suppressed([email]))
    return render_template("gdpr/suppression.html", result=result, email=email,
                           count=Suppression.select().count())
