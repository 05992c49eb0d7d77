"""Moving runs through their steps.

``advance(run_id, token)`` is the only job: it executes the run's current
step and the ones after it until the run has to wait (a delay, a
wait-for-event, a retry) or ends. Each step goes through a *claim* — a row
of :class:`StepExecution`, unique per ``(run, step)`` and committed before
the step does anything — so a step runs at most once per run:

- a retried or duplicated job finds the claim ``done`` and only moves on;
- a claim whose worker died (its lease expired) is taken over by exactly one
  worker, which re-runs the action with the same ``context["key"]``: actions
  are idempotent per key, so the effect happens once and is never skipped;
- a failing action is retried with backoff, then the run is marked failed
  with the error shown on the workflow and contact pages.

Moves are guarded by the run's ``token`` (compare-and-set), so a stale job
(an old delay, a timeout that lost the race to the awaited event) does
nothing.

SQL per contact is kept low because workflows run for every contact of a
bulk change (docs/performance.md, "Workflow latency and throughput"): a new
claim is one ``INSERT ... RETURNING``, the contact is re-read only after an
action (the only steps that change it), a run entered from an event walks its
steps with the rows its entry already holds, and the run-log lines of one job
are written together (:func:`run_logs`) — a worker killed mid-job loses those
lines of history, never a claim or a step's effect.

On PostgreSQL the work done for one event or one job is also one transaction
(:func:`unit_of_work`): there each commit is a WAL flush, and a transaction
locks only the rows it writes. On SQLite (WAL, ``synchronous=normal``) commits
are cheap but a transaction holds the whole database's write lock, so the
statements stay autocommit and a slow action (a webhook) never makes every
other writer wait. Either way a worker killed mid-way is recovered the same:
by the claims' leases and the run recovery.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from contextlib import contextmanager

from flask import current_app, g, has_app_context

from core import Contact, SendResult, db_proxy, emit, enqueue, is_sqlite, utcnow, write_transaction
from .definition import StepMap
from .logtext import N_, log_key
from .models import RUN_ACTIVE, RunLog, StepExecution, Workflow, WorkflowRun, WorkflowVersion
from .steps import check_condition, delay_due

log = logging.getLogger("couvee.automation")

QUEUE = "default"
LEASE = dt.timedelta(minutes=10)
#: seconds before the 2nd, 3rd... attempt of a failing action
BACKOFF = (30, 120, 600, 3600)
MAX_ATTEMPTS = len(BACKOFF) + 1
MAX_STEPS_PER_JOB = 200


class StepOutcome:
    """What executing a step decided: go on (maybe into a branch), or stop here."""

    def __init__(self, move: bool, branch: str | None = None):
        self.move = move
        self.branch = branch


STOP = StepOutcome(False)


def write_log(run: WorkflowRun, kind: str, message: str, step_id: str | None = None,
              key: str | None = None) -> None:
    """A line of the run's history: written now, or with the others of the
    job when inside :func:`run_logs`. ``message`` is the English text, ``key``
    what pages translate (:func:`.logtext.log_key`)."""
    row = {"run": run.id, "workflow": run.workflow_id, "contact": run.contact_id, "step_id": step_id,
           "kind": kind, "message": message[:2000], "message_key": key, "at": utcnow()}
    pending = g.get("couvee_run_logs") if has_app_context() else None
    if pending is None:
        RunLog.insert(row).execute()
    else:
        pending.append(row)


@contextmanager
def unit_of_work():
    """The automation work for one event or one job: its run-log lines in
    one INSERT, and on PostgreSQL one transaction (see the module docstring)."""
    database = db_proxy.obj
    if is_sqlite(database) or g.get("couvee_run_jobs_after_commit") is not None:
        with run_logs():
            yield
        return
    g.couvee_run_jobs_after_commit = []
    try:
        with write_transaction(database), run_logs():
            yield
        queued = g.couvee_run_jobs_after_commit
    finally:
        g.couvee_run_jobs_after_commit = None
    for run_id, token in queued:  # only now can another worker see the moves they continue
        enqueue(advance, run_id, token, queue=QUEUE)


@contextmanager
def run_logs():
    """Collect the run-log lines written inside and insert them in one
    statement at the end (also when an error escapes). Nested uses share the
    outermost collection."""
    if g.get("couvee_run_logs") is not None:
        yield
        return
    g.couvee_run_logs = []
    try:
        yield
    finally:
        rows, g.couvee_run_logs = g.couvee_run_logs, None
        if rows:
            RunLog.insert_many(rows).execute()


def definition_of(run: WorkflowRun) -> dict:
    version = WorkflowVersion.get((WorkflowVersion.workflow == run.workflow_id)
                                  & (WorkflowVersion.number == run.version))
    return version.definition


def schedule(run: WorkflowRun, at: dt.datetime | None = None):
    """Queue the advance of ``run`` (now, or at ``at``) for its current token."""
    if at is not None and at > utcnow():
        return enqueue(advance, run.id, run.token, queue=QUEUE, at=at,
                       job_id=f"automation-run-{run.id}-{run.token}")
    after_commit = g.get("couvee_run_jobs_after_commit") if has_app_context() else None
    if after_commit is not None:  # inside unit_of_work's transaction: queue it once committed
        after_commit.append((run.id, run.token))
        return None
    return enqueue(advance, run.id, run.token, queue=QUEUE)


def _set_run(run: WorkflowRun, **changes) -> bool:
    """Compare-and-set on the token: False when another worker moved the run."""
    changes.setdefault("updated_at", utcnow())
    done = WorkflowRun.update(token=WorkflowRun.token + 1, **changes).where(
        (WorkflowRun.id == run.id) & (WorkflowRun.token == run.token)).execute()
    if done:
        for key, value in changes.items():
            setattr(run, key, value)
        run.token += 1
    return bool(done)


# --- claims --------------------------------------------------------------------------


def claim(run: WorkflowRun, step_id: str) -> tuple[StepExecution, str]:
    """Take the step for this attempt. Returns the execution row and
    ``new`` (ours to execute), ``waiting``, ``done``, ``failed`` or ``busy``
    (another live worker holds it)."""
    now = utcnow()
    me = secrets.token_hex(8)
    fresh = dict(run=run.id, workflow=run.workflow_id, step_id=step_id, status="claimed", attempts=1,
                 lease_until=now + LEASE, claimed_by=me, started_at=now)
    inserted = list(StepExecution.insert(**fresh).on_conflict_ignore().returning(StepExecution.id).execute())
    if inserted:  # the usual case: one statement, the row is what we just wrote
        return StepExecution(id=inserted[0].id, outcome="", error="", **fresh), "new"
    execution = StepExecution.get((StepExecution.run == run.id) & (StepExecution.step_id == step_id))
    if execution.claimed_by == me:
        return execution, "new"
    if execution.status in ("waiting", "done", "failed"):
        return execution, execution.status
    free = execution.status == "retry" or execution.lease_until is None or execution.lease_until <= now
    if free:
        taken = StepExecution.update(status="claimed", attempts=StepExecution.attempts + 1, claimed_by=me,
                                     lease_until=now + LEASE).where(
            (StepExecution.id == execution.id) & (StepExecution.claimed_by == execution.claimed_by)
            & (StepExecution.status == execution.status)).execute()
        if taken:
            return StepExecution.get_by_id(execution.id), "new"
    return execution, "busy"


def finish(execution: StepExecution, outcome: str = "", status: str = "done", error: str = "") -> bool:
    """Close a claim (only from the state we saw): False if someone else did."""
    return bool(StepExecution.update(status=status, outcome=outcome, error=error, finished_at=utcnow(),
                                     lease_until=None).where(
        (StepExecution.id == execution.id) & (StepExecution.status == execution.status)
        & (StepExecution.claimed_by == execution.claimed_by)).execute())


# --- the job -------------------------------------------------------------------------


def advance(run_id: int, token: int | None = None) -> str:
    """Job: execute the run's steps from where it is until it waits or ends."""
    run = WorkflowRun.get_or_none(WorkflowRun.id == run_id)
    if run is None or run.status not in RUN_ACTIVE:
        return "not active"
    if token is not None and run.token != token:
        return "stale"
    workflow = Workflow.get_by_id(run.workflow_id)
    if workflow.status != "active":
        return "workflow paused"  # resumed by activation
    contact = Contact.get_or_none(Contact.id == run.contact_id)
    if contact is None:
        return "no contact"
    with unit_of_work():
        return walk(run, contact, StepMap(definition_of(run)))


def walk(run: WorkflowRun, contact: Contact, steps: StepMap) -> str:
    """Execute ``run``'s steps from its current one (the caller checked that
    the run and its workflow are active) until it waits or ends."""
    changed = False
    for _ in range(MAX_STEPS_PER_JOB):
        if run.step_id is None:
            complete(run, contact)
            return "completed"
        step = steps.steps.get(run.step_id)
        if step is None:
            fail(run, f"step {run.step_id} is not in version {run.version}")
            return "failed"
        if changed:
            contact = Contact.get_by_id(contact.id)  # the action before may have changed it
        outcome = execute(run, step, contact)
        if not outcome.move:
            return run.status
        if not _set_run(run, step_id=steps.next_after(step["id"], outcome.branch), status="running",
                        wake_at=None, waiting_for=None):
            return "moved by another worker"
        changed = step.get("type") == "action"
    schedule(run)  # a very long straight line of steps: continue in a new job
    return "continued"


def execute(run: WorkflowRun, step: dict, contact: Contact) -> StepOutcome:
    execution, state = claim(run, step["id"])
    if state == "done":
        return StepOutcome(True, execution.outcome or None)
    if state == "failed":
        fail(run, execution.error or "step failed")
        return STOP
    if state == "busy":
        schedule(run, at=execution.lease_until)  # look again when its lease ends
        return STOP
    kind = step.get("type")
    if kind == "delay":
        return _delay(run, step, contact, execution, state)
    if kind == "wait":
        return _wait(run, step, execution, state)
    if kind == "condition":
        return _condition(run, step, contact, execution)
    return _action(run, step, contact, execution)


def _delay(run, step, contact, execution, state) -> StepOutcome:
    now = utcnow()
    if state == "new":
        due, why = delay_due(step, contact, execution.started_at)
        if due <= now:
            finish(execution)
            write_log(run, "step", f"{why}: already due, goes on", step["id"],
                      log_key(N_("%(why)s: already due, goes on"), why=why))
            return StepOutcome(True)
        StepExecution.update(status="waiting", outcome=due.isoformat(), lease_until=None).where(
            StepExecution.id == execution.id).execute()
        if _set_run(run, status="waiting", wake_at=due):
            write_log(run, "waiting", f"{why} (until {due:%Y-%m-%d %H:%M} UTC)", step["id"],
                      log_key(N_("%(why)s (until %(due_at)s)"), why=why, due_at=due))
            schedule(run, at=due)
        return STOP
    due = dt.datetime.fromisoformat(execution.outcome)
    if due > now:
        schedule(run, at=due)  # woken early (e.g. by recovery): sleep again
        return STOP
    if finish(execution):
        write_log(run, "step", "delay over", step["id"], log_key(N_("delay over")))
    return StepOutcome(True)


def _wait(run, step, execution, state) -> StepOutcome:
    settings = step.get("settings") or {}
    if state == "new":
        until = execution.started_at + dt.timedelta(days=int(settings.get("days") or 30))
        StepExecution.update(status="waiting", lease_until=None).where(StepExecution.id == execution.id).execute()
        if _set_run(run, status="waiting", wake_at=until, waiting_for=settings.get("event") or ""):
            write_log(run, "waiting", f"waits until {until:%Y-%m-%d %H:%M} UTC for it", step["id"],
                      log_key(N_("waits until %(until_at)s for it"), until_at=until))
            schedule(run, at=until)
        return STOP
    if run.wake_at is not None and run.wake_at > utcnow():
        schedule(run, at=run.wake_at)
        return STOP
    if finish(execution, outcome="no"):
        write_log(run, "branch", "time ran out: takes the “no” branch", step["id"],
                  log_key(N_("time ran out: takes the “no” branch")))
        return StepOutcome(True, "no")
    return STOP  # the awaited event won the race


def _condition(run, step, contact, execution) -> StepOutcome:
    try:
        yes, reason = check_condition(step, contact)
    except Exception as error:  # a broken setting: show it, do not guess a branch
        return _failed_attempt(run, step, execution, error)
    branch = "yes" if yes else "no"
    if finish(execution, outcome=branch):
        write_log(run, "branch", f"{reason}: takes the “{branch}” branch", step["id"],
                  log_key(N_("%(reason)s: takes the “%(branch)s” branch"), reason=reason, branch=branch))
    return StepOutcome(True, branch)


def action_key(run: WorkflowRun, step_id: str) -> str:
    return f"automation:{run.workflow_id}:{run.id}:{step_id}"


def _action(run, step, contact, execution) -> StepOutcome:
    registry = current_app.extensions["couvee"].registries.actions
    action = registry.get(step.get("action") or "")
    context = {"key": action_key(run, step["id"]), "workflow_id": run.workflow_id, "run_id": run.id,
               "step_id": step["id"], "attempt": execution.attempts, "source": "workflow"}
    try:
        if action is None:
            raise LookupError(f"action {step.get('action')!r} is not available (is its plugin active?)")
        result = action.run(contact, dict(step.get("settings") or {}), context)
    except Exception as error:
        log.warning("workflow %s run %s step %s failed: %s", run.workflow_id, run.id, step["id"], error)
        return _failed_attempt(run, step, execution, error)
    if finish(execution):
        detail = result.describe() if isinstance(result, SendResult) else result if isinstance(result, str) else ""
        key = (log_key(N_("%(action)s: %(detail)s"), action=action.id, detail=detail) if detail
               else log_key(N_("%(action)s"), action=action.id))
        write_log(run, "step", f"{action.label}: {detail}" if detail else str(action.label), step["id"], key)
    return StepOutcome(True)


def _failed_attempt(run, step, execution, error) -> StepOutcome:
    message = f"{type(error).__name__}: {error}"
    if execution.attempts >= MAX_ATTEMPTS:
        finish(execution, status="failed", error=message)
        fail(run, f"step {step['id']} failed after {execution.attempts} attempts: {message}", step["id"],
             log_key(N_("step %(step)s failed after %(attempts)s attempts: %(error)s"), step=step["id"],
                     attempts=execution.attempts, error=message))
        return STOP
    retry_at = utcnow() + dt.timedelta(seconds=BACKOFF[execution.attempts - 1])
    StepExecution.update(status="retry", error=message, lease_until=None).where(
        StepExecution.id == execution.id).execute()
    if _set_run(run, status="retrying", wake_at=retry_at, error=message):
        write_log(run, "retry", f"attempt {execution.attempts} failed ({message}); "
                                f"retries at {retry_at:%H:%M:%S} UTC", step["id"],
                  log_key(N_("attempt %(attempt)s failed (%(error)s); retries at %(retry_at)s"),
                          attempt=execution.attempts, error=message, retry_at=retry_at))
        schedule(run, at=retry_at)
    return STOP


# --- versions ----------------------------------------------------------------------------


def move_to_version(run: WorkflowRun, number: int, reason: str) -> bool:
    """Pin a run in progress to version ``number`` of its workflow, at the
    step it is at (the caller checked that this step is in that version).

    The step keeps its claim, so it still runs at most once: a delay keeps
    its due time, a wait keeps waiting, and a failing action being retried
    starts its attempts again with the new version's settings, now. Logged
    in the run; False when a worker moved the run first."""
    previous = run.version
    if not _set_run(run, version=number):
        return False
    StepExecution.update(attempts=0).where((StepExecution.run == run.id) & (StepExecution.step_id == run.step_id)
                                           & (StepExecution.status == "retry")).execute()
    write_log(run, "moved", f"moved from version {previous} to version {number}, {reason}", run.step_id,
              log_key(N_("moved from version %(previous)s to version %(number)s, %(reason)s"),
                      previous=previous, number=number, reason=reason))
    schedule(run, at=run.wake_at if run.status == "waiting" else None)
    return True


# --- ends --------------------------------------------------------------------------------


def complete(run: WorkflowRun, contact: Contact | None = None) -> None:
    if _set_run(run, status="completed", finished_at=utcnow(), wake_at=None, waiting_for=None):
        write_log(run, "completed", "reached the end of the workflow", key=log_key(N_("reached the end of the workflow")))
        emit(contact or Contact.get_by_id(run.contact_id), "workflow_completed", {"workflow_id": run.workflow_id},
             source="automation")


def fail(run: WorkflowRun, message: str, step_id: str | None = None, key: str | None = None) -> None:
    if _set_run(run, status="failed", finished_at=utcnow(), error=message, wake_at=None, waiting_for=None):
        write_log(run, "failed", message, step_id, key)


def exit_run(run: WorkflowRun, reason: str) -> bool:
    """Take a contact out of a run now (manual removal, exit segment, action)."""
    if run.status not in RUN_ACTIVE:
        return False
    if _set_run(run, status="exited", finished_at=utcnow(), wake_at=None, waiting_for=None):
        StepExecution.update(status="done", outcome="exited", finished_at=utcnow()).where(
            (StepExecution.run == run.id) & (StepExecution.status == "waiting")).execute()
        write_log(run, "exited", reason, run.step_id)
        return True
    fresh = WorkflowRun.get_by_id(run.id)
    return exit_run(fresh, reason) if fresh.status in RUN_ACTIVE else False
