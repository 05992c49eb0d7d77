"""Accounts as a record type the Koban sync can push to and pull from
Koban's accounts (``ncThird``), through the ``crm_sync_record_types`` hook
that the ``crm_koban_sync`` plugin declares (see docs/crm_koban.md). The
sync keeps the Koban ids; this module only reads and writes accounts."""
from __future__ import annotations

import datetime as dt

from core import field_types, translation_domain

from . import fields as custom_fields
from .editing import _revenue, clean_account, create_account, update_account
from .linking import normalize_domain
from .models import SIZE_BANDS, Account, AccountContact

_, _l = translation_domain(__name__).pair()


def changed_since(since: dt.datetime | None) -> list[int]:
    query = Account.select(Account.id)
    if since is not None:
        query = query.where(Account.updated_at >= since)
    return [row.id for row in query.order_by(Account.id)]


def read(ids: list[int]) -> dict[int, dict]:
    accounts = list(Account.select().where(Account.id.in_(list(ids) or [0])))
    custom = custom_fields.values_of_many([account.id for account in accounts])
    return {account.id: {**custom.get(account.id, {}), "name": account.name, "domain": account.domain or "",
                         "size_band": account.size_band, "revenue": account.revenue, "industry": account.industry,
                         "status": account.status, "updated_at": account.updated_at}
            for account in accounts}


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _domain(value) -> str:
    text = _text(value).lower()
    text = text.split("://", 1)[-1].split("/")[0]
    return text.removeprefix("www.")


def _size_band(value) -> str:
    text = _text(value).lower()
    code = text.split(" ")[0].strip("()")
    if text and code not in SIZE_BANDS:
        raise ValueError(_("Choose a size band: TPE, PME, ETI or GE."))
    return code if text else ""


def _revenue_of(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        revenue = _revenue(_text(value))
    except ValueError:
        raise ValueError(_("The revenue must be a whole number of euros, e.g. 1500000.")) from None
    return "" if revenue is None else str(revenue)


def _custom(field):
    def canonical(value) -> str:
        field_type = field_types().get(field.type_id)
        if isinstance(value, list):
            value = [str(v) for v in value]
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        if field_type is None:
            return _text(value)
        parsed = field_type.parse(value if value not in (None, "", []) else None, field)
        if isinstance(parsed, list):
            return ", ".join(sorted(str(v) for v in parsed))
        return "" if parsed is None else str(parsed)
    return canonical


def sync_fields() -> list[dict]:
    """The fields the Koban sync may map: ``key``, ``label`` and ``canonical``
    (a value from either side -> the comparable text; ``ValueError`` when an
    account cannot hold it)."""
    native = [{"key": "name", "label": _l("Name"), "canonical": lambda v: _text(v)[:200]},
              {"key": "domain", "label": _l("Domain"), "canonical": _domain},
              {"key": "size_band", "label": _l("Size band"), "canonical": _size_band},
              {"key": "revenue", "label": _l("Revenue"), "canonical": _revenue_of},
              {"key": "industry", "label": _l("Industry"), "canonical": lambda v: _text(v)[:200]}]
    return native + [{"key": field.key, "label": field.label, "canonical": _custom(field)}
                     for field in custom_fields.account_fields()]


def find(domain: str) -> int | None:
    try:
        domain = normalize_domain(domain)
    except ValueError:
        return None
    account = Account.get_or_none(Account.domain == domain) if domain else None
    return account.id if account else None


def _form_of(account: Account) -> dict:
    return {"name": account.name, "domain": account.domain or "", "size_band": account.size_band,
            "revenue": "" if account.revenue is None else str(account.revenue), "industry": account.industry,
            "status": account.status, "owner_id": "" if account.owner_id is None else str(account.owner_id)}


def write(record_id: int | None, values: dict, source: str) -> int:
    """Create or update an account with the form's checks (``AccountError``, a ValueError, when refused)."""
    account = Account.get_or_none(Account.id == record_id) if record_id is not None else None
    if record_id is not None and account is None:
        raise ValueError(f"account #{record_id} no longer exists")
    native = {"name", "domain", "size_band", "revenue", "industry", "status"}
    given = {(k if k in native else custom_fields.PREFIX + k): v for k, v in values.items() if v is not None}
    form = {**(_form_of(account) if account else {}), **given}
    cleaned = clean_account(form, account)
    if account is None:
        return create_account(cleaned).id
    update_account(account, cleaned, source=source)
    return account.id


def record_of_contacts(contact_ids: list[int]) -> dict[int, int]:
    return {row.contact_id: row.account_id for row in
            AccountContact.select().where(AccountContact.contact.in_(list(contact_ids) or [0]))}


def record_types() -> list[dict]:
    return [{"type": "account", "label": _l("Accounts"), "changed_since": changed_since, "read": read,
             "find": find, "write": write, "record_of_contacts": record_of_contacts, "fields": sync_fields}]
