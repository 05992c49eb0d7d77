"""Which account a contact belongs to.

Automatic links follow the contact's email domain (``ada@acme.fr`` goes to
the account whose domain is ``acme.fr``), except for the free-mail domains of
the setting (a gmail.com address says nothing about the employer). A link
made by hand is kept until changed by hand; an automatic link follows the
address when it changes. Every change is an event on the contact
(``account_linked`` / ``account_unlinked``).

When an account gets a domain, its existing contacts are linked with one
``INSERT ... SELECT`` and one multi-row event insert, not one query per contact.
"""
from __future__ import annotations

import re

from core import (
    Contact, batch_memo, db_value, emit, emit_many, get_setting, insert_rows, select_in, text_ends_with, utcnow,
    write_transaction,
)

from .kinds import LINKED, UNLINKED
from .models import Account, AccountContact, name_or_domain
from .crossing import check_score
from .owners import on_linked
from .score import refresh_last_interaction, score_mode

#: the default free-mail domains: no automatic link for these addresses
FREE_MAIL_DEFAULT = "\n".join((
    "gmail.com", "googlemail.com", "yahoo.fr", "yahoo.com", "hotmail.fr", "hotmail.com", "live.fr", "live.com",
    "msn.com", "outlook.fr", "outlook.com", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "neuf.fr",
    "laposte.net", "bbox.fr", "aliceadsl.fr", "club-internet.fr", "numericable.fr", "icloud.com", "me.com",
    "mac.com", "aol.com", "gmx.fr", "gmx.com", "protonmail.com", "proton.me", "mail.com", "yandex.com",
))

DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_domain(text: str | None) -> str:
    """``" https://www.Acme.fr/ "`` -> ``"acme.fr"``; ``""`` for nothing. Raises
    ``ValueError`` when what is left is not a domain name."""
    value = (text or "").strip().lower()
    value = re.sub(r"^[a-z]+://", "", value).split("/")[0].removeprefix("www.").lstrip("@")
    if not value:
        return ""
    if not DOMAIN.match(value):
        raise ValueError(value)
    return value


def email_domain(email: str | None) -> str:
    return (email or "").rpartition("@")[2].strip().lower()


def parse_domains(text: str | None) -> set[str]:
    """The free-mail setting: one domain per line (commas and spaces work too)."""
    return {part.lower().lstrip("@") for part in re.split(r"[\s,;]+", text or "") if part}


def free_mail_domains() -> set[str]:
    return batch_memo("accounts.free_mail", lambda: parse_domains(get_setting("accounts", "free_mail_domains")))


def link_of(contact_id: int) -> AccountContact | None:
    return AccountContact.get_or_none(AccountContact.contact == contact_id)


def account_of(contact_id: int) -> Account | None:
    link = (AccountContact.select(AccountContact, Account).join(Account)
            .where(AccountContact.contact == contact_id).first())
    return link.account if link else None


def account_for_email(email: str | None) -> Account | None:
    """The account an address links to automatically, or None (free mail, no account).

    While a batch of events is dispatched, which account id (or none) a domain
    has is looked up once for the batch (an import's contacts share a few
    domains, most of them without account); an account saved meanwhile links
    its contacts itself (:func:`link_existing_contacts`). A matching account
    is read afresh, and dropped if its domain changed meanwhile."""
    domain = email_domain(email)
    if not domain or domain in free_mail_domains():
        return None
    ids = batch_memo("accounts.id_by_domain", dict)
    if domain not in ids:
        # core's plain SELECT: no peewee query to compile for every domain
        rows = select_in(Account, ["id"], {"domain": [domain]})
        ids[domain] = rows[0][0] if rows else None
    if ids[domain] is None:
        return None
    account = Account.get_or_none(Account.id == ids[domain])
    return account if account is not None and account.domain == domain else None


def _event_data(account: Account, **extra) -> dict:
    return {"account_id": account.id, "account_name": account.name, **extra}


def moves_score(contact) -> bool:
    """Whether linking or unlinking ``contact`` may move an account's combined
    score (a new contact without points does not: no aggregate is computed
    for each contact of a bulk import)."""
    return bool(getattr(contact, "points", 0)) or score_mode() == "sum_90_days"


def link(contact, account: Account, source: str = "manual") -> bool:
    """Link ``contact`` (a Contact) to ``account``, replacing its former link;
    False when it was already linked there (with the same source)."""
    with write_transaction(AccountContact._meta.database):
        current = link_of(contact.id)
        if current is not None and current.account_id == account.id:
            if current.source == source:
                return False
            AccountContact.update(source=source).where(AccountContact.contact == contact.id).execute()
            return False
        if current is not None:
            old = Account.get_by_id(current.account_id)
            current.delete_instance()
            emit(contact, UNLINKED, _event_data(old), source=source)
        AccountContact.create(contact=contact.id, account=account.id, source=source, linked_at=utcnow())
        emit(contact, LINKED, _event_data(account, via=source), source=source)
        refresh_last_interaction(account.id)
        if moves_score(contact):
            if current is not None:
                check_score(current.account_id)
            check_score(account.id)
        if on_linked(account, [contact.id]):
            contact.owner_id = account.owner_id
    return True


def unlink(contact, source: str = "manual") -> bool:
    """Take ``contact`` out of its account; False when it had none."""
    with write_transaction(AccountContact._meta.database):
        current = link_of(contact.id)
        if current is None:
            return False
        account = Account.get_by_id(current.account_id)
        current.delete_instance()
        emit(contact, UNLINKED, _event_data(account), source=source)
        if moves_score(contact):
            check_score(account.id)
    return True


def on_contact_created(contact) -> None:
    """``contact_created``: link by the email domain (one indexed lookup per
    domain and batch; the contact's link is read only when an account matches)."""
    account = account_for_email(contact.email)
    if account is not None and link_of(contact.id) is None:
        link(contact, account, source="domain")


def on_email_changed(contact) -> None:
    """``contact_updated`` with a new address: an automatic link follows it."""
    current = link_of(contact.id)
    if current is not None and current.source == "manual":
        return
    account = account_for_email(contact.email)
    if account is not None:
        link(contact, account, source="domain")
    elif current is not None:
        unlink(contact, source="domain")


def link_existing_contacts(account: Account) -> int:
    """Link to ``account`` every contact without account whose address is at
    its domain (set-based); return how many were linked."""
    if not account.domain or account.domain in free_mail_domains():
        return 0
    now = utcnow()
    with write_transaction(AccountContact._meta.database):
        linked = AccountContact.select(AccountContact.contact)
        candidates = (Contact.select(Contact.id)
                      .where(text_ends_with(Contact.email, "@" + account.domain) & Contact.id.not_in(linked)))
        ids = [row.id for row in candidates]
        if not ids:
            return 0
        when = db_value(AccountContact, "linked_at", now)
        inserted = insert_rows(AccountContact, ["contact", "account", "source", "linked_at"],
                               [(cid, account.id, "domain", when) for cid in ids], returning=("contact",),
                               ignore_conflicts=True)
        ids = [row[0] for row in inserted]
        emit_many([{"contact": cid, "kind": LINKED, "data": _event_data(account, via="domain"), "source": "domain"}
                   for cid in ids])
        refresh_last_interaction(account.id)
        check_score(account.id)
        on_linked(account, ids)
    return len(ids)


def drop_stale_domain_links(account: Account) -> int:
    """After the account's domain changed: the contacts it had by the former
    domain leave it (links made by hand stay). Set-based; returns how many."""
    stale = (AccountContact.select(AccountContact.contact).join(Contact, on=(AccountContact.contact == Contact.id))
             .where((AccountContact.account == account.id) & (AccountContact.source == "domain")))
    if account.domain:
        stale = stale.where(~text_ends_with(Contact.email, "@" + account.domain))
    with write_transaction(AccountContact._meta.database):
        ids = [row.contact_id for row in stale]
        if not ids:
            return 0
        AccountContact.delete().where(AccountContact.contact.in_(ids)).execute()
        emit_many([{"contact": cid, "kind": UNLINKED, "data": _event_data(account), "source": "domain"}
                   for cid in ids])
        check_score(account.id)
    return len(ids)


def contacts_of(account: Account):
    """The account's contacts (a query), most recently active first."""
    return (Contact.select(Contact, AccountContact.source.alias("link_source"))
            .join(AccountContact, on=(AccountContact.contact == Contact.id))
            .where(AccountContact.account == account.id)
            .order_by(Contact.last_interaction_at.desc(nulls="LAST"), Contact.id))


def contact_ids_of(account: Account):
    return AccountContact.select(AccountContact.contact).where(AccountContact.account == account.id)


def search_accounts(text: str, limit: int) -> list[Account]:
    """Accounts whose name or domain holds ``text``: names starting with it
    first, then the others, by name; at most ``limit`` (two LIMITed queries,
    whatever the number of accounts)."""
    text = (text or "").strip()[:200]
    if not text:
        return []
    starting = list(Account.select(Account.id, Account.name, Account.domain, Account.status)
                    .where(name_or_domain(text, starting=True))
                    .order_by(Account.name, Account.id).limit(limit))
    if len(starting) >= limit:
        return starting
    seen = [account.id for account in starting]
    query = (Account.select(Account.id, Account.name, Account.domain, Account.status)
             .where(name_or_domain(text)))
    if seen:
        query = query.where(Account.id.not_in(seen))
    return starting + list(query.order_by(Account.name, Account.id).limit(limit - len(starting)))
