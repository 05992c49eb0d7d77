"""Account conditions for dynamic segments: "account status is", "account
size band is", "account revenue ≥". Each compiles to a condition on
``Contact.id`` through the link table, and names the event kinds that can
change its result (a link, an unlink, a change of the account)."""
from __future__ import annotations

from core import Contact, SegmentFilter, Setting, translation_domain

from .kinds import LINKED, STATUS_CHANGED, UNLINKED, UPDATED
from .models import SIZE_BANDS, STATUSES, Account, AccountContact

_, _l = translation_domain(__name__).pair()


class AccountFilterError(ValueError):
    """A filter's parameters are wrong (shown to whoever builds the segment)."""


def _contacts_of_accounts(condition):
    return Contact.id.in_(AccountContact.select(AccountContact.contact).join(Account).where(condition))


def compile_status(params: dict):
    status = str(params.get("value") or "").strip().lower()
    if status not in STATUSES:
        raise AccountFilterError(_("Choose an account status: prospect, customer or former."))
    return _contacts_of_accounts(Account.status == status)


def compile_size_band(params: dict):
    band = str(params.get("value") or "").strip().lower()
    if band not in SIZE_BANDS:
        raise AccountFilterError(_("Choose a size band: TPE, PME, ETI or GE."))
    return _contacts_of_accounts(Account.size_band == band)


def compile_revenue(params: dict):
    try:
        minimum = int(str(params.get("value")).replace(" ", ""))
    except (TypeError, ValueError):
        raise AccountFilterError(_("The minimum revenue must be a whole number of euros.")) from None
    return _contacts_of_accounts(Account.revenue >= minimum)


def account_filters() -> list[SegmentFilter]:
    return [
        SegmentFilter("account_status", _l("Account status is"), compile_status,
                      [Setting("value", _l("Status"), kind="choice", required=True, choices=list(STATUSES.items()))],
                      changed_by=(LINKED, UNLINKED, STATUS_CHANGED)),
        SegmentFilter("account_size_band", _l("Account size band is"), compile_size_band,
                      [Setting("value", _l("Size band"), kind="choice", required=True,
                               choices=list(SIZE_BANDS.items()))],
                      changed_by=(LINKED, UNLINKED, UPDATED)),
        SegmentFilter("account_revenue_at_least", _l("Account revenue ≥"), compile_revenue,
                      [Setting("value", _l("Revenue in euros"), kind="int", required=True)],
                      changed_by=(LINKED, UNLINKED, UPDATED)),
    ]
