"""Admin pages: the import wizard (upload → map and choose options → run →
progress and report) and the contacts CSV export."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, \
    stream_with_context, url_for

from core import CustomField, FieldValueError, current_user, field_types, normalize_tag, roles_required
from core import translation_domain
from . import mapping as mapping_mod
from . import archive, runner, segments
from .export import contact_rows, contacts_query, csv_lines, report_rows
from .models import CANCELLED, DONE, DRAFT, FAILED, POLICIES, QUEUED, RUNNING, ImportJob
from .reader import SourceError
from .sniff import DELIMITER_LABELS, ENCODINGS

_, _l = translation_domain(__name__).pair()

imports_blueprint = Blueprint("imports", __name__, url_prefix="/admin", static_folder="static",
                              static_url_path="/imports/static")
ROLES = ("admin", "marketer")
PREVIEW_ROWS = 10
SELECT_TYPES = ("select", "multiselect")
POLICY_LABELS = {
    "update": _l("Update existing contacts with the file's values"),
    "skip": _l("Skip rows whose contact already exists"),
    "fill": _l("Only fill the empty fields of existing contacts"),
}

STATUS_LABELS = {
    DRAFT: _l("draft"), QUEUED: _l("queued"), RUNNING: _l("running"), DONE: _l("done"), FAILED: _l("failed"),
    CANCELLED: _l("cancelled"),
}


def _status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def _job(job_id: int) -> ImportJob:
    return ImportJob.get_or_none(ImportJob.id == job_id) or abort(404)


# -- step 1: upload ---------------------------------------------------------------


@imports_blueprint.route("/imports")
@roles_required(*ROLES)
def index():
    jobs = ImportJob.select().order_by(ImportJob.id.desc()).limit(50)
    return render_template("imports/index.html", jobs=list(jobs), status_label=_status_label,
                           max_bytes=current_app.extensions["couvee"].config.max_upload_bytes)


@imports_blueprint.route("/imports", methods=["POST"])
@roles_required(*ROLES)
def upload():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a CSV file (or a .zip of the CSV and its files) to import."), "error")
        return index(), 400
    try:
        if archive.is_zip_upload(upload.filename):
            job = archive.new_job_from_zip(upload.stream, upload.filename, user=current_user())
        else:
            job = runner.new_job(upload.stream, upload.filename, user=current_user())
    except runner.UploadRefused as error:
        flash(_("%(file)s: %(error)s", file=upload.filename, error=str(error)), "error")
        return index(), 400
    return redirect(url_for("imports.setup", job_id=job.id))


# -- step 2: map the columns and choose the options --------------------------------


def _setup_page(job: ImportJob, errors=(), form=None, status=200):
    source = runner.source_of(job)
    try:
        preview = source.preview(PREVIEW_ROWS)
    except SourceError as error:
        preview, errors = [], list(errors) + [str(error)]
    fields = list(CustomField.select().where(~CustomField.archived).order_by(CustomField.position, CustomField.id))
    return render_template(
        "imports/setup.html", job=job, preview=preview, fields=fields, types=list(field_types()),
        errors=errors, form=form or {}, encodings=ENCODINGS, delimiters=DELIMITER_LABELS,
        policies=POLICY_LABELS, segments=segments.static_segments() if segments.can_add() else None,
        natives=mapping_mod.NATIVE_TARGETS, specials=mapping_mod.SPECIAL_TARGETS,
        default_test_rows=runner.DEFAULT_TEST_ROWS,
    ), status


@imports_blueprint.route("/imports/<int:job_id>/setup", methods=["GET", "POST"])
@roles_required(*ROLES)
def setup(job_id):
    job = _job(job_id)
    if job.status != DRAFT:
        return redirect(url_for("imports.show", job_id=job.id))
    if request.method == "GET":
        return _setup_page(job)
    if request.form.get("action") == "reread":
        return _reread(job)
    errors = _apply_form(job, request.form)
    if errors:
        return _setup_page(job, errors, request.form, 400)
    runner.start(job)
    return redirect(url_for("imports.show", job_id=job.id))


def _reread(job: ImportJob):
    encoding = request.form.get("encoding", job.encoding)
    delimiter = request.form.get("delimiter", job.delimiter)
    if encoding not in ENCODINGS or delimiter not in DELIMITER_LABELS:
        return _setup_page(job, [_("Choose an encoding and a separator from the lists.")], status=400)
    try:
        runner.check_encoding(job, encoding)
    except runner.UploadRefused as error:
        return _setup_page(job, [str(error)], status=400)
    job.encoding, job.delimiter, job.has_header = encoding, delimiter, bool(request.form.get("has_header"))
    try:
        runner.suggest(job)
    except SourceError as error:
        return _setup_page(job, [str(error)], status=400)
    return _setup_page(job)


def _int(form, name: str, label: str, errors: list, minimum: int = 1) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors.append(_("%(label)s: enter a whole number.", label=label))
        return None
    if value < minimum:
        errors.append(_("%(label)s: enter a number of at least %(minimum)s.", label=label, minimum=minimum))
        return None
    return value


def _consent_options(form, headers: list[str], errors: list) -> dict:
    """The consent (a column and/or a declaration for the whole file) and the
    drop rule of the setup form, as job options; problems go to ``errors``."""
    from .consent import ConsentPlan, ConsentSettingError, DropRule

    options = {"consent": None, "drop": []}
    column = _int(form, "consent_column", _("Consent column"), errors, minimum=0) \
        if form.get("consent_column") else None
    declared = bool(form.get("consent_declared"))
    try:
        if column is not None or declared:
            plan = ConsentPlan(purpose=(form.get("consent_purpose") or "").strip() or "email_marketing",
                               column=column, declared=declared, source=form.get("consent_source", "").strip(),
                               date=form.get("consent_date", "").strip(), proof=form.get("consent_proof", "").strip())
            options["consent"] = plan.check().as_options()
        drop_column = _int(form, "drop_column", _("Leave out rows: column"), errors, minimum=0) \
            if form.get("drop_column") else None
        if drop_column is not None and not form.get("drop_values", "").strip():
            errors.append(_("Leave out rows: give the values, e.g. unsubscribed|cleaned."))
        elif drop_column is not None and drop_column < len(headers):
            rule = DropRule.parse(f"{headers[drop_column]}={form.get('drop_values', '')}", headers,
                                  lambda name, _headers: drop_column)
            options["drop"] = [rule.as_options()]
    except ConsentSettingError as error:
        errors.append(str(error))
    return options


def _apply_form(job: ImportJob, form) -> list[str]:
    """Validate the setup form and store it on the job (creating the new
    fields it asks for); return error messages (nothing stored if any)."""
    headers = job.headers
    targets = [form.get(f"target_{i}", mapping_mod.IGNORE) for i in range(len(headers))]
    fields_by_key = {f.key: f for f in CustomField.select()}
    errors = mapping_mod.validate_targets(targets, fields_by_key, field_types())
    policy = form.get("policy", "update")
    if policy not in POLICIES:
        errors.append(_("Choose what to do with contacts that already exist."))
    try:
        tags = sorted({normalize_tag(t) for t in form.get("tags", "").split(",") if t.strip()})
    except FieldValueError as error:
        errors.append(_("Tags: %(error)s", error=str(error)))
        tags = []
    segment_id = _int(form, "segment_id", _("Segment"), errors)
    if segment_id is not None and segments.check(segment_id):
        errors.append(_("Segment: %(error)s", error=segments.check(segment_id)))
    test_rows = _int(form, "test_rows", _("Test rows"), errors) if form.get("test_only") else None
    cold_months = _int(form, "cold_months", _("Cold leads"), errors) if form.get("cold_only") else None
    cold_column = _int(form, "cold_column", _("Last activity column"), errors, minimum=0) if cold_months else None
    if cold_months and (cold_column is None or cold_column >= len(headers)):
        errors.append(_("Choose the column that holds the last activity date."))
    consent_and_drops = _consent_options(form, headers, errors)
    options = {}
    for index, target in enumerate(targets):
        if target.startswith("new:") and target[4:] in SELECT_TYPES:
            options[index] = runner.source_of(job).column_values(index, limit=200)
            if options[index] is None:
                errors.append(_("%(column)s: more than 200 different values, too many for a select field; "
                                "create a text field instead.", column=headers[index]))
    has_files = bool((job.options or {}).get("files_dir"))
    for index, target in enumerate(targets):
        if mapping_mod.is_file_target(target, fields_by_key, field_types()) and not has_files:
            errors.append(_("%(column)s: a file field is filled from the files this column names: upload "
                            "a .zip holding the CSV and those files (or use couvee import --files DIR), "
                            "or choose Ignore for this column.", column=headers[index]))
        elif target.startswith("new:"):
            try:
                mapping_mod.reusable_field(headers[index], target[4:])
            except mapping_mod.FieldConflict as error:
                errors.append(_("%(column)s: %(error)s", column=headers[index], error=str(error)))
    if errors:
        return errors
    for index, target in enumerate(targets):
        if target.startswith("new:"):
            field = mapping_mod.field_for_column(headers[index], target[4:], options.get(index))
            targets[index] = f"field:{field.key}"
    job.mapping = [{"header": h, "target": t} for h, t in zip(headers, targets)]
    job.policy, job.tags, job.segment_id, job.test_rows = policy, tags, segment_id, test_rows
    kept = {key: value for key, value in (job.options or {}).items() if key in ("files_dir", "files_from_zip")}
    job.options = {"skip_suppressed": bool(form.get("skip_suppressed")), "cold_column": cold_column,
                   "cold_months": cold_months, **consent_and_drops, **kept}
    job.save()
    return []


# -- step 3: progress and report ----------------------------------------------------


@imports_blueprint.route("/imports/<int:job_id>")
@roles_required(*ROLES)
def show(job_id):
    job = _job(job_id)
    if job.status == DRAFT:
        return redirect(url_for("imports.setup", job_id=job.id))
    fields = {f.key: f for f in CustomField.select()}
    columns = [(c["header"], mapping_mod.target_label(c["target"], fields)) for c in job.mapping
               if c["target"] != mapping_mod.IGNORE]
    return render_template("imports/show.html", job=job, progress=job.progress(), columns=columns,
                           policies=POLICY_LABELS, status_label=_status_label)


@imports_blueprint.route("/imports/<int:job_id>/progress.json")
@roles_required(*ROLES)
def progress(job_id):
    job = _job(job_id)
    return jsonify(dict(job.progress(), status_label=_status_label(job.status)))


@imports_blueprint.route("/imports/<int:job_id>/report.csv")
@roles_required(*ROLES)
def report(job_id):
    job = _job(job_id)
    name = f"import-{job.id}-report.csv"
    return _csv_response(report_rows(job), name)


@imports_blueprint.route("/imports/<int:job_id>/cancel", methods=["POST"])
@roles_required(*ROLES)
def cancel(job_id):
    job = _job(job_id)
    if runner.cancel(job):
        flash(_("The import will stop after the rows being written now."))
    return redirect(url_for("imports.show", job_id=job.id))


@imports_blueprint.route("/imports/<int:job_id>/again", methods=["POST"])
@roles_required(*ROLES)
def again(job_id):
    job = _job(job_id)
    if not job.is_finished:
        abort(409)
    new = runner.copy_job(job, full=bool(request.form.get("full")), user=current_user())
    runner.start(new)
    return redirect(url_for("imports.show", job_id=new.id))


@imports_blueprint.route("/imports/<int:job_id>/delete", methods=["POST"])
@roles_required(*ROLES)
def delete(job_id):
    job = _job(job_id)
    if job.is_active:
        flash(_("Cancel the import before deleting it."), "error")
        return redirect(url_for("imports.show", job_id=job.id))
    runner.delete_job(job)
    flash(_("The import, its file and its report were deleted (the contacts stay)."))
    return redirect(url_for("imports.index"))


# -- export -------------------------------------------------------------------------


def _csv_response(rows, name: str) -> Response:
    def body():
        yield "\ufeff"  # so Excel reads UTF-8
        yield from csv_lines(rows)

    response = Response(stream_with_context(body()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@imports_blueprint.route("/contacts/export")
@roles_required(*ROLES)
def export_contacts():
    q = request.args.get("q", "").strip()
    segment = request.args.get("segment", "").strip()
    segment_id = None
    if segment:
        if not segment.isdigit():
            abort(400, description="segment must be a segment id.")
        segment_id = int(segment)
    try:
        query = contacts_query(q, segment_id)
    except segments.SegmentsUnavailable as error:
        abort(400, description=str(error))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    return _csv_response(contact_rows(query), f"contacts-{stamp}.csv")
