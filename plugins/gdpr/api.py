"""REST API (API keys, under ``/api/v1/gdpr``): read and record consents,
export a contact, erase a contact."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify

from core import Contact, api_operation, api_schema as s, current_user

from . import audit, export, ledger
from .erasure import ErasureError, erase
from .purposes import ERASE_MODES

gdpr_api = Blueprint("gdpr_api", __name__, url_prefix="/api/v1/gdpr")

PURPOSE = s.String(max_length=64,
                   description="e.g. email_marketing, sms_marketing (see docs/gdpr.md)")
CONSENT_INPUT = s.Named("ConsentInput", s.Object({
    "purpose": PURPOSE,
    "granted": s.Boolean(),
    "text": s.String(max_length=10000, nullable=True, description="The exact text agreed to (required to grant)"),
    "text_version": s.String(max_length=100, nullable=True),
    "ip": s.String(max_length=64, nullable=True),
    "user_agent": s.String(max_length=1000, nullable=True),
}, required=("purpose", "granted")))
CONSENT_RECORD = s.Named("ConsentRecord", s.Object({
    "id": s.ID, "purpose": s.String(), "granted": s.Boolean(), "text": s.String(), "text_version": s.String(),
    "source": s.String(), "form_id": s.Integer(nullable=True),
    "page_url": s.String(nullable=True), "ip": s.String(), "user_agent": s.String(), "at": s.DATETIME,
}, required=("id", "purpose", "granted", "text", "text_version", "source", "form_id", "page_url", "ip", "user_agent",
             "at")))
CONSENTS = s.Object({
    "current": s.Object(additional=s.Boolean(), description="The latest decision per purpose"),
    "history": s.Array(CONSENT_RECORD, description="Every decision, as proven at the time"),
}, required=("current", "history"))
EXPORT = s.Object({
    "generated_at": s.DATETIME, "contact_id": s.ID,
    "sections": s.Object(additional=s.Array(s.Object(additional=s.Anything())),
                         description="Rows of data by section title (core's and each plugin's)"),
}, required=("generated_at", "contact_id", "sections"))
ERASED = s.Object({"mode": s.String(enum=ERASE_MODES), "contact_id": s.ID, "files": s.Integer(minimum=0)},
                  required=("mode", "contact_id", "files"))
CONTACT_ID = {"contact_id": s.ID}


def _contact(contact_id: int) -> Contact:
    return Contact.get_or_none(Contact.id == contact_id) or abort(404, description="No such contact.")


def _record_json(r) -> dict:
    return {"id": r.id, "purpose": r.purpose, "granted": r.granted, "text": r.text, "text_version": r.text_version,
            "source": r.source, "form_id": r.form_id, "page_url": r.page_url, "ip": r.ip, "user_agent": r.user_agent,
            "at": r.at.isoformat()}


@gdpr_api.route("/contacts/<int:contact_id>/consents", methods=["GET"])
@api_operation("A contact's consents: the current decisions and their history", tags=["gdpr"], path=CONTACT_ID,
               responses={200: ("The consents", CONSENTS), 404: "No such contact"})
def consents(contact_id):
    contact = _contact(contact_id)
    return jsonify(current={p: s.granted for p, s in ledger.current(contact.id).items()},
                   history=[_record_json(r) for r in ledger.history(contact.id)])


@gdpr_api.route("/contacts/<int:contact_id>/consents", methods=["POST"])
@api_operation("Record a consent given or withdrawn", tags=["gdpr"], path=CONTACT_ID, body=CONSENT_INPUT,
               responses={201: ("The ledger entry", CONSENT_RECORD), 404: "No such contact"})
def record_consent(contact_id, body):
    """``{"purpose", "granted": bool, "text", "text_version", "ip"?, "user_agent"?}``"""
    contact = _contact(contact_id)
    if body["granted"] is True and not (body.get("text") or "").strip():
        return jsonify(error="invalid", errors={"text": "the exact text the person agreed to is required as proof"}), 422
    try:
        entry = ledger.change(contact, body["purpose"], body["granted"], source="api",
                              text=str(body.get("text") or ""), text_version=str(body.get("text_version") or ""),
                              ip=str(body.get("ip") or ""), user_agent=str(body.get("user_agent") or ""),
                              user_id=getattr(current_user(), "id", None))
    except ledger.ConsentError as error:
        return jsonify(error="invalid", errors={"purpose": str(error)}), 422
    return jsonify(_record_json(entry)), 201


@gdpr_api.route("/contacts/<int:contact_id>/export", methods=["GET"])
@api_operation("Everything stored about a contact (right of access); audited", tags=["gdpr"], path=CONTACT_ID,
               responses={200: ("The export", EXPORT), 404: "No such contact"})
def export_contact(contact_id):
    contact = _contact(contact_id)
    audit.log_action("export.api", contact.id)
    return jsonify(export.build(contact))


@gdpr_api.route("/contacts/<int:contact_id>/erase", methods=["POST"])
@api_operation("Erase a contact (right to erasure)", tags=["gdpr"], path=CONTACT_ID,
               body=s.Object({"mode": s.String(enum=ERASE_MODES)}, required=("mode",)),
               responses={200: ("What was erased", ERASED), 403: "Only an administrator's API key can erase contacts",
                          404: "No such contact", 409: "The erasure failed: message says why"})
def erase_contact(contact_id, body):
    """``{"mode": "delete" | "pseudonymise"}``"""
    if getattr(current_user(), "role", None) != "admin":
        abort(403, description="Only an administrator's API key can erase contacts.")
    contact = _contact(contact_id)
    mode = body["mode"]
    try:
        return jsonify(erase(contact, mode, reason="api"))
    except ErasureError as error:
        return jsonify(error="erasure_failed", message=str(error)), 409
