"""REST endpoints for accounts under ``/api/v1/accounts`` (API key auth, as
everything under ``/api/``)::

    GET    /api/v1/accounts                              ?q=&status=&domain=&limit=&offset=
    POST   /api/v1/accounts                              create {name, domain, ..., fields}
    GET    /api/v1/accounts/<id>                         one account, its contact count and combined score
    PATCH  /api/v1/accounts/<id>                         change it (only the keys sent; all or nothing)
    DELETE /api/v1/accounts/<id>                         its contacts stay, unlinked (admins, marketers)
    GET    /api/v1/accounts/<id>/contacts                ?limit=&offset=
    PUT    /api/v1/accounts/<id>/contacts/<contact_id>   link the contact by hand
    DELETE /api/v1/accounts/<id>/contacts/<contact_id>   unlink it

Values are checked by the account form's checks (:func:`.editing.clean_account`):
a mistake is a 422 naming the field (``domain``, ``fields.siret``...).
"""
from __future__ import annotations

import peewee
from flask import Blueprint, abort, g, jsonify, url_for

from core import Contact, api_operation as operation, api_schema as s, created_json as created
from core import invalid_json as _invalid, no_content as _no_content

from . import editing, fields, linking, score
from .models import SIZE_BANDS, STATUSES, Account, AccountContact, name_or_domain

accounts_api = Blueprint("accounts_api", __name__, url_prefix="/api/v1/accounts")
MANAGERS = ("admin", "marketer")

FIELD_VALUE = s.OneOf(s.String(max_length=10000), s.Number(), s.Boolean(),
                      s.Array(s.String(max_length=10000), max_items=1000), nullable=True,
                      description="Text (a list of texts for multi-valued fields), parsed by the field's type; "
                                  "null clears it")
_VALUES = {
    "name": s.String(min_length=1, max_length=200),
    "domain": s.String(max_length=253, nullable=True,
                       description="acme.fr (a URL or www. is cleaned); contacts at it are linked; null clears it"),
    "size_band": s.String(enum=["", *SIZE_BANDS], nullable=True, description="tpe, pme, eti or ge"),
    "revenue": s.Integer(minimum=0, nullable=True, description="Yearly revenue in euros"),
    "industry": s.String(max_length=200, nullable=True),
    "status": s.String(enum=list(STATUSES)),
    "owner_id": s.Integer(minimum=1, maximum=s.MAX_ID, nullable=True, description="An active user's id, or null"),
    "fields": s.Object(additional=FIELD_VALUE, description="Custom field values by field key"),
}
ACCOUNT_INPUT = s.Named("AccountInput", s.Object(_VALUES, required=("name",)))
ACCOUNT_CHANGES = s.Named("AccountChanges", s.Object(_VALUES, description="Only the keys sent change; all or nothing"))
ACCOUNT = s.Named("Account", s.Object({
    "id": s.ID, "name": s.String(), "domain": s.String(nullable=True), "size_band": s.String(),
    "revenue": s.Integer(nullable=True), "industry": s.String(), "status": s.String(enum=list(STATUSES)),
    "owner_id": s.Integer(nullable=True), "fields": s.Object(additional=s.OneOf(s.String(), s.Array(s.String()))),
    "contact_count": s.Integer(minimum=0), "created_at": s.DATETIME, "updated_at": s.DATETIME,
    "last_interaction_at": s.String(format="date-time", nullable=True),
}, required=("id", "name", "domain", "size_band", "revenue", "industry", "status", "owner_id", "fields",
             "contact_count", "created_at", "updated_at", "last_interaction_at")))
ACCOUNT_DETAIL = s.Named("AccountDetail", s.Object({
    "account": ACCOUNT, "combined_score": s.Integer(description="As the setting Accounts › Combined score says"),
    "score_mode": s.String(enum=[mode for mode, _label in score.SCORE_MODES]),
}, required=("account", "combined_score", "score_mode")))
MEMBER = s.Object({
    "contact_id": s.ID, "email": s.String(nullable=True), "first_name": s.String(), "last_name": s.String(),
    "via": s.String(enum=["domain", "manual"]), "linked_at": s.DATETIME,
}, required=("contact_id", "email", "first_name", "last_name", "via", "linked_at"))
LINKED = s.Object({"linked": s.Boolean(description="false: it was already linked to this account")},
                  required=("linked",))
ACCOUNT_ID = {"account_id": s.ID}
LINK_IDS = {"account_id": s.ID, "contact_id": s.ID}
NOT_A_MANAGER = "Only administrators and marketers can delete accounts"


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def account_json(account: Account, contact_count: int, values: dict) -> dict:
    return {
        "id": account.id, "name": account.name, "domain": account.domain, "size_band": account.size_band,
        "revenue": account.revenue, "industry": account.industry, "status": account.status,
        "owner_id": account.owner_id, "fields": values, "contact_count": contact_count,
        "created_at": account.created_at.isoformat(), "updated_at": account.updated_at.isoformat(),
        "last_interaction_at": _iso(account.last_interaction_at),
    }


def _one_json(account: Account) -> dict:
    return account_json(account, linking.contact_ids_of(account).count(), fields.values_of(account.id))


def _account(account_id: int) -> Account:
    return Account.get_or_none(Account.id == account_id) or abort(404, description="No such account.")


def _form(body: dict, account: Account | None) -> tuple[dict, dict]:
    """The body as the account form's text values (the account's current
    ones under keys not sent), and the unknown custom field keys."""
    form = {}
    if account is not None:
        form = {key: getattr(account, key) for key in editing.FIELDS}
    for key in editing.FIELDS:
        if key in body:
            form[key] = body[key]
    form = {key: "" if value is None else str(value) for key, value in form.items()}
    known = {field.key for field in fields.account_fields()}
    unknown = {f"fields.{key}": "is not an account field" for key in (body.get("fields") or {}) if key not in known}
    for key, value in (body.get("fields") or {}).items():
        if isinstance(value, bool):
            value = "yes" if value else "no"
        form[fields.PREFIX + key] = value if isinstance(value, list) or value is None else str(value)
    return form, unknown


def _cleaned(body: dict, account: Account | None):
    form, errors = _form(body, account)
    try:
        values = editing.clean_account(form, account)
    except editing.AccountError as error:
        errors.update({key.replace(fields.PREFIX, "fields.", 1) if key.startswith(fields.PREFIX) else key: message
                       for key, message in error.errors.items()})
        values = None
    return values, errors


@accounts_api.route("", methods=["GET"])
@operation("List accounts, searched by name or domain", tags=["accounts"],
           query={"q": s.String(max_length=200, description="Part of the name or domain"),
                  "status": s.String(enum=list(STATUSES)),
                  "domain": s.String(max_length=253, description="Exactly this domain"), **s.PAGINATION},
           responses={200: ("A page of accounts, by name", s.page_of(ACCOUNT))})
def list_accounts(query):
    found = Account.select()
    if query.get("q"):
        text = query["q"].strip()
        found = found.where(name_or_domain(text))
    if query.get("status"):
        found = found.where(Account.status == query["status"])
    if query.get("domain"):
        found = found.where(Account.domain == query["domain"].strip().lower())
    limit, offset = query.get("limit", 50), query.get("offset", 0)
    page = list(found.order_by(Account.name, Account.id).limit(limit).offset(offset))
    ids = [account.id for account in page]
    counts = {}
    if ids:
        counts = dict(AccountContact.select(AccountContact.account, peewee.fn.COUNT(AccountContact.contact))
                      .where(AccountContact.account.in_(ids)).group_by(AccountContact.account).tuples())
    values = fields.values_of_many(ids)
    return jsonify(total=found.count(), limit=limit, offset=offset,
                   items=[account_json(a, counts.get(a.id, 0), values.get(a.id, {})) for a in page])


@accounts_api.route("", methods=["POST"])
@operation("Create an account (the contacts at its domain are linked)", tags=["accounts"], body=ACCOUNT_INPUT,
           responses={201: ("The new account (its URL in Location)", ACCOUNT)})
def create_account(body):
    values, errors = _cleaned(body, None)
    if errors:
        return _invalid(errors)
    account = editing.create_account(values)
    return created(_one_json(Account.get_by_id(account.id)),
                   url_for("accounts_api.get_account", account_id=account.id))


@accounts_api.route("/<int:account_id>", methods=["GET"])
@operation("Get an account with its combined score", tags=["accounts"], path=ACCOUNT_ID,
           responses={200: ("The account", ACCOUNT_DETAIL), 404: "No such account"})
def get_account(account_id):
    account = _account(account_id)
    mode = score.score_mode()
    return jsonify(account=_one_json(account), combined_score=score.combined_score(account, mode), score_mode=mode)


@accounts_api.route("/<int:account_id>", methods=["PATCH", "PUT"])
@operation("Change an account (PUT is the same as PATCH)", tags=["accounts"], path=ACCOUNT_ID, body=ACCOUNT_CHANGES,
           responses={200: ("The account as changed", ACCOUNT), 404: "No such account"})
def update_account(account_id, body):
    account = _account(account_id)
    values, errors = _cleaned(body, account)
    if errors:
        return _invalid(errors)
    editing.update_account(account, values, source="api")
    return jsonify(_one_json(Account.get_by_id(account.id)))


@accounts_api.route("/<int:account_id>", methods=["DELETE"])
@operation("Delete an account (its contacts stay, unlinked)", tags=["accounts"], path=ACCOUNT_ID,
           responses={204: "Deleted", 403: NOT_A_MANAGER, 404: "No such account"})
def delete_account(account_id):
    if g.user.role not in MANAGERS:
        abort(403, description=NOT_A_MANAGER + ".")
    editing.delete_account(_account(account_id))
    return _no_content()


@accounts_api.route("/<int:account_id>/contacts", methods=["GET"])
@operation("List an account's contacts", tags=["accounts"], path=ACCOUNT_ID, query=s.PAGINATION,
           responses={200: ("A page of its contacts, by contact id", s.page_of(MEMBER)), 404: "No such account"})
def account_contacts(account_id, query):
    account = _account(account_id)
    limit, offset = query.get("limit", 50), query.get("offset", 0)
    rows = (AccountContact.select(AccountContact, Contact).join(Contact, on=(AccountContact.contact == Contact.id))
            .where(AccountContact.account == account.id).order_by(AccountContact.contact).limit(limit).offset(offset))
    items = [{"contact_id": row.contact.id, "email": row.contact.email, "first_name": row.contact.first_name,
              "last_name": row.contact.last_name, "via": row.source, "linked_at": row.linked_at.isoformat()}
             for row in rows]
    return jsonify(total=linking.contact_ids_of(account).count(), limit=limit, offset=offset, items=items)


def _contact(contact_id: int) -> Contact:
    return Contact.get_or_none(Contact.id == contact_id) or abort(404, description="No such contact.")


@accounts_api.route("/<int:account_id>/contacts/<int:contact_id>", methods=["PUT"])
@operation("Link a contact to the account by hand (it leaves its former account)", tags=["accounts"],
           path=LINK_IDS, responses={200: ("Whether it was linked now", LINKED), 404: "No such account or contact"})
def link_contact(account_id, contact_id):
    account, contact = _account(account_id), _contact(contact_id)
    return jsonify(linked=linking.link(contact, account, source="manual"))


@accounts_api.route("/<int:account_id>/contacts/<int:contact_id>", methods=["DELETE"])
@operation("Unlink a contact from the account", tags=["accounts"], path=LINK_IDS,
           responses={204: "Unlinked", 404: "No such account or contact, or the contact is not in this account"})
def unlink_contact(account_id, contact_id):
    account, contact = _account(account_id), _contact(contact_id)
    current = linking.link_of(contact.id)
    if current is None or current.account_id != account.id:
        abort(404, description="The contact is not linked to this account.")
    linking.unlink(contact)
    return _no_content()
