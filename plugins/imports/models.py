"""Tables of the import feature: one :class:`ImportJob` per uploaded file and
run, and one :class:`ImportRowError` per reported line.

The uploaded file itself stays in the instance's ``uploads/imports/`` folder
(never under a static folder); :attr:`ImportJob.path` is relative to it.
"""
from __future__ import annotations

import peewee

from core import BaseModel, JSONField, User, UTCDateTimeField, utcnow

#: a job being set up in the wizard (file uploaded, not started yet)
DRAFT = "draft"
QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES = (DRAFT, QUEUED, RUNNING, DONE, FAILED, CANCELLED)
FINISHED = (DONE, FAILED, CANCELLED)

POLICIES = ("update", "skip", "fill")


class ImportJob(BaseModel):
    """One import of one CSV file, with its settings and live progress."""

    path = peewee.CharField()
    original_name = peewee.CharField()
    size = peewee.IntegerField(default=0)
    encoding = peewee.CharField(default="utf-8")
    delimiter = peewee.CharField(default=",")
    has_header = peewee.BooleanField(default=True)
    #: per column, in file order: its header and its target (see .mapping)
    mapping = JSONField(default=list)
    policy = peewee.CharField(default="update")
    tags = JSONField(default=list)
    segment_id = peewee.IntegerField(null=True)
    #: import only the first N data rows (a test run); None for the whole file
    test_rows = peewee.IntegerField(null=True)
    #: cleaning: {"skip_suppressed": bool, "cold_column": int|None, "cold_months": int|None}
    options = JSONField(default=dict)
    status = peewee.CharField(default=DRAFT, index=True)
    message = peewee.TextField(default="")
    rows_total = peewee.IntegerField(default=0)
    rows_done = peewee.IntegerField(default=0)
    created = peewee.IntegerField(default=0)
    updated = peewee.IntegerField(default=0)
    unchanged = peewee.IntegerField(default=0)
    skipped = peewee.IntegerField(default=0)
    duplicates = peewee.IntegerField(default=0)
    errors = peewee.IntegerField(default=0)
    warnings = peewee.IntegerField(default=0)
    user = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = UTCDateTimeField(default=utcnow)
    started_at = UTCDateTimeField(null=True)
    finished_at = UTCDateTimeField(null=True)
    progress_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "import_job"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def is_active(self) -> bool:
        return self.status in (QUEUED, RUNNING)

    @property
    def headers(self) -> list[str]:
        return [column.get("header", "") for column in self.mapping or []]

    def rate(self, now=None) -> float:
        """Rows per second since the job started (0 before it starts)."""
        if self.started_at is None or not self.rows_done:
            return 0.0
        end = self.finished_at or now or utcnow()
        seconds = max((end - self.started_at).total_seconds(), 1e-3)
        return self.rows_done / seconds

    def progress(self) -> dict:
        """What the progress page and its JSON endpoint show."""
        return {
            "id": self.id,
            "status": self.status,
            "message": self.message,
            "rows_total": self.rows_total,
            "rows_done": self.rows_done,
            "rate": round(self.rate(), 1),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "warnings": self.warnings,
            "finished": self.is_finished,
        }


class ImportRowError(BaseModel):
    """A reported line of an import: rejected (``error``), imported with a
    problem (``warning``) or left out by a cleaning option (``skipped``)."""

    job = peewee.ForeignKeyField(ImportJob, backref="row_errors", on_delete="CASCADE")
    line = peewee.IntegerField()
    kind = peewee.CharField(default="error")
    #: the reason in English (all that lines reported before ``detail`` existed have)
    reason = peewee.TextField()
    #: the reason as messages to translate when shown (see :mod:`.reasons`)
    detail = JSONField(null=True)
    row = JSONField(default=list)

    class Meta:
        table_name = "import_row_error"
        indexes = ((("job", "line"), False),)


IMPORT_MODELS = [ImportJob, ImportRowError]
