"""Tables of the accounts plugin: the accounts (companies) and the link of a
contact to its account (at most one per contact), kept here rather than as a
column of core's contacts."""
from __future__ import annotations

import peewee

from core import (
    BaseModel, Contact, JSONField, User, UTCDateTimeField, text_contains, text_starts_with, translation_domain,
    utcnow,
)

_l = translation_domain(__name__).lazy_gettext

#: French size bands by headcount (INSEE categories), code -> label
SIZE_BANDS = {
    "tpe": _l("TPE (fewer than 10 employees)"),
    "pme": _l("PME (10 to 249 employees)"),
    "eti": _l("ETI (250 to 4,999 employees)"),
    "ge": _l("GE (5,000 employees or more)"),
}

#: account statuses, code -> label
STATUSES = {
    "prospect": _l("Prospect"),
    "customer": _l("Customer"),
    "former": _l("Former customer"),
}

class Account(BaseModel):
    """A company. ``domain`` (``acme.fr``, lower case, without ``www.``) links
    the contacts whose address ends with ``@acme.fr``; two accounts never
    share a domain."""

    name = peewee.CharField()
    domain = peewee.CharField(null=True, unique=True)
    size_band = peewee.CharField(default="")
    #: yearly revenue in euros
    revenue = peewee.BigIntegerField(null=True)
    industry = peewee.CharField(default="")
    status = peewee.CharField(default="prospect", index=True)
    owner = peewee.ForeignKeyField(User, null=True, backref="accounts", on_delete="SET NULL")
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)
    #: the latest interaction of any of its contacts
    last_interaction_at = UTCDateTimeField(null=True)
    #: the combined score when last computed (to tell a threshold crossed; None: never computed)
    last_score = peewee.BigIntegerField(null=True)

    class Meta:
        table_name = "accounts_account"

    @property
    def size_label(self) -> str:
        return str(SIZE_BANDS.get(self.size_band, "")) if self.size_band else ""

    @property
    def revenue_text(self) -> str:
        """``1 500 000`` (thousands apart by a narrow no-break space, as in French)."""
        return "" if self.revenue is None else f"{self.revenue:,}".replace(",", "\u202f")

    @property
    def status_label(self) -> str:
        return str(STATUSES.get(self.status, self.status))


class AccountContact(BaseModel):
    """The account a contact belongs to (the contact is the key: one account at most)."""

    contact = peewee.ForeignKeyField(Contact, primary_key=True, on_delete="CASCADE")
    account = peewee.ForeignKeyField(Account, backref="links", on_delete="CASCADE", index=True)
    #: ``domain`` (automatic, follows the address) or ``manual`` (kept until changed by hand)
    source = peewee.CharField(default="domain")
    linked_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "accounts_contact"


class AccountField(BaseModel):
    """A custom field of accounts, of one of the contact field types
    (``core.field_types()``: text, yes/no, select, multiple select, date, and
    the plugins' types). ``key`` names its CSV column and its form input."""

    key = peewee.CharField(unique=True)
    label = peewee.CharField()
    type_id = peewee.CharField()
    #: choices of the select types
    options = JSONField(default=list)
    position = peewee.IntegerField(default=0)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "accounts_field"


class AccountValue(BaseModel):
    """One stored value of an account field, as text (multi-valued fields: one row each)."""

    account = peewee.ForeignKeyField(Account, backref="values", on_delete="CASCADE")
    field = peewee.ForeignKeyField(AccountField, backref="values", on_delete="CASCADE")
    value = peewee.TextField()

    class Meta:
        table_name = "accounts_value"
        primary_key = peewee.CompositeKey("account", "field", "value")
        indexes = ((("field", "value"), False),)


class Counter(BaseModel):
    """A named counter (the round robin of new accounts' owners), incremented
    inside the transaction that uses the value."""

    name = peewee.CharField(primary_key=True)
    value = peewee.BigIntegerField(default=0)

    class Meta:
        table_name = "accounts_counter"


ACCOUNTS_MODELS = [Account, AccountContact]
#: tables added by migration 2
FIELD_MODELS = [AccountField, AccountValue]
#: tables added by migration 4
COUNTER_MODELS = [Counter]


def name_or_domain(text: str, starting: bool = False):
    """Accounts whose name or domain contains (or ``starting``: starts with)
    ``text``, typed characters taken literally (the list's search, the API's
    ``q``, the contact page's account picker)."""
    match = text_starts_with if starting else text_contains
    return match(Account.name, text) | match(Account.domain, text.lower())
