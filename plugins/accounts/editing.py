"""Creating and changing accounts: the checks of the account form (and of
the CSV import, which uses the same ones) and the events a change records on
the account's contacts."""
from __future__ import annotations

from core import User, emit_many, translation_domain, utcnow, write_transaction

from . import fields, linking, owners
from .kinds import STATUS_CHANGED, UNLINKED, UPDATED
from .models import SIZE_BANDS, STATUSES, Account, AccountContact

_ = translation_domain(__name__).gettext

#: the account fields a form or a CSV row sets
FIELDS = ("name", "domain", "size_band", "revenue", "industry", "status", "owner_id")


class AccountError(ValueError):
    """The form or row has mistakes: ``errors`` maps a field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


def _revenue(text: str) -> int | None:
    cleaned = text.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace("€", "")
    if not cleaned:
        return None
    value = int(cleaned)
    if value < 0:
        raise ValueError(cleaned)
    return value


def _owner_id(text: str) -> int | None:
    if not text:
        return None
    if text.isdigit():
        user = User.get_or_none((User.id == int(text)) & (User.is_active == True))  # noqa: E712
    else:
        user = User.get_or_none((User.email == text.lower()) & (User.is_active == True))  # noqa: E712
    if user is None:
        raise ValueError(text)
    return user.id


def clean_account(form, account: Account | None = None, field_prefix: str = fields.PREFIX) -> dict:
    """The values of an account from a form or a CSV row (strings), checked:
    raises :class:`AccountError` listing every mistake. Custom fields are read
    from ``field_prefix + key`` (``field.siret`` in a form, ``siret`` in a
    CSV row) and land in ``values["custom"]``; those absent keep their value."""
    def text(key):
        return str(form.get(key) or "").strip()

    values, errors = {}, {}
    values["name"] = text("name")
    if not values["name"]:
        errors["name"] = _("Enter the company name.")
    elif len(values["name"]) > 200:
        errors["name"] = _("The name is too long (200 characters at most).")
    try:
        values["domain"] = linking.normalize_domain(text("domain")) or None
    except ValueError:
        errors["domain"] = _("“%(domain)s” is not a domain name (e.g. acme.fr).", domain=text("domain"))
    else:
        if values["domain"]:
            taken = Account.select().where(Account.domain == values["domain"])
            if account is not None:
                taken = taken.where(Account.id != account.id)
            other = taken.first()
            if other is not None:
                errors["domain"] = _("The domain %(domain)s is already the account %(name)s’s.",
                                     domain=values["domain"], name=other.name)
    values["size_band"] = text("size_band").lower()
    if values["size_band"] and values["size_band"] not in SIZE_BANDS:
        errors["size_band"] = _("Choose a size band: TPE, PME, ETI or GE.")
    try:
        values["revenue"] = _revenue(text("revenue"))
    except ValueError:
        errors["revenue"] = _("The revenue must be a whole number of euros, e.g. 1500000.")
    values["industry"] = text("industry")[:200]
    values["status"] = text("status").lower() or "prospect"
    if values["status"] not in STATUSES:
        errors["status"] = _("Choose a status: prospect, customer or former.")
    try:
        values["owner_id"] = _owner_id(text("owner_id"))
    except ValueError:
        errors["owner_id"] = _("No active user %(owner)s.", owner=text("owner_id"))
    getlist = getattr(form, "getlist", None)
    values["custom"], custom_errors = fields.parse_field_values(form, getlist, field_prefix)
    errors.update({fields.PREFIX + key: message for key, message in custom_errors.items()})
    if errors:
        raise AccountError(errors)
    return values


def create_account(values: dict) -> Account:
    """A new account from cleaned values; links the contacts already at its domain."""
    now = utcnow()
    values = dict(values)
    custom = values.pop("custom", None) or {}
    with write_transaction(Account._meta.database):
        if values.get("owner_id") is None:
            values["owner_id"] = owners.round_robin_owner()
        account = Account.create(**values, created_at=now, updated_at=now)
        fields.store_values(account.id, custom)
        linking.link_existing_contacts(account)
    return account


def update_account(account: Account, values: dict, source: str = "admin") -> dict:
    """Save cleaned values; record on each contact a status change
    (``account_status_changed``) or another change (``account_updated``).
    A new domain moves the automatic links: contacts of the former domain
    leave, those of the new one join.
    Custom fields changed are named by their key.
    Returns the changes, ``{field: (old, new)}``."""
    values = dict(values)
    custom = values.pop("custom", None) or {}
    changes = {key: (getattr(account, key), value) for key, value in values.items()
               if getattr(account, key) != value}
    with write_transaction(Account._meta.database):
        changes.update({key: tuple(pair) for key, pair in fields.store_values(account.id, custom).items()})
        if not changes:
            return {}
        Account.update(**values, updated_at=utcnow()).where(Account.id == account.id).execute()
        contact_ids = [row.contact_id for row in linking.contact_ids_of(account)]
        data = {"account_id": account.id, "account_name": values.get("name", account.name)}
        rows = []
        if "status" in changes:
            old, new = changes["status"]
            rows += [{"contact": cid, "kind": STATUS_CHANGED, "data": {**data, "old_status": old, "status": new},
                      "source": source} for cid in contact_ids]
        others = {key: [_plain(old), _plain(new)] for key, (old, new) in changes.items() if key != "status"}
        if others:
            rows += [{"contact": cid, "kind": UPDATED, "data": {**data, "changes": others}, "source": source}
                     for cid in contact_ids]
        emit_many(rows)
        if "domain" in changes or "owner_id" in changes:
            account = Account.get_by_id(account.id)
        if "domain" in changes:
            linking.drop_stale_domain_links(account)
            linking.link_existing_contacts(account)
        if "owner_id" in changes:
            owners.on_owner_set(account)
    return changes


def _plain(value):
    return value if value is None or isinstance(value, (int, str)) else str(value)


def delete_account(account: Account) -> int:
    """Delete an account; its contacts stay, unlinked (an event each). Returns their number."""
    with write_transaction(Account._meta.database):
        contact_ids = [row.contact_id for row in linking.contact_ids_of(account)]
        AccountContact.delete().where(AccountContact.account == account.id).execute()
        emit_many([{"contact": cid, "kind": UNLINKED, "data": {"account_id": account.id, "account_name": account.name},
                    "source": "admin"} for cid in contact_ids])
        account.delete_instance()
    return len(contact_ids)
