"""Choosing a contact's owner: the first matching assignment rule, else the
next available rep in round robin.

Round robin is fair across any number of concurrent workers: each turn is
taken by incrementing one counter row *inside* the transaction that sets the
owner (``BEGIN IMMEDIATE`` on SQLite, a row lock on PostgreSQL), so two
workers can never read the same counter value, and a turn whose assignment
is rolled back (the contact got an owner meanwhile) is given back.

Only contacts without an owner are assigned by rules or round robin; the
``user`` mode sets the given user whatever the current owner. Each
assignment emits an ``owner_assigned`` event. A contact that cannot be
assigned (no rule matched and no rep is available) is left without owner and
reported, never an exception.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from core import ROLES, Contact, User, batch_memo, emit, enqueue, get_setting, state, utcnow, write_transaction

from . import rules as rules_mod
from .models import AssignmentRule, RoundRobinCounter

log = logging.getLogger("couvee.owners")

SETTINGS_GROUP = "owners"
COUNTER = "round_robin"
MODES = ("rules", "round_robin", "user")
LAST_RUN_KEY = "couvee:owners:last_run"
LAST_UNASSIGNED_KEY = "couvee:owners:last_unassigned"
BATCH = 500


@dataclass
class Assignment:
    """What :func:`assign_owner` did for one contact."""

    contact_id: int
    owner: User | None = None
    #: "rule", "round robin" or "user" when an owner was set
    how: str = ""
    rule: AssignmentRule | None = None
    #: the contact already had an owner (or already had this one): nothing done
    already_owned: bool = False
    #: why no owner could be set
    problem: str = ""
    #: the round-robin turn taken (1, 2, 3...), for audits
    turn: int | None = None

    @property
    def assigned(self) -> bool:
        return self.owner is not None

    @property
    def reason(self) -> str:
        """The ``rule`` of the ``owner_assigned`` event."""
        if self.how == "rule" and self.rule is not None:
            return self.rule.describe()
        return {"round robin": "round robin", "user": "chosen user"}.get(self.how, "")

    def summary(self) -> str:
        """One line for logs, job results and workflow run histories."""
        if self.assigned:
            return f"contact {self.contact_id} assigned to {self.owner.email} ({self.reason})"
        if self.already_owned:
            return f"contact {self.contact_id} already has an owner"
        return f"contact {self.contact_id} left without owner: {self.problem}"


# --- reps and the round-robin counter --------------------------------------------


def rep_roles() -> list[str]:
    """Roles whose users take part in round robin (setting ``owners.rep_roles``)."""
    raw = get_setting(SETTINGS_GROUP, "rep_roles") or ""
    return [role for role in (part.strip() for part in raw.split(",")) if role in ROLES]


def pool() -> list[User]:
    """Active users of the round-robin roles, available or not, by id."""
    return list(
        User.select()
        .where(User.role.in_(rep_roles() or ["sales"]) & (User.is_active == True))  # noqa: E712
        .order_by(User.id)
    )


def available_reps() -> list[User]:
    """The reps round robin picks from: the pool minus unavailable users."""
    return [user for user in pool() if user.is_available]


def take_turn() -> int:
    """Increment and return the round-robin counter. Call it inside
    :func:`write_transaction`: the row stays locked until the commit."""
    where = RoundRobinCounter.name == COUNTER
    if not RoundRobinCounter.update(turns=RoundRobinCounter.turns + 1).where(where).execute():
        RoundRobinCounter.insert(name=COUNTER, turns=0).on_conflict_ignore().execute()
        RoundRobinCounter.update(turns=RoundRobinCounter.turns + 1).where(where).execute()
    return RoundRobinCounter.select(RoundRobinCounter.turns).where(where).scalar()


# --- assigning ----------------------------------------------------------------------


def assign_owner(contact, mode: str = "rules", user=None, source: str = "", rules=None,
                 fallback: bool = True) -> Assignment:
    """Give ``contact`` (a Contact or its id) an owner.

    ``mode`` is ``rules`` (the first matching rule, then round robin unless
    ``fallback`` is false), ``round_robin``, or ``user`` (``user``, a User or
    an id, replaces any current owner). ``rules`` is an optional cached
    :func:`.rules.active_rules` list. Returns an
    :class:`Assignment`; a contact that already has an owner is left alone
    (except in ``user`` mode).
    """
    if mode not in MODES:
        raise ValueError(f"unknown assignment mode {mode!r}; use one of {', '.join(MODES)}")
    contact_id = contact if isinstance(contact, int) else contact.id
    fresh = Contact.get_or_none(Contact.id == contact_id)
    if fresh is None:
        return Assignment(contact_id, problem="the contact no longer exists")
    if mode == "user":
        return _assign_user(fresh, user, source)
    if fresh.owner_id is not None:
        return Assignment(contact_id, already_owned=True)
    if mode == "rules":
        rule = rules_mod.first_match(fresh, rules)
        if rule is not None:
            return _commit(fresh, Assignment(contact_id, owner=rule.owner, how="rule", rule=rule), source)
        if not fallback:
            return Assignment(contact_id, problem="no rule matched")
    reps = available_reps()
    if not reps:
        roles = " or ".join(rep_roles() or ["sales"])
        prefix = "no rule matched and " if mode == "rules" else ""
        return Assignment(contact_id, problem=f"{prefix}no rep is available for round robin "
                                              f"(active, available users with the role {roles})")
    return _commit(fresh, Assignment(contact_id, how="round robin"), source, reps=reps)


def _assign_user(contact: Contact, user, source: str) -> Assignment:
    user_id = getattr(user, "id", user)
    owner = User.get_or_none((User.id == user_id) & (User.is_active == True)) if user_id else None  # noqa: E712
    if owner is None:
        return Assignment(contact.id, problem=f"user {user_id!r} does not exist or is deactivated")
    if contact.owner_id == owner.id:
        return Assignment(contact.id, already_owned=True)
    return _commit(contact, Assignment(contact.id, owner=owner, how="user"), source, overwrite=True)


def _commit(contact: Contact, result: Assignment, source: str, reps=None, overwrite=False) -> Assignment:
    """Set the owner (taking a round-robin turn when ``reps`` is given) and emit
    ``owner_assigned``, all in one transaction."""
    with write_transaction() as transaction:
        if reps:
            result.turn = take_turn()
            result.owner = reps[(result.turn - 1) % len(reps)]
        query = Contact.update(owner=result.owner.id, updated_at=utcnow()).where(Contact.id == contact.id)
        if not overwrite:
            query = query.where(Contact.owner.is_null())
        if not query.execute():
            transaction.rollback()  # someone else assigned it: give the turn back
            return Assignment(contact.id, already_owned=True)
        data = {"owner_id": result.owner.id, "owner_email": result.owner.email, "rule": result.reason}
        if result.rule is not None:
            data["rule_id"] = result.rule.id
        if result.turn is not None:
            data["turn"] = result.turn
        emit(contact, "owner_assigned", data, source=source)
    return result


# --- reporting ------------------------------------------------------------------------


def _redis():
    return state().redis


def report_unassigned(result: Assignment) -> None:
    """Log a contact left without owner and keep it for the assignment page."""
    log.warning("%s", result.summary())
    entry = {"contact_id": result.contact_id, "problem": result.problem, "at": utcnow().isoformat()}
    _redis().set(LAST_UNASSIGNED_KEY, json.dumps(entry))


def last_unassigned() -> dict | None:
    """The last contact that could not be assigned on creation, if any."""
    raw = _redis().get(LAST_UNASSIGNED_KEY)
    return _load(raw)


def last_run() -> dict | None:
    """Status and counts of the last "apply rules" job."""
    return _load(_redis().get(LAST_RUN_KEY))


def _load(raw) -> dict | None:
    if not raw:
        return None
    entry = json.loads(raw)
    for key in ("at", "queued_at", "finished_at"):
        if entry.get(key):
            entry[key] = dt.datetime.fromisoformat(entry[key])
    return entry


# --- background work ---------------------------------------------------------------


def on_contact_created(contact) -> Assignment | None:
    """``contact_created``: assign an owner when the contact has none and the
    ``owners.assign_on_create`` setting is on; report a failure."""
    if contact.owner_id is not None or not get_setting(SETTINGS_GROUP, "assign_on_create"):
        return None
    # the rules are definitions: read once per dispatched batch (an import's contacts come in batches)
    rules = batch_memo("owners.active_rules", rules_mod.active_rules)
    result = assign_owner(contact, mode="rules", source="assignment", rules=rules)
    if not result.assigned and not result.already_owned:
        report_unassigned(result)
    return result


def queue_assign_unowned(round_robin: bool = True):
    """Queue :func:`assign_unowned_contacts` (the admin's "apply rules" button)."""
    _redis().set(LAST_RUN_KEY, json.dumps({"status": "queued", "round_robin": round_robin,
                                           "queued_at": utcnow().isoformat()}))
    return enqueue(assign_unowned_contacts, round_robin, queue="default", timeout=3600)


def assign_unowned_contacts(round_robin: bool = True) -> dict:
    """Job: apply the rules (then round robin, if asked) to every contact
    without owner, in batches. Returns and stores the counts."""
    report = {"status": "running", "round_robin": round_robin, "by_rule": 0, "by_round_robin": 0,
              "unassigned": 0, "problem": ""}
    last_id = 0
    while True:
        ids = [row.id for row in Contact.select(Contact.id)
               .where(Contact.owner.is_null() & (Contact.id > last_id)).order_by(Contact.id).limit(BATCH)]
        if not ids:
            break
        cached_rules = rules_mod.active_rules()
        for contact_id in ids:
            result = assign_owner(contact_id, rules=cached_rules, fallback=round_robin, source="assignment")
            if result.how == "rule":
                report["by_rule"] += 1
            elif result.how == "round robin":
                report["by_round_robin"] += 1
            elif not result.already_owned:
                report["unassigned"] += 1
                report["problem"] = result.problem
        last_id = ids[-1]
    report.update(status="done", finished_at=utcnow().isoformat())
    _redis().set(LAST_RUN_KEY, json.dumps(report))
    return report


# --- the workflow action ------------------------------------------------------------


def run_assign_action(contact, settings: dict, context: dict | None = None) -> str:
    """Action ``owner.assign``: ``settings["mode"]`` is ``rules`` (rules then
    round robin), ``round_robin`` or ``user`` (with ``settings["user_id"]``).

    Idempotent: rules and round robin only fill an empty owner, and giving a
    contact the owner it already has does nothing. Raises ``ValueError`` on a
    misconfigured action; returns a summary otherwise.
    """
    mode = (settings or {}).get("mode") or "rules"
    if mode not in MODES:
        raise ValueError(f"owner.assign: unknown mode {mode!r}; use one of {', '.join(MODES)}")
    user_id = None
    if mode == "user":
        try:
            user_id = int((settings or {}).get("user_id"))
        except (TypeError, ValueError):
            raise ValueError("owner.assign: mode 'user' needs the id of a user in user_id") from None
    result = assign_owner(contact, mode=mode, user=user_id, source="workflow")
    if mode == "user" and not result.assigned and not result.already_owned:
        raise ValueError(f"owner.assign: {result.problem}")
    return result.summary()
