"""Admin pages: the Koban overview (connection, test button, pull/flush now,
sync log with a chart), a run's errors and conflicts, the field mapping, and
the contact panel's "push now"."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from core import Contact, enqueue, roles_required, translation_domain

from . import config, mapping, push, record_mapping, thirds
from .charts import runs_chart
from .client import KobanError
from .models import (DIRECTIONS, FieldMapping, KobanRecordLink, RecordConflict, RecordMapping, SyncConflict, SyncError,
                     SyncRun)
from .pull import pull_updates
from .runs import KIND_LABELS, STATUS_LABELS

_ = translation_domain(__name__).gettext
ngettext = translation_domain(__name__).ngettext

crm_admin = Blueprint("crm_koban", __name__, url_prefix="/admin/crm")
RUNS_SHOWN = 50


def _last(kind: str) -> SyncRun | None:
    return SyncRun.select().where(SyncRun.kind == kind).order_by(SyncRun.id.desc()).first()


@crm_admin.route("")
@roles_required("admin", "marketer")
def index():
    runs = list(SyncRun.select().order_by(SyncRun.id.desc()).limit(RUNS_SHOWN))
    return render_template(
        "crm_koban_sync/index.html", runs=runs, chart=runs_chart(list(reversed(runs[:30]))),
        enabled=config.is_enabled(), configured=config.is_configured(), base_url=config.setting("base_url"),
        pending=push.pending_count(), last_push=_last("push"), last_pull=_last("pull"),
        mapping_rows=mapping.mappings(), kind_labels=KIND_LABELS, status_labels=STATUS_LABELS,
        accounts=_accounts_state(),
    )


def _accounts_state() -> dict:
    """What the page shows about the account sync (``offered`` false while no plugin offers accounts)."""
    if thirds.provider() is None:
        return {"offered": False}
    links = KobanRecordLink.select().where(KobanRecordLink.record_type == thirds.TYPE)
    return {"offered": True, "linked": links.where(KobanRecordLink.guid.is_null(False)).count(),
            "failing": links.where(KobanRecordLink.last_error != "").count(),
            "last_push": _last("account_push"), "last_pull": _last("account_pull"),
            "codes": thirds.status_codes()}


@crm_admin.route("/test", methods=["POST"])
@roles_required("admin")
def test_connection():
    """Call Koban now with the saved keys and say plainly what happened."""
    try:
        client = config.make_client(attempts=1)
        total = client.count_contacts()
    except KobanError as error:
        flash(_("Connection failed: %(error)s", error=error), "error")
    else:
        flash(ngettext("Connected to Koban at %(url)s: the account holds %(num)s contact.",
                       "Connected to Koban at %(url)s: the account holds %(num)s contacts.", total,
                       url=client.base_url), "ok")
    return redirect(url_for("crm_koban.index"))


@crm_admin.route("/pull", methods=["POST"])
@roles_required("admin", "marketer")
def pull_now():
    if not (config.is_enabled() and config.is_configured()):
        flash(_("Turn the sync on and enter both keys first (Settings → Koban CRM)."), "error")
    else:
        enqueue(pull_updates, queue="low")
        flash(_("A pull from Koban is queued; its run appears below when it is done."))
    return redirect(url_for("crm_koban.index"))


@crm_admin.route("/flush", methods=["POST"])
@roles_required("admin", "marketer")
def flush_now():
    if not config.is_enabled():
        flash(_("The sync is off: nothing is sent."), "error")
    else:
        enqueue(push.flush_pending, queue="low")
        pending = push.pending_count()
        flash(ngettext("Sending the %(num)s pending contact to Koban.",
                       "Sending the %(num)s pending contacts to Koban.", pending))
    return redirect(url_for("crm_koban.index"))


@crm_admin.route("/accounts/sync", methods=["POST"])
@roles_required("admin", "marketer")
def sync_accounts_now():
    if not (config.is_enabled() and config.is_configured()):
        flash(_("Turn the sync on and enter both keys first (Settings → Koban CRM)."), "error")
    elif thirds.provider() is None:
        flash(_("No plugin offers accounts (turn the Accounts plugin on)."), "error")
    else:
        enqueue(thirds.sync_accounts, queue="low")
        flash(_("An account sync with Koban is queued; its runs appear below when it is done."))
    return redirect(url_for("crm_koban.index"))


@crm_admin.route("/runs/<int:run_id>")
@roles_required("admin", "marketer")
def run(run_id):
    sync_run = SyncRun.get_or_none(SyncRun.id == run_id) or abort(404)
    errors = list(SyncError.select().where(SyncError.run == sync_run.id).order_by(SyncError.id))
    conflicts = list(SyncConflict.select().where(SyncConflict.run == sync_run.id).order_by(SyncConflict.id))
    account_conflicts = list(RecordConflict.select().where(RecordConflict.run == sync_run.id)
                             .order_by(RecordConflict.id))
    return render_template("crm_koban_sync/run.html", run=sync_run, errors=errors, conflicts=conflicts,
                           account_conflicts=account_conflicts,
                           kind_labels=KIND_LABELS, status_labels=STATUS_LABELS)


# --- mapping ----------------------------------------------------------------------------


def _mapping_page(error=None, values=None, account_error=None, account_values=None):
    values = values or {"couvee_field": "", "koban_field": "", "direction": "both"}
    account_values = account_values or {"record_field": "", "koban_field": "", "direction": "both"}
    spec = thirds.provider()
    account_fields = {key: field["label"] for key, field in record_mapping.fields_of(spec).items()} if spec else {}
    return render_template(
        "crm_koban_sync/mapping.html", rows=mapping.mappings(), error=error, values=values,
        couvee_choices=mapping.couvee_choices(), koban_properties=mapping.KOBAN_PROPERTIES,
        directions=DIRECTIONS, labels=dict(mapping.couvee_choices()), direction_labels=dict(DIRECTIONS),
        accounts_offered=spec is not None, account_rows=record_mapping.rows(thirds.TYPE),
        account_fields=account_fields, account_error=account_error, account_values=account_values,
    ), (400 if error or account_error else 200)


@crm_admin.route("/mapping", methods=["GET", "POST"])
@roles_required("admin")
def mapping_page():
    if request.method == "GET":
        return _mapping_page()
    values = {key: request.form.get(key, "") for key in ("couvee_field", "koban_field", "direction")}
    try:
        couvee_field, koban_field, direction = mapping.validate(**values)
        if FieldMapping.select().where((FieldMapping.couvee_field == couvee_field)
                                       & (FieldMapping.koban_field == koban_field)).exists():
            raise mapping.MappingError(_("This pair is already mapped."))
        last = FieldMapping.select().order_by(FieldMapping.position.desc()).first()
        FieldMapping.create(couvee_field=couvee_field, koban_field=koban_field, direction=direction,
                            position=(last.position + 1) if last else 0)
    except mapping.MappingError as problem:
        return _mapping_page(error=str(problem), values=values)
    flash(_("%(couvee)s ↔ %(koban)s added.", couvee=couvee_field, koban=koban_field))
    return redirect(url_for("crm_koban.mapping_page"))


@crm_admin.route("/mapping/accounts", methods=["POST"])
@roles_required("admin")
def account_mapping_add():
    """Add an account field ↔ ncThird property row."""
    values = {key: request.form.get(key, "") for key in ("record_field", "koban_field", "direction")}
    spec = thirds.provider()
    if spec is None:
        flash(_("No plugin offers accounts (turn the Accounts plugin on)."), "error")
        return redirect(url_for("crm_koban.mapping_page"))
    try:
        row = record_mapping.add(spec, **values)
    except mapping.MappingError as problem:
        return _mapping_page(account_error=str(problem), account_values=values)
    flash(_("%(couvee)s ↔ %(koban)s added.", couvee=row.record_field, koban=row.koban_field))
    return redirect(url_for("crm_koban.mapping_page"))


def _set_direction(row, ours: str):
    direction = request.form.get("direction", "")
    if direction not in dict(DIRECTIONS):
        flash(_("Choose a direction from the list."), "error")
    else:
        row.direction = direction
        row.save()
        flash(_("%(couvee)s ↔ %(koban)s: %(direction)s.", couvee=ours, koban=row.koban_field,
                direction=dict(DIRECTIONS)[direction]))
    return redirect(url_for("crm_koban.mapping_page"))


def _delete(row, ours: str):
    row.delete_instance()
    flash(_("%(couvee)s ↔ %(koban)s removed.", couvee=ours, koban=row.koban_field))
    return redirect(url_for("crm_koban.mapping_page"))


@crm_admin.route("/mapping/<int:row_id>/direction", methods=["POST"])
@roles_required("admin")
def mapping_direction(row_id):
    row = FieldMapping.get_or_none(FieldMapping.id == row_id) or abort(404)
    return _set_direction(row, row.couvee_field)


@crm_admin.route("/mapping/<int:row_id>/delete", methods=["POST"])
@roles_required("admin")
def mapping_delete(row_id):
    row = FieldMapping.get_or_none(FieldMapping.id == row_id) or abort(404)
    return _delete(row, row.couvee_field)


@crm_admin.route("/mapping/accounts/<int:row_id>/direction", methods=["POST"])
@roles_required("admin")
def account_mapping_direction(row_id):
    row = RecordMapping.get_or_none(RecordMapping.id == row_id) or abort(404)
    return _set_direction(row, row.record_field)


@crm_admin.route("/mapping/accounts/<int:row_id>/delete", methods=["POST"])
@roles_required("admin")
def account_mapping_delete(row_id):
    row = RecordMapping.get_or_none(RecordMapping.id == row_id) or abort(404)
    return _delete(row, row.record_field)


# --- contact panel -----------------------------------------------------------------------


@crm_admin.route("/contacts/<int:contact_id>/push", methods=["POST"])
@roles_required("admin", "marketer", "sales")
def push_contact(contact_id):
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    if not config.is_enabled():
        flash(_("The Koban sync is off."), "error")
    else:
        enqueue(push.push_batch, [contact.id], queue="low")
        flash(_("The contact will be sent to Koban in a moment."))
    return redirect(url_for("admin.contact", contact_id=contact.id))
