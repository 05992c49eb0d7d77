"""Worker jobs run after a submission: attach the tracked visitor, run the
form's actions (each at most once per submission), send the double opt-in
email; and the periodic job that sends again the confirmation emails that
could not go (:func:`resend_unsent_opt_ins`)."""
from __future__ import annotations

import datetime as dt
import logging

from core import enqueue, state, utcnow

from .models import ActionRun, FormAction, OptIn, Submission

log = logging.getLogger("couvee.forms")


class ActionsFailed(RuntimeError):
    """Some actions failed; the job is retried and skips those that ran."""


def link_tracked_visitor(submission: Submission) -> int:
    """Tell website tracking (when a plugin does it) which contact the
    submitting browser is, so its past visits go to the contact; returns how
    many were attached."""
    if not submission.visitor_id:
        return 0
    answers = state().hooks.results("tracking_visitor_identified", contact=submission.contact,
                                     visitor_id=submission.visitor_id, method="form")
    return sum(answer for answer in answers if isinstance(answer, int))


def run_actions(submission: Submission) -> list[str]:
    """Run the form's actions in order; returns the failures (``id: error``)."""
    registry = state().registries.actions
    done = {run.form_action_id for run in ActionRun.select().where(
        (ActionRun.submission == submission.id) & (ActionRun.status == "done"))}
    failures = []
    actions = FormAction.select().where(FormAction.form == submission.form_id).order_by(
        FormAction.position, FormAction.id)
    for form_action in actions:
        if form_action.id in done:
            continue
        action = registry.get(form_action.action_id)
        if action is None:
            _record(submission, form_action, "missing", "this action's plugin is not active")
            continue
        context = {"key": f"forms:{submission.id}:{form_action.id}", "source": "form",
                   "form_id": submission.form_id, "submission_id": submission.id}
        try:
            action.run(submission.contact, dict(form_action.settings or {}), context)
        except Exception as error:  # recorded, and the job is retried
            log.exception("form action %s failed for submission %s", form_action.action_id, submission.id)
            _record(submission, form_action, "failed", f"{type(error).__name__}: {error}")
            failures.append(f"{form_action.action_id}: {error}")
            continue
        _record(submission, form_action, "done", "")
    return failures


def _record(submission, form_action, status: str, detail: str) -> None:
    ActionRun.insert(submission=submission.id, form_action_id=form_action.id, action_id=form_action.action_id,
                     status=status, detail=detail[:2000], ran_at=utcnow()).on_conflict(
        conflict_target=[ActionRun.submission, ActionRun.form_action_id],
        update={ActionRun.status: status, ActionRun.detail: detail[:2000], ActionRun.ran_at: utcnow()},
    ).execute()


def after_submission(submission_id: int) -> str:
    submission = Submission.get_or_none(Submission.id == submission_id)
    if submission is None:
        return "missing"
    try:
        link_tracked_visitor(submission)
    except Exception:  # the visitor link must not block the actions
        log.exception("could not link visitor %s", submission.visitor_id)
    failures = run_actions(submission) if submission.form_id else []
    if failures:
        raise ActionsFailed("; ".join(failures))
    return "done"


#: a confirmation email still not sent this long after the request is queued again
RESEND_AFTER = dt.timedelta(minutes=10)


def send_opt_in(opt_in_id: int) -> str:
    from . import optin

    opt_in = OptIn.get_or_none(OptIn.id == opt_in_id)
    if opt_in is None or opt_in.status != "pending":
        return "nothing to send"
    if opt_in.sent_at is not None:  # a duplicated job
        return "sent already"
    result = optin.send(opt_in)
    if result.status == "failed":
        raise RuntimeError(f"double opt-in email not sent: {result.reason}")
    return result.status


def resend_unsent_opt_ins() -> int:
    """Periodic job: queue again the confirmation email of every pending
    request that was never sent because the channel was down for longer than
    the job's retries (``core.SendResult.retry``), or whose job was lost with
    Redis, while its link can still be confirmed. Returns how many."""
    from . import optin

    now = utcnow()
    waiting = (OptIn.select(OptIn.id)
               .where((OptIn.status == "pending") & OptIn.sent_at.is_null()
                      & ((OptIn.send_status == "") | OptIn.send_status.startswith(optin.WAITING))
                      & (OptIn.requested_at < now - RESEND_AFTER) & (OptIn.requested_at > now - optin.max_age()))
               .order_by(OptIn.id).tuples())
    count = 0
    for (opt_in_id,) in waiting:
        enqueue(send_opt_in, opt_in_id, queue="email", job_id=f"forms-doi-{opt_in_id}", retries=3)
        count += 1
    return count
