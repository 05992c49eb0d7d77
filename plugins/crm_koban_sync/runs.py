"""The sync log: open a run, count what happened, record per-contact errors
and conflicts, close the run with a status a user understands."""
from __future__ import annotations

from core import translation_domain, utcnow

from .models import SyncConflict, SyncError, SyncRun

_l = translation_domain(__name__).lazy_gettext

#: what the sync log shows for a run's stored ``kind`` and ``status``
KIND_LABELS = {"push": _l("push"), "pull": _l("pull"), "unsubscribe": _l("unsubscribe"), "erase": _l("erase"),
               "test": _l("test"), "account_push": _l("account push"), "account_pull": _l("account pull")}
STATUS_LABELS = {"running": _l("running"), "ok": _l("ok"), "partial": _l("partial"), "failed": _l("failed"),
                 "retrying": _l("retrying")}


def start_run(kind: str) -> SyncRun:
    return SyncRun.create(kind=kind, status="running", started_at=utcnow())


def record_error(run: SyncRun, message: str, contact_id: int | None = None, guid: str = "") -> None:
    """A contact Koban refused or that could not be applied (the batch goes on)."""
    SyncError.create(run=run.id, contact=contact_id, guid=guid or "", message=str(message)[:2000])
    run.failed += 1


def record_conflict(run: SyncRun, contact_id: int, field: str, local, remote, local_at, remote_at, winner: str) -> None:
    SyncConflict.create(run=run.id, contact=contact_id, field=field, local_value=_text(local),
                        remote_value=_text(remote), local_at=local_at, remote_at=remote_at, winner=winner)
    run.conflicts += 1


def _text(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def finish_run(run: SyncRun, status: str | None = None, message: str = "", requests: int = 0) -> SyncRun:
    """Close ``run``: ``ok``, or ``partial`` when some contacts failed, unless
    ``status`` says otherwise."""
    run.status = status or ("partial" if run.failed else "ok")
    run.message = message or run.message
    run.requests += requests
    run.finished_at = utcnow()
    run.save()
    return run


def last_cursor(kind: str = "pull") -> int:
    """Up to when the last successful run of ``kind`` looked (0 before the first)."""
    row = (SyncRun.select(SyncRun.cursor).where((SyncRun.kind == kind) & SyncRun.cursor.is_null(False)
                                                & SyncRun.status.in_(("ok", "partial")))
           .order_by(SyncRun.cursor.desc()).first())
    return int(row.cursor) if row else 0
