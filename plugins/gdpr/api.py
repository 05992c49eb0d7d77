"""REST API (API keys, under ``/api/v1/gdpr``): read and record consents,
export a contact, erase a contact."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify

from core import Contact, current_user, json_body

from . import audit, export, ledger
from .erasure import ErasureError, erase
from .purposes import ERASE_MODES

gdpr_api = Blueprint("gdpr_api", __name__, url_prefix="/api/v1/gdpr")


def _contact(contact_id: int) -> Contact:
    return Contact.get_or_none(Contact.id == contact_id) or abort(404, description="No such contact.")


def _record_json(r) -> dict:
    return {"id": r.id, "purpose": r.purpose, "granted": r.granted, "text": r.text, "text_version": r.text_version,
            "source": r.source, "form_id": r.form_id, "ip": r.ip, "user_agent": r.user_agent, "at": r.at.isoformat()}


@gdpr_api.route("/contacts/<int:contact_id>/consents", methods=["GET"])
def consents(contact_id):
    contact = _contact(contact_id)
    return jsonify(current={p: s.granted for p, s in ledger.current(contact.id).items()},
                   history=[_record_json(r) for r in ledger.history(contact.id)])


@gdpr_api.route("/contacts/<int:contact_id>/consents", methods=["POST"])
def record_consent(contact_id):
    """``{"purpose", "granted": bool, "text", "text_version", "ip"?, "user_agent"?}``"""
    contact = _contact(contact_id)
    body = json_body()
    errors = {}
    if not isinstance(body.get("granted"), bool):
        errors["granted"] = "must be true or false"
    if body.get("granted") is True and not str(body.get("text") or "").strip():
        errors["text"] = "the exact text the person agreed to is required as proof"
    if errors:
        return jsonify(error="invalid", errors=errors), 422
    try:
        entry = ledger.change(contact, str(body.get("purpose") or ""), body["granted"], source="api",
                              text=str(body.get("text") or ""), text_version=str(body.get("text_version") or ""),
                              ip=str(body.get("ip") or ""), user_agent=str(body.get("user_agent") or ""),
                              user_id=getattr(current_user(), "id", None))
    except ledger.ConsentError as error:
        return jsonify(error="invalid", errors={"purpose": str(error)}), 422
    return jsonify(_record_json(entry)), 201


@gdpr_api.route("/contacts/<int:contact_id>/export", methods=["GET"])
def export_contact(contact_id):
    contact = _contact(contact_id)
    audit.log_action("export.api", contact.id)
    return jsonify(export.build(contact))


@gdpr_api.route("/contacts/<int:contact_id>/erase", methods=["POST"])
def erase_contact(contact_id):
    """``{"mode": "delete" | "pseudonymise"}``"""
    if getattr(current_user(), "role", None) != "admin":
        abort(403, description="Only an administrator's API key can erase contacts.")
    contact = _contact(contact_id)
    mode = json_body().get("mode")
    if mode not in ERASE_MODES:
        return jsonify(error="invalid", errors={"mode": "delete or pseudonymise"}), 422
    try:
        return jsonify(erase(contact, mode, reason="api"))
    except ErasureError as error:
        return jsonify(error="erasure_failed", message=str(error)), 409
