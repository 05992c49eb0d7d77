"""Accounts as a record type the Koban sync can push to and pull from
Koban's accounts (``ncThird``), through the ``crm_sync_record_types`` hook
that the ``crm_koban_sync`` plugin declares (see docs/crm_koban.md). The
sync keeps the Koban ids; this module only reads and writes accounts."""
from __future__ import annotations

import datetime as dt

from core import translation_domain

from .editing import clean_account, create_account, update_account
from .linking import normalize_domain
from .models import Account, AccountContact

_l = translation_domain(__name__).lazy_gettext


def changed_since(since: dt.datetime | None) -> list[int]:
    query = Account.select(Account.id)
    if since is not None:
        query = query.where(Account.updated_at >= since)
    return [row.id for row in query.order_by(Account.id)]


def read(ids: list[int]) -> dict[int, dict]:
    return {account.id: {"name": account.name, "domain": account.domain or "", "status": account.status,
                         "updated_at": account.updated_at}
            for account in Account.select().where(Account.id.in_(list(ids) or [0]))}


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
    form = {**(_form_of(account) if account else {}), **{k: v for k, v in values.items() if v is not None}}
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
             "find": find, "write": write, "record_of_contacts": record_of_contacts}]
