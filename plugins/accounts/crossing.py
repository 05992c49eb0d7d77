"""The "account score crossed" trigger: an account's combined score is
remembered (``Account.last_score``) and compared with the thresholds of the
setting *Accounts › Score thresholds* whenever it may have moved: a
``points_changed`` event of one of its contacts, or a contact linked or
unlinked. Only that account's score is computed (one aggregate over its
contacts), never all accounts. Each threshold crossed upward records
``account_score_crossed`` on each contact of the account::

    check_score(account_id)   # -> [100] when the score went from 90 to 120
"""
from __future__ import annotations

import re

from core import Setting, TriggerType, emit_many, get_setting, translation_domain, write_transaction

from .kinds import SCORE_CROSSED
from .models import Account, AccountContact
from .score import combined_score

_, _l = translation_domain(__name__).pair()

THRESHOLDS_DEFAULT = "50\n100\n200"
MAX_THRESHOLDS = 20
#: tries of the compare-and-set of ``last_score`` when drains move the same account at once
ATTEMPTS = 5


def parse_thresholds(text) -> list[int]:
    """``"100, 50\\n200"`` -> ``[50, 100, 200]``; raises ``ValueError`` with a
    message for the user on anything but positive whole numbers."""
    parts = [part for part in re.split(r"[\s,;]+", str(text or "")) if part]
    values = set()
    for part in parts:
        if not part.isdigit() or int(part) <= 0:
            raise ValueError(_("“%(value)s” is not a positive whole number of points.", value=part))
        values.add(int(part))
    if len(values) > MAX_THRESHOLDS:
        raise ValueError(_("At most %(max)s thresholds.", max=MAX_THRESHOLDS))
    return sorted(values)


def clean_thresholds(text) -> str:
    """The setting's ``clean``: the thresholds, one per line, in order."""
    return "\n".join(str(value) for value in parse_thresholds(text))


def thresholds() -> list[int]:
    try:
        return parse_thresholds(get_setting("accounts", "score_thresholds"))
    except ValueError:
        return []


def threshold_choices() -> list[tuple[str, str]]:
    return [(str(value), str(value)) for value in thresholds()]


def crossed(old: int, new: int, levels: list[int]) -> list[int]:
    """The thresholds ``old`` → ``new`` crosses upward (``old < t <= new``)."""
    return [level for level in levels if old < level <= new]


def check_score(account_id: int, source: str = "score") -> list[int]:
    """Recompute the account's combined score, remember it, and record
    ``account_score_crossed`` for each threshold crossed upward since the last
    time. Returns those thresholds. ``last_score`` is updated by
    compare-and-set, so two drains never both report the same crossing."""
    for _attempt in range(ATTEMPTS):
        account = Account.get_or_none(Account.id == account_id)
        if account is None:
            return []
        new = combined_score(account)
        old = account.last_score
        if old == new:
            return []
        with write_transaction(Account._meta.database):
            query = Account.update(last_score=new).where(Account.id == account_id)
            query = query.where(Account.last_score.is_null() if old is None else Account.last_score == old)
            if not query.execute():
                continue  # another drain moved it meanwhile: read again
            levels = crossed(0 if old is None else old, new, thresholds())
            if levels:
                members = [row.contact_id for row in
                           AccountContact.select(AccountContact.contact).where(AccountContact.account == account_id)]
                emit_many([{"contact": cid, "kind": SCORE_CROSSED, "source": source,
                            "data": {"account_id": account.id, "account_name": account.name, "threshold": level,
                                     "score": new, "previous_score": old or 0}}
                           for level in levels for cid in members])
        return levels
    return []


def check_score_of_contact(contact_id: int) -> list[int]:
    """``points_changed`` of a contact: check its account's score (if any)."""
    account_id = (AccountContact.select(AccountContact.account).where(AccountContact.contact == contact_id)
                  .scalar())
    return check_score(account_id) if account_id else []


def match_threshold(event, settings: dict) -> bool:
    expected = str(settings.get("threshold") or "")
    return not expected or expected == str((event.data or {}).get("threshold"))


def score_trigger() -> TriggerType:
    return TriggerType(
        "account_score_crossed", _l("The account’s score crosses a threshold"), "behaviour",
        event_kinds=(SCORE_CROSSED,),
        description=_l("Runs for each contact of the account whose combined score rose to or above the threshold. "
                       "The thresholds are those of the setting Accounts › Score thresholds."),
        settings=[Setting("threshold", _l("Threshold (points)"), kind="choice", required=True,
                          choices_from=threshold_choices,
                          help=_l("Add thresholds in the settings: Accounts › Score thresholds."))],
        matches=match_threshold,
    )
