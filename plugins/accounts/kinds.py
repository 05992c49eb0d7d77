"""The event kinds of the accounts plugin. Events belong to contacts, so an
account's change is recorded on each of its contacts (a workflow or a dynamic
segment then follows it contact by contact)."""
from __future__ import annotations

from core import EventKind, translation_domain

from .models import STATUSES

_, _l = translation_domain(__name__).pair()

LINKED = "account_linked"
UNLINKED = "account_unlinked"
STATUS_CHANGED = "account_status_changed"
UPDATED = "account_updated"
SCORE_CROSSED = "account_score_crossed"


def _status(code) -> str:
    return str(STATUSES.get(code, code or "—"))


def link_details(data: dict) -> list[tuple[str, str]]:
    return [(_("Account"), str(data.get("account_name") or data.get("account_id") or ""))]


def status_details(data: dict) -> list[tuple[str, str]]:
    return [(_("Account"), str(data.get("account_name") or "")),
            (_("Status"), f"{_status(data.get('old_status'))} → {_status(data.get('status'))}")]


def score_details(data: dict) -> list[tuple[str, str]]:
    return [(_("Account"), str(data.get("account_name") or "")), (_("Threshold"), str(data.get("threshold", ""))),
            (_("Score"), f"{data.get('previous_score', '')} → {data.get('score', '')}")]


def accounts_event_kinds() -> list[EventKind]:
    account = {"account_id": _l("the account’s id"), "account_name": _l("the account’s name")}
    return [
        EventKind(LINKED, _l("Linked to an account"), verb=_l("be linked to an account"),
                  past=_l("was linked to an account"), negative_past=_l("was not linked to an account"),
                  properties={**account, "via": _l("email domain or by hand")}, details=link_details),
        EventKind(UNLINKED, _l("Unlinked from an account"), verb=_l("be unlinked from an account"),
                  past=_l("was unlinked from an account"), negative_past=_l("was not unlinked from an account"),
                  properties=dict(account), details=link_details),
        EventKind(STATUS_CHANGED, _l("Account status changed"), verb=_l("have their account’s status change"),
                  past=_l("had their account’s status change"),
                  negative_past=_l("did not have their account’s status change"),
                  properties={**account, "old_status": _l("the former status"), "status": _l("the new status")},
                  details=status_details),
        EventKind(UPDATED, _l("Account updated"), verb=_l("have their account updated"),
                  past=_l("had their account updated"), negative_past=_l("did not have their account updated"),
                  properties={**account, "changes": _l("the changed account fields")}, details=link_details),
        EventKind(SCORE_CROSSED, _l("Account score crossed a threshold"),
                  verb=_l("have their account’s score cross a threshold"),
                  past=_l("had their account’s score cross a threshold"),
                  negative_past=_l("did not have their account’s score cross a threshold"),
                  properties={**account, "threshold": _l("the threshold crossed"), "score": _l("the new combined score"),
                              "previous_score": _l("the combined score before")},
                  details=score_details),
    ]
