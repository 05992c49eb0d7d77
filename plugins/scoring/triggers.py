"""Point triggers: run actions once per contact when its points reach a threshold.

- **Live**: :func:`claim_crossed` runs inside the ledger's transaction and
  inserts a unique ``(trigger, contact)`` firing for each trigger the change
  crossed (from below; a retroactive trigger also fires for a contact already
  above it who has not had it yet). After the commit the firings are queued.
- **Retroactive**: :func:`start_retroactive` queues a chain of batch jobs; each
  finds the next contacts above the threshold with one keyset query, inserts
  their firings with one ``INSERT ... SELECT`` (duplicates ignored) and queues
  one job running the actions for that batch, then records its progress.
- :func:`run_firings` (worker) emits ``points_threshold_crossed`` once and runs
  the trigger's actions from the registry, each with an idempotency key, so a
  retried job never repeats an action.
"""
from __future__ import annotations

import datetime as dt
import logging

import peewee

from core import Contact, emit, enqueue, state, utcnow, write_transaction

from .models import PointTrigger, TriggerFiring

log = logging.getLogger("couvee.scoring")

#: contacts handled per retroactive batch job
RETRO_BATCH = 1000
#: firings whose actions did not complete are queued again after this delay...
SWEEP_AFTER = dt.timedelta(minutes=5)
#: ...for at most this long
SWEEP_GIVE_UP = dt.timedelta(days=1)


class TriggerActionError(RuntimeError):
    """Some actions of some firings failed; the job is retried."""


def _database():
    return PointTrigger._meta.database


# --- live crossing ------------------------------------------------------------------


def claim_crossed(contact_id: int, old: int, new: int) -> list[int]:
    """Inside the ledger transaction: claim the triggers this change crossed.
    Returns the new firing ids."""
    candidates = list(PointTrigger.select(PointTrigger.id).where(
        PointTrigger.active & (PointTrigger.threshold <= new)
        & ((PointTrigger.threshold > old) | PointTrigger.retroactive)))
    if not candidates:
        return []
    taken = {row.trigger_id for row in TriggerFiring.select(TriggerFiring.trigger).where(
        (TriggerFiring.contact == contact_id) & TriggerFiring.trigger.in_([t.id for t in candidates]))}
    firing_ids = []
    for trigger in candidates:
        if trigger.id in taken:
            continue
        try:
            with write_transaction(_database()):  # a savepoint: a lost race only skips this trigger
                firing = TriggerFiring.create(trigger=trigger.id, contact=contact_id, total=new, created_at=utcnow())
        except peewee.IntegrityError:
            continue
        firing_ids.append(firing.id)
    return firing_ids


def after_crossing(firing_ids: list[int]) -> None:
    """After the commit: run the firings' actions in a worker."""
    if firing_ids:
        enqueue(run_firings, list(firing_ids), queue="default", retries=3)


# --- running the actions ------------------------------------------------------------


def action_key(trigger_id: int, contact_id: int, index: int) -> str:
    return f"scoring.trigger:{trigger_id}:{contact_id}:{index}"


def run_firings(firing_ids: list[int]) -> int:
    """Worker job: announce and run each firing not done yet. Raises (so RQ
    retries) when an action failed; actions that worked are not repeated."""
    failures = []
    done = 0
    firings = list(TriggerFiring.select().where(TriggerFiring.id.in_(firing_ids) & TriggerFiring.done_at.is_null())
                   .order_by(TriggerFiring.id))
    found = {f.trigger_id for f in firings}
    trigger_of = {t.id: t for t in PointTrigger.select().where(PointTrigger.id.in_(list(found)))} if found else {}
    contact_of = {c.id: c for c in Contact.select().where(Contact.id.in_([f.contact_id for f in firings]))} \
        if firings else {}
    for firing in firings:
        error = run_firing(firing, trigger_of.get(firing.trigger_id), contact_of.get(firing.contact_id))
        if error:
            failures.append(f"firing {firing.id}: {error}")
        else:
            done += 1
    if failures:
        raise TriggerActionError("; ".join(failures)[:2000])
    return done


def _announce(firing: TriggerFiring, trigger: PointTrigger, contact: Contact) -> None:
    claimed = TriggerFiring.update(announced_at=utcnow()).where(
        (TriggerFiring.id == firing.id) & TriggerFiring.announced_at.is_null()).execute()
    if claimed:
        emit(contact, "points_threshold_crossed", {
            "trigger_id": trigger.id, "threshold": trigger.threshold, "total": firing.total, "name": trigger.name,
        }, source="scoring")


def run_firing(firing: TriggerFiring, trigger: PointTrigger | None, contact: Contact | None) -> str:
    """Run one firing's actions (``trigger``/``contact`` None when deleted);
    return an error text ("" when all worked)."""
    if trigger is None or contact is None:
        TriggerFiring.update(done_at=utcnow()).where(TriggerFiring.id == firing.id).execute()
        return ""
    _announce(firing, trigger, contact)
    registry = state().registries.actions
    errors = []
    for index, step in enumerate(trigger.actions or []):
        action = registry.get(step.get("action", ""))
        if action is None:
            errors.append(f"the action “{step.get('action')}” is not available (is its plugin active?)")
            continue
        context = {"key": action_key(trigger.id, contact.id, index), "source": "trigger",
                   "trigger_id": trigger.id, "contact_id": contact.id}
        try:
            action.run(contact, dict(step.get("settings") or {}), context)
        except Exception as error:  # one action failing must not stop the others
            log.exception("trigger %s: action %s failed for contact %s", trigger.id, action.id, contact.id)
            errors.append(f"{action.label}: {error}")
    message = "; ".join(errors)
    TriggerFiring.update(done_at=None if errors else utcnow(), error=message[:2000]).where(
        TriggerFiring.id == firing.id).execute()
    return message


def sweep_firings(limit: int = 5000) -> int:
    """Periodic job: queue again the firings whose actions never completed
    (job lost, Redis restarted, action failing for a while)."""
    now = utcnow()
    ids = [row.id for row in TriggerFiring.select(TriggerFiring.id).where(
        TriggerFiring.done_at.is_null() & (TriggerFiring.created_at < now - SWEEP_AFTER)
        & (TriggerFiring.created_at > now - SWEEP_GIVE_UP)).order_by(TriggerFiring.id).limit(limit)]
    for start in range(0, len(ids), 500):
        enqueue(run_firings, ids[start:start + 500], queue="default")
    return len(ids)


# --- retroactive application -----------------------------------------------------------


def above_threshold(trigger: PointTrigger):
    return Contact.select(Contact.id).where(Contact.points >= trigger.threshold)


def start_retroactive(trigger: PointTrigger, batch_size: int | None = None) -> None:
    """Queue the retroactive application of ``trigger`` (a chain of batch jobs)."""
    total = above_threshold(trigger).count()
    PointTrigger.update(retro_status="queued", retro_total=total, retro_done=0, retro_batches=0,
                        retro_error="").where(PointTrigger.id == trigger.id).execute()
    enqueue(apply_retroactive_batch, trigger.id, 0, batch_size or RETRO_BATCH, queue="low")


def apply_retroactive_batch(trigger_id: int, after_id: int, batch_size: int) -> int:
    """Worker job: claim the next ``batch_size`` contacts (by id) above the
    threshold, queue their actions, record progress, queue the next batch."""
    trigger = PointTrigger.get_or_none(PointTrigger.id == trigger_id)
    if trigger is None:
        return 0
    if not (trigger.active and trigger.retroactive):
        PointTrigger.update(retro_status="").where(PointTrigger.id == trigger_id).execute()
        return 0
    ids = [row.id for row in above_threshold(trigger).where(Contact.id > after_id)
           .order_by(Contact.id).limit(batch_size)]
    if not ids:
        PointTrigger.update(retro_status="done").where(PointTrigger.id == trigger_id).execute()
        return 0
    now = TriggerFiring.created_at.db_value(utcnow())
    with write_transaction(_database()):
        source = Contact.select(peewee.Value(trigger_id), Contact.id, Contact.points, peewee.Value(now),
                                peewee.Value("")).where(Contact.id.in_(ids) & (Contact.points >= trigger.threshold))
        TriggerFiring.insert_from(source, fields=[TriggerFiring.trigger, TriggerFiring.contact, TriggerFiring.total,
                                                  TriggerFiring.created_at, TriggerFiring.error]
                                  ).on_conflict_ignore().execute()
        new = [row.id for row in TriggerFiring.select(TriggerFiring.id).where(
            (TriggerFiring.trigger == trigger_id) & TriggerFiring.contact.in_(ids)
            & TriggerFiring.announced_at.is_null() & TriggerFiring.done_at.is_null())]
        PointTrigger.update(
            retro_status="running", retro_done=PointTrigger.retro_done + len(ids),
            retro_batches=PointTrigger.retro_batches + 1,
        ).where(PointTrigger.id == trigger_id).execute()
    if new:
        enqueue(run_firings, new, queue="default", retries=3)
    enqueue(apply_retroactive_batch, trigger_id, ids[-1], batch_size, queue="low")
    return len(ids)


def progress(trigger: PointTrigger) -> int:
    """Percent of the retroactive application done."""
    if trigger.retro_status == "done" or not trigger.retro_total:
        return 100 if trigger.retro_status == "done" else 0
    return min(100, trigger.retro_done * 100 // trigger.retro_total)


def stats(trigger_ids: list[int]) -> dict[int, dict]:
    """Per trigger: firings, done, failing."""
    rows = (TriggerFiring.select(TriggerFiring.trigger, peewee.fn.COUNT(TriggerFiring.id).alias("n"),
                                 peewee.fn.COUNT(TriggerFiring.done_at).alias("done"))
            .where(TriggerFiring.trigger.in_(trigger_ids)).group_by(TriggerFiring.trigger))
    found = {row.trigger_id: {"fired": row.n, "done": row.done} for row in rows}
    failing = (TriggerFiring.select(TriggerFiring.trigger, peewee.fn.COUNT(TriggerFiring.id).alias("n"))
               .where(TriggerFiring.trigger.in_(trigger_ids) & (TriggerFiring.error != ""))
               .group_by(TriggerFiring.trigger))
    for row in failing:
        found.setdefault(row.trigger_id, {"fired": 0, "done": 0})["failing"] = row.n
    return found
