"""JSON REST API under ``/api/v1/``, authenticated with API keys
(``Authorization: Bearer cv_...``). The OpenAPI description is at
``/api/v1/openapi.json``, generated from the :func:`~core.rest.operation.operation`
declarations of every API view (core's and the active plugins').

This module holds the contacts endpoints; segments and workflows live with
their features (the plugins' own ``api.py``)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, url_for

from .. import contacts as service
from ..auth import public
from ..db import write_transaction
from ..erasure import ErasureError, erase_contact
from ..extension import FieldValueError
from ..models import Contact, User
from . import schema as s
from .openapi import openapi_document
from .operation import operation
from .responses import created, invalid, no_content

rest_blueprint = Blueprint("rest", __name__, url_prefix="/api/v1")
MAX_TAGS = 100

TAG = s.String(min_length=1, max_length=100)
NAME = s.String(max_length=200, nullable=True, description="null or \"\" clears it")
FIELD_VALUE = s.OneOf(s.String(max_length=10000), s.Number(), s.Boolean(), s.Array(s.String(max_length=10000),
                                                                                    max_items=1000),
                      nullable=True, description="Text (or a list of texts for multi-valued fields), parsed by "
                                                 "the field's type; null clears it")
_CONTACT_VALUES = {
    "email": s.String(min_length=1, max_length=254, format="email",
                      description="Trimmed and lower-cased; must be a valid address, unique among contacts"),
    "first_name": NAME,
    "last_name": NAME,
    "language": s.String(enum=["", "fr", "en"], nullable=True,
                         description="The language written to the contact in; \"\" or null: the instance default"),
    "owner_id": s.Integer(minimum=1, maximum=s.MAX_ID, nullable=True, description="A user's id, or null"),
    "fields": s.Object(additional=FIELD_VALUE, description="Custom field values by field key"),
}
CONTACT_INPUT = s.Named("ContactInput", s.Object(
    {**_CONTACT_VALUES, "tags": s.Array(TAG, max_items=MAX_TAGS)}))
CONTACT_CHANGES = s.Named("ContactChanges", s.Object(
    {**_CONTACT_VALUES, "add_tags": s.Array(TAG, max_items=MAX_TAGS), "remove_tags": s.Array(TAG, max_items=MAX_TAGS)},
    description="Only the keys sent are changed; all or nothing"))
CONTACT = s.Named("Contact", s.Object({
    "id": s.ID,
    "email": s.String(nullable=True),
    "first_name": s.String(),
    "last_name": s.String(),
    "language": s.String(),
    "owner_id": s.Integer(nullable=True),
    "points": s.Integer(),
    "tags": s.Array(s.String()),
    "fields": s.Object(additional=s.OneOf(s.String(), s.Array(s.String()))),
    "created_at": s.DATETIME,
    "updated_at": s.DATETIME,
    "last_interaction_at": s.String(format="date-time", nullable=True),
}, required=("id", "email", "first_name", "last_name", "owner_id", "points", "tags", "fields", "created_at",
             "updated_at", "last_interaction_at")))
CONTACT_ID = {"contact_id": s.ID}


def contact_json(contact: Contact) -> dict:
    return {
        "id": contact.id,
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "language": contact.language,
        "owner_id": contact.owner_id,
        "points": contact.points,
        "tags": service.tags_of(contact),
        "fields": service.get_values(contact),
        "created_at": contact.created_at.isoformat(),
        "updated_at": contact.updated_at.isoformat(),
        "last_interaction_at": contact.last_interaction_at.isoformat() if contact.last_interaction_at else None,
    }


def _raw_values(body: dict, errors: dict) -> dict:
    """Native and custom values as the contact service parses them (text);
    unknown custom fields are reported in ``errors``."""
    raw = {key: body[key] for key in service.NATIVE_FIELDS if key in body}
    fields = body.get("fields") or {}
    known = {f.key for f in service.custom_fields()}
    for key in sorted(set(fields) - known):
        errors[f"fields.{key}"] = "is not a custom field"
    for key, value in fields.items():
        if isinstance(value, bool):
            value = "1" if value else "0"
        raw[key] = value if isinstance(value, list) or value is None else str(value)
    return raw


def _check_values(body: dict, contact: Contact | None) -> tuple[dict, dict]:
    """Every check that needs the database, before anything is written:
    ``(raw values, errors)``."""
    errors: dict[str, str] = {}
    raw = _raw_values(body, errors)
    parsed, value_errors = service.parse_values(raw)
    errors.update({key if key in service.NATIVE_FIELDS else f"fields.{key}": message
                   for key, message in value_errors.items()})
    if "email" in body and "email" not in errors and parsed.get("email") is None:
        errors["email"] = "must not be empty"
    email = parsed.get("email")
    if email and (contact is None or email != contact.email):
        clash = Contact.select().where(Contact.email == email)
        if contact is not None:
            clash = clash.where(Contact.id != contact.id)
        if clash.exists():
            errors["email"] = f"a contact with the email {email} already exists"
    if body.get("owner_id") is not None and not User.select().where(User.id == body["owner_id"]).exists():
        errors["owner_id"] = f"{body['owner_id']} is not a user"
    for key in ("tags", "add_tags", "remove_tags"):
        for index, tag in enumerate(body.get(key) or ()):
            try:
                service.normalize_tag(tag)
            except FieldValueError as error:
                errors[f"{key}[{index}]"] = str(error)
    return raw, errors


def _owner(body: dict):
    owner_id = body.get("owner_id")
    return None if owner_id is None else User.get_by_id(owner_id)


@rest_blueprint.route("/")
@public
@operation("Where the API starts", responses={200: ("Name, version and the OpenAPI document's address", s.Object({
    "name": s.String(), "version": s.String(), "openapi": s.String(format="uri")}, required=("name", "version",
                                                                                          "openapi")))})
def index():
    return jsonify(name="Couvée REST API", version="v1", openapi=url_for("rest.openapi", _external=True))


@rest_blueprint.route("/openapi.json")
@public
@operation("This OpenAPI document", responses={200: ("The OpenAPI 3.1 document", s.Object(additional=s.Anything()))})
def openapi():
    return jsonify(openapi_document(current_app))


@rest_blueprint.route("/contacts", methods=["GET"])
@operation("List or search contacts", tags=["contacts"], query={
    "q": s.String(max_length=200, description="Search in email and names"),
    "email": s.String(max_length=254, description="Exact address (case-insensitive)"),
    **s.PAGINATION,
}, responses={200: ("A page of contacts, by id", s.page_of(CONTACT))})
def contacts_list(query):
    limit, offset = query.get("limit", 50), query.get("offset", 0)
    found = service.search_contacts(query.get("q", ""))
    if query.get("email"):
        found = found.where(Contact.email == query["email"].strip().lower())
    total = found.count()
    rows = found.order_by(Contact.id).limit(limit).offset(offset)
    return jsonify(total=total, limit=limit, offset=offset, items=[contact_json(c) for c in rows])


@rest_blueprint.route("/contacts", methods=["POST"])
@operation("Create a contact", tags=["contacts"], body=CONTACT_INPUT,
           responses={201: ("The new contact (its URL in Location)", CONTACT)})
def contacts_create(body):
    raw, errors = _check_values(body, None)
    if errors:
        return invalid(errors)
    try:
        contact = service.create_contact(raw, source="api", owner=_owner(body), tags=body.get("tags") or ())
    except service.ContactError as error:  # e.g. an address erased on the person's request
        return invalid(error.errors)
    return created(contact_json(contact), url_for("rest.contacts_get", contact_id=contact.id))


def _contact(contact_id: int) -> Contact:
    return Contact.get_or_none(Contact.id == contact_id) or abort(404, description="No such contact.")


@rest_blueprint.route("/contacts/<int:contact_id>", methods=["GET"])
@operation("Get a contact", tags=["contacts"], path=CONTACT_ID,
           responses={200: ("The contact", CONTACT), 404: "No such contact"})
def contacts_get(contact_id):
    return jsonify(contact_json(_contact(contact_id)))


@rest_blueprint.route("/contacts/<int:contact_id>", methods=["PATCH", "PUT"])
@operation("Change a contact (PUT is the same as PATCH)", tags=["contacts"], path=CONTACT_ID,
           body=CONTACT_CHANGES, description="The whole body is checked first; then every change is applied in "
                                             "one transaction, or none is.",
           responses={200: ("The contact as changed", CONTACT), 404: "No such contact"})
def contacts_update(contact_id, body):
    contact = _contact(contact_id)
    raw, errors = _check_values(body, contact)
    if errors:
        return invalid(errors)
    try:
        with write_transaction(current_app.extensions["couvee"].database):
            service.update_contact(contact, raw, source="api")
            if "owner_id" in body:
                contact.owner = _owner(body)
                contact.save()
            for tag in body.get("add_tags") or ():
                service.add_tag(contact, tag, source="api")
            for tag in body.get("remove_tags") or ():
                service.remove_tag(contact, tag, source="api")
    except service.ContactError as error:  # a concurrent change made a value invalid: nothing was applied
        return invalid(error.errors)
    return jsonify(contact_json(_contact(contact_id)))


@rest_blueprint.route("/contacts/<int:contact_id>", methods=["DELETE"])
@operation("Delete a contact", tags=["contacts"], path=CONTACT_ID,
           responses={204: "Deleted, with every active plugin's data about the contact",
                      403: "Only administrators and marketers can delete contacts",
                      404: "No such contact", 409: "A plugin refused or failed the erasure: nothing was deleted"})
def contacts_delete(contact_id):
    if g.user.role not in ("admin", "marketer"):
        abort(403, description="Only administrators and marketers can delete contacts.")
    try:
        erase_contact(_contact(contact_id), "delete")
    except ErasureError as error:
        return jsonify(error="erasure_failed", message=str(error)), 409
    return no_content()
