"""JSON REST API under ``/api/v1/``, authenticated with API keys
(``Authorization: Bearer cv_...``). The OpenAPI description is at
``/api/v1/openapi.json``."""
from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request, url_for

from .. import contacts as service
from ..auth import public
from ..extension import FieldValueError
from ..models import Contact, User
from .openapi import openapi_document
from .responses import created, invalid as _invalid, json_body as _body, no_content

rest_blueprint = Blueprint("rest", __name__, url_prefix="/api/v1")
MAX_PAGE = 500


def contact_json(contact: Contact) -> dict:
    return {
        "id": contact.id,
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "owner_id": contact.owner_id,
        "points": contact.points,
        "tags": service.tags_of(contact),
        "fields": service.get_values(contact),
        "created_at": contact.created_at.isoformat(),
        "updated_at": contact.updated_at.isoformat(),
        "last_interaction_at": contact.last_interaction_at.isoformat() if contact.last_interaction_at else None,
    }


def _raw_values(body: dict) -> dict:
    raw = {key: body[key] for key in service.NATIVE_FIELDS if key in body}
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        abort(400, description="'fields' must be an object of custom field values.")
    known = {f.key for f in service.custom_fields()}
    unknown = sorted(set(fields) - known)
    if unknown:
        abort(422, description=f"Unknown custom fields: {', '.join(unknown)}")
    raw.update({key: (value if isinstance(value, list) else (None if value is None else str(value)))
                for key, value in fields.items()})
    return raw


def _owner(body: dict):
    if "owner_id" not in body or body["owner_id"] is None:
        return None
    owner = User.get_or_none(User.id == body["owner_id"])
    if owner is None:
        abort(422, description=f"owner_id {body['owner_id']} is not a user.")
    return owner


@rest_blueprint.route("/")
@public
def index():
    return jsonify(name="Couvée REST API", version="v1", openapi=url_for("rest.openapi", _external=True))


@rest_blueprint.route("/openapi.json")
@public
def openapi():
    return jsonify(openapi_document())


@rest_blueprint.route("/contacts", methods=["GET"])
def contacts_list():
    from ..admin.contacts import search_contacts

    limit = min(max(request.args.get("limit", 50, type=int), 1), MAX_PAGE)
    offset = max(request.args.get("offset", 0, type=int), 0)
    query = search_contacts(request.args.get("q", ""))
    if request.args.get("email"):
        query = query.where(Contact.email == request.args["email"].strip().lower())
    total = query.count()
    rows = query.order_by(Contact.id).limit(limit).offset(offset)
    return jsonify(total=total, limit=limit, offset=offset, items=[contact_json(c) for c in rows])


@rest_blueprint.route("/contacts", methods=["POST"])
def contacts_create():
    body = _body()
    try:
        contact = service.create_contact(_raw_values(body), source="api", owner=_owner(body),
                                         tags=body.get("tags") or ())
    except service.ContactError as error:
        return _invalid(error.errors)
    except FieldValueError as error:
        return _invalid({"tags": str(error)})
    return created(contact_json(contact), url_for("rest.contacts_get", contact_id=contact.id))


def _contact(contact_id: int) -> Contact:
    return Contact.get_or_none(Contact.id == contact_id) or abort(404, description="No such contact.")


@rest_blueprint.route("/contacts/<int:contact_id>", methods=["GET"])
def contacts_get(contact_id):
    return jsonify(contact_json(_contact(contact_id)))


@rest_blueprint.route("/contacts/<int:contact_id>", methods=["PATCH", "PUT"])
def contacts_update(contact_id):
    contact = _contact(contact_id)
    body = _body()
    try:
        service.update_contact(contact, _raw_values(body), source="api")
        if "owner_id" in body:
            contact.owner = _owner(body)
            contact.save()
        for tag in body.get("add_tags") or ():
            service.add_tag(contact, tag, source="api")
        for tag in body.get("remove_tags") or ():
            service.remove_tag(contact, tag, source="api")
    except service.ContactError as error:
        return _invalid(error.errors)
    except FieldValueError as error:
        return _invalid({"tags": str(error)})
    return jsonify(contact_json(_contact(contact_id)))


@rest_blueprint.route("/contacts/<int:contact_id>", methods=["DELETE"])
def contacts_delete(contact_id):
    if g.user.role not in ("admin", "marketer"):
        abort(403, description="Only administrators and marketers can delete contacts.")
    service.delete_contact(_contact(contact_id))
    return no_content()
