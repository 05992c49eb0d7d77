"""Data-subject rights: a contact's export names its account; erasure removes
the link (the account, a company record, stays)."""
from __future__ import annotations

from .models import Account, AccountContact


def export_rows(contact) -> dict | None:
    link = (AccountContact.select(AccountContact, Account).join(Account)
            .where(AccountContact.contact == contact.id).first())
    if link is None:
        return None
    account = link.account
    return {"Account": [{"account_id": account.id, "name": account.name, "domain": account.domain or "",
                         "status": account.status, "linked": link.source, "linked_at": link.linked_at.isoformat()}]}


def erase(contact, mode: str) -> None:
    AccountContact.delete().where(AccountContact.contact == contact.id).execute()
