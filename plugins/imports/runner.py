"""Import jobs: store an uploaded file, set a job up, run it in an RQ worker
(queue ``import``) with its progress written to the job row after every batch.

The web wizard and ``couvee import`` both go through :func:`new_job` and
:func:`execute`; the worker runs :func:`run_import`.
"""
from __future__ import annotations

import gc
import logging
import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from flask import current_app

from core import CustomField, db_value, enqueue, insert_rows, translation_domain, utcnow
from . import mapping as mapping_mod
from .models import CANCELLED, DONE, DRAFT, FAILED, QUEUED, RUNNING, ImportJob, ImportRowError
from .pipeline import BATCH_SIZE, Counts, Importer, Settings, parse_suppression_list, scan
from .reader import CsvSource, SourceError
from .reasons import N_
from .sniff import NotTextError, decodes_as, detect_dialect

log = logging.getLogger("couvee.imports")
_ = translation_domain(__name__).gettext

#: seconds an import may run in a worker
JOB_TIMEOUT = 4 * 3600
DEFAULT_TEST_ROWS = 12
_CHUNK = 1024 * 1024
#: files up to this size are read and decoded once (their rows, ~60 MB of
#: Python objects at most, are kept between the two passes)
KEEP_ROWS_BYTES = 8 * 1024 * 1024


class UploadRefused(ValueError):
    """The upload cannot be imported; the message says why."""


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB".replace(".0 ", " ")
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


# -- files -------------------------------------------------------------------


def imports_path() -> Path:
    """``<instance>/uploads/imports``, where uploaded CSV files are kept."""
    path = current_app.extensions["couvee"].config.uploads_path / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_file(job: ImportJob) -> Path:
    """The job's file on disk (never outside the imports folder)."""
    root = imports_path().resolve()
    candidate = (root / job.path).resolve()
    if candidate.parent != root:
        raise UploadRefused(_("The import's file path is not valid."))
    return candidate


def copy_bounded(stream, folder: Path, prefix: str, suffix: str, max_bytes: int,
                 too_large: Exception) -> tuple[Path, int]:
    """Copy ``stream`` into a new temporary file in ``folder``, raising
    ``too_large`` past ``max_bytes``; returns (path, size). Nothing is left
    behind on refusal or error."""
    fd, temp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(min(_CHUNK, max_bytes + 1 - size)):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large
                out.write(chunk)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Path(temp), size


def store_file(stream, max_bytes: int) -> tuple[str, int]:
    """Copy an upload into the imports folder (at most ``max_bytes``);
    returns (file name, size). Nothing is left behind on refusal."""
    folder = imports_path()
    temp, size = copy_bounded(stream, folder, ".upload-", ".part", max_bytes,
                              UploadRefused(_("The file is larger than the %(size)s limit.",
                                              size=_human_size(max_bytes))))
    name = f"{secrets.token_hex(16)}.csv"
    try:
        os.replace(temp, folder / name)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return name, size


# -- jobs --------------------------------------------------------------------


def new_job(stream, original_name: str, user=None, max_bytes: int | None = None) -> ImportJob:
    """Store an uploaded CSV, detect how it is written, suggest a mapping and
    return a draft job. :class:`UploadRefused` when it is too big or not text."""
    limit = max_bytes or current_app.extensions["couvee"].config.max_upload_bytes
    name, size = store_file(stream, limit)
    path = imports_path() / name
    try:
        if size == 0:
            raise UploadRefused(_("The file is empty."))
        try:
            dialect = detect_dialect(path)
        except NotTextError as error:
            raise UploadRefused(str(error)) from None
        source = CsvSource(path, dialect.encoding, dialect.delimiter, dialect.has_header)
        try:
            preview = source.preview(50)
            headers = source.header
        except SourceError as error:
            raise UploadRefused(str(error)) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    job = ImportJob.create(
        path=name, original_name=(original_name or "import.csv")[:250], size=size, encoding=dialect.encoding,
        delimiter=dialect.delimiter, has_header=dialect.has_header, user=user,
        test_rows=None, options={"skip_suppressed": True},
    )
    suggest(job, source, headers, preview)
    return job


def suggest(job: ImportJob, source: CsvSource | None = None, headers=None, preview=None) -> None:
    """(Re)compute the suggested mapping and cleaning column of a draft job."""
    source = source or source_of(job)
    headers = headers if headers is not None else source.header
    preview = preview if preview is not None else source.preview(50)
    columns = [[row.cells[i] if i < len(row.cells) else "" for row in preview] for i in range(len(headers))]
    targets = mapping_mod.suggest_mapping(headers, list(CustomField.select().where(~CustomField.archived)), columns)
    job.mapping = [{"header": h, "target": t} for h, t in zip(headers, targets)]
    options = dict(job.options or {})
    options["cold_column"] = mapping_mod.suggest_cold_column(headers)
    job.options = options
    job.save()


def source_of(job: ImportJob) -> CsvSource:
    return CsvSource(job_file(job), job.encoding, job.delimiter, job.has_header)


def check_encoding(job: ImportJob, encoding: str) -> None:
    """:class:`UploadRefused` unless the whole file decodes with ``encoding``."""
    if not decodes_as(job_file(job), encoding):
        raise UploadRefused(_("The file is not valid %(encoding)s text; keep the detected encoding (%(detected)s).",
                              encoding=encoding, detected=job.encoding))


def settings_of(job: ImportJob) -> Settings:
    from core import get_setting
    from .consent import ConsentPlan, DropRule

    options = job.options or {}
    return Settings(
        mapping=job.mapping,
        policy=job.policy,
        tags=list(job.tags or []),
        segment_id=job.segment_id,
        skip_suppressed=bool(options.get("skip_suppressed", True)),
        cold_column=options.get("cold_column") if options.get("cold_months") else None,
        cold_months=options.get("cold_months") or None,
        import_id=job.id,
        suppressed=parse_suppression_list(get_setting("imports", "suppressed_addresses")),
        files_dir=options.get("files_dir"),
        consent=ConsentPlan.from_options(options.get("consent")),
        drop_rules=DropRule.from_options(options.get("drop")),
        source_file=job.original_name,
    )


def start(job: ImportJob) -> None:
    """Queue a draft job on the ``import`` queue."""
    ImportJob.update(status=QUEUED).where((ImportJob.id == job.id) & (ImportJob.status == DRAFT)).execute()
    job.status = QUEUED
    enqueue(run_import, job.id, queue="import", timeout=JOB_TIMEOUT)


def copy_job(job: ImportJob, full: bool = False, user=None) -> ImportJob:
    """A new draft with the same file (copied) and settings; ``full`` drops
    the test limit (import the whole file after a test run)."""
    from .archive import hand_over

    name = f"{secrets.token_hex(16)}.csv"
    shutil.copyfile(job_file(job), imports_path() / name)
    new = ImportJob.create(
        path=name, original_name=job.original_name, size=job.size, encoding=job.encoding,
        delimiter=job.delimiter, has_header=job.has_header, mapping=job.mapping, policy=job.policy,
        tags=job.tags, segment_id=job.segment_id, test_rows=None if full else job.test_rows,
        options=job.options, user=user or job.user,
    )
    hand_over(job, new)
    return new


def cancel(job: ImportJob) -> bool:
    """Ask a queued or running job to stop after its current batch."""
    return bool(ImportJob.update(status=CANCELLED, finished_at=utcnow()).where(
        (ImportJob.id == job.id) & ImportJob.status.in_((QUEUED, RUNNING))).execute())


def delete_job(job: ImportJob) -> None:
    """Remove a finished or draft job, its report and its file (contacts stay)."""
    try:
        job_file(job).unlink(missing_ok=True)
    except UploadRefused:
        pass
    _discard_zip_files(job)
    job.delete_instance()


# -- running -----------------------------------------------------------------


def run_import(job_id: int) -> str:
    """The RQ job: run a queued import once (a second delivery does nothing)."""
    claimed = ImportJob.update(status=RUNNING, started_at=utcnow(), message="").where(
        (ImportJob.id == job_id) & (ImportJob.status == QUEUED)).execute()
    if not claimed:
        job = ImportJob.get_or_none(ImportJob.id == job_id)
        if job is not None and job.status == CANCELLED:
            _discard_zip_files(job)  # cancelled before it ran: nothing will read them
        return "not queued"
    job = ImportJob.get_by_id(job_id)
    try:
        execute(job)
    except Exception as error:  # the job row says what happened; the worker goes on
        log.exception("import %s failed", job_id)
        message = str(error) if isinstance(error, SourceError) else f"{type(error).__name__}: {error}"
        ImportJob.update(status=FAILED, finished_at=utcnow(), message=message).where(ImportJob.id == job_id).execute()
        return "failed"
    finally:
        if not job.test_rows:  # a test run keeps them for "import the whole file"
            _discard_zip_files(job)
    return ImportJob.get_by_id(job_id).status


def _discard_zip_files(job: ImportJob) -> None:
    from .archive import discard_files

    discard_files(job)


def _cancelled(job_id: int) -> bool:
    return ImportJob.select(ImportJob.status).where(ImportJob.id == job_id).scalar() == CANCELLED


def execute(job: ImportJob, on_batch=None, on_start=None) -> Counts:
    """Import the job's file now, in this process (the worker or the CLI).

    A first pass counts the rows and finds the emails on several rows; then
    batches are imported, each in its transaction with the job's progress.
    ``on_start(rows_total)`` is called after the first pass and
    ``on_batch(result)`` after each commit. Stops early when the job is
    cancelled.
    """
    with _no_cycle_collection():
        return _execute(job, on_batch, on_start)


@contextmanager
def _no_cycle_collection():
    """Run without Python's cycle collector, collecting the young objects
    every few batches. An import allocates ~10 objects a row, none in a
    reference cycle, and each allocation burst made the collector walk them
    (and the process's whole heap, from time to time): ~20% of an import's
    CPU time in the profile of ``bench/csv_import.py``."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _execute(job: ImportJob, on_batch, on_start) -> Counts:
    source = source_of(job)
    # a small file is read and decoded once: its rows are kept for the second pass
    kept = list(source.rows(limit=job.test_rows)) if source.path.stat().st_size <= KEEP_ROWS_BYTES else None
    total, repeated = scan(kept if kept is not None else source.rows(limit=job.test_rows), job.mapping)
    if on_start is not None:
        on_start(total)
    ImportJob.update(rows_total=total, status=RUNNING, started_at=job.started_at or utcnow()).where(
        ImportJob.id == job.id).execute()
    importer = Importer(settings_of(job), repeated=repeated)
    store = _progress_writer(job)
    counts = Counts()
    batch = []
    for row in kept if kept is not None else source.rows(limit=job.test_rows):
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            if _cancelled(job.id):
                return counts
            _done(importer.process(batch, in_transaction=store), counts, on_batch)
            batch = []
            if counts.rows % (20 * BATCH_SIZE) < BATCH_SIZE:
                gc.collect(1)  # any cyclic garbage of the last batches (the collector is off)
    if _cancelled(job.id):
        return counts
    if batch:
        _done(importer.process(batch, in_transaction=store), counts, on_batch)
    for result in importer.flush(in_transaction=store):
        _done(result, counts, on_batch)
    message = ""
    if importer.segment_missing:
        # stored in English, translated on the progress page
        message = N_("The contacts were not added to the segment: segments are not available on this site.")
    ImportJob.update(status=DONE, finished_at=utcnow(), message=message).where(
        (ImportJob.id == job.id) & (ImportJob.status == RUNNING)).execute()
    return counts


def _done(result, counts: Counts, on_batch) -> None:
    counts.add(result.counts)
    if on_batch is not None:
        on_batch(result)


def _progress_writer(job: ImportJob):
    """The callback that stores a batch's counts and reported lines in the
    batch's transaction."""
    def store(result):
        c = result.counts
        ImportJob.update(
            rows_done=ImportJob.rows_done + c.rows, created=ImportJob.created + c.created,
            updated=ImportJob.updated + c.updated, unchanged=ImportJob.unchanged + c.unchanged,
            skipped=ImportJob.skipped + c.skipped, duplicates=ImportJob.duplicates + c.duplicates,
            errors=ImportJob.errors + c.errors, warnings=ImportJob.warnings + c.warnings,
            progress_at=utcnow(),
        ).where(ImportJob.id == job.id).execute()
        insert_rows(ImportRowError, ["job", "line", "kind", "reason", "detail", "row"],
                    [(job.id, r.line, r.kind, r.reason.english(), db_value(ImportRowError, "detail", r.reason.as_data()),
                      db_value(ImportRowError, "row", r.cells)) for r in result.reports])

    return store
