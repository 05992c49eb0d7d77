"""The forms admin: list, builder (settings, fields, consent boxes, actions,
publication), embed codes, submissions and their CSV export."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from core import channel_available, external_url, roles_required, translation_domain

from . import builder, definition, protection
from .builder import BuilderError
from .exporting import submissions_csv
from .models import (
    CHANNELS, HIDDEN_SOURCE_WORDS, HIDDEN_SOURCES, LANGUAGES, OPTIN_STATUSES, PURPOSES, RUN_STATUSES, ActionRun,
    ConsentBox, Form, FormAction, FormField, OptIn, Submission, SubmittedValue,
)
from .texts import DOI_BODY, DOI_SUBJECT, strings

forms_admin = Blueprint("forms_admin", __name__, url_prefix="/admin/forms")
EDITORS = ("admin", "marketer")
PAGE = 100

_ = translation_domain(__name__).gettext


def _form(form_id: int) -> Form:
    return Form.get_or_none(Form.id == form_id) or abort(404)


def _row(model, form: Form, row_id: int):
    return model.get_or_none((model.id == row_id) & (model.form == form.id)) or abort(404)


def _back(form: Form, anchor: str = ""):
    return redirect(url_for("forms_admin.edit", form_id=form.id) + (f"#{anchor}" if anchor else ""))


def _flash_errors(error: BuilderError) -> None:
    for message in error.errors.values():
        flash(message, "error")


@forms_admin.route("")
@roles_required(*EDITORS)
def index():
    forms = list(Form.select().order_by(Form.name, Form.id))
    counts = {}
    for form in forms:
        counts[form.id] = Submission.select().where(Submission.form == form.id).count()
    return render_template("forms/admin/index.html", forms=forms, counts=counts)


@forms_admin.route("/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new():
    errors = {}
    if request.method == "POST":
        try:
            form = builder.create_form(request.form.get("name", ""), request.form.get("language", "fr"))
        except BuilderError as error:
            errors = error.errors
        else:
            flash(_("The form “%(name)s” was created as a draft. Add fields, then publish it.", name=form.name))
            return _back(form)
    return render_template("forms/admin/new.html", errors=errors, languages=LANGUAGES,
                           values=request.form), 400 if errors else 200


# --- the builder ------------------------------------------------------------------------------


def _builder_page(form: Form, errors: dict | None = None, values=None, status: int = 200):
    actions = list(FormAction.select().where(FormAction.form == form.id).order_by(FormAction.position, FormAction.id))
    registry = {action.id: action for action in builder.available_actions()}
    setting_labels_of = {action.id: {s.key: s.label for s in action.settings} for action in registry.values()}
    return render_template(
        "forms/admin/builder.html", form=form, items=definition.inputs(form), boxes=definition.consent_boxes(form),
        actions=actions, registry=registry, setting_labels_of=setting_labels_of, available=builder.available_actions(),
        targets=[t for t in definition.target_choices()
                 if not any(i.field.target == t[0] for i in definition.inputs(form))],
        purposes=PURPOSES, languages=LANGUAGES, errors=errors or {}, values=values, hidden_words=HIDDEN_SOURCE_WORDS,
        problems=builder.publish_problems(form), email_channel=channel_available("email"),
        words=strings(form.language), doi_subject=DOI_SUBJECT.get(form.language, DOI_SUBJECT["fr"]),
        doi_body=DOI_BODY.get(form.language, DOI_BODY["fr"]),
    ), status


@forms_admin.route("/<int:form_id>")
@roles_required(*EDITORS)
def edit(form_id):
    return _builder_page(_form(form_id))


@forms_admin.route("/<int:form_id>/settings", methods=["POST"])
@roles_required(*EDITORS)
def save_settings(form_id):
    form = _form(form_id)
    try:
        builder.save_settings(form, request.form)
    except BuilderError as error:
        return _builder_page(_form(form_id), error.errors, request.form, 400)
    flash(_("The form settings were saved."))
    return _back(form)


@forms_admin.route("/<int:form_id>/publish", methods=["POST"])
@roles_required(*EDITORS)
def publish(form_id):
    form = _form(form_id)
    if request.form.get("action") == "unpublish":
        builder.unpublish(form)
        flash(_("The form is a draft again: its embeds stop accepting submissions."))
        return _back(form)
    try:
        builder.publish(form)
    except BuilderError as error:
        return _builder_page(form, error.errors, None, 400)
    flash(_("The form is published."))
    return _back(form)


@forms_admin.route("/<int:form_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def delete(form_id):
    form = _form(form_id)
    if request.form.get("confirm") != form.name:
        flash(_("Type the form's name to delete it."), "error")
        return _back(form)
    form.delete_instance()
    flash(_("The form “%(name)s” was deleted; its submissions stay in the contacts' history.", name=form.name))
    return redirect(url_for("forms_admin.index"))


# fields


@forms_admin.route("/<int:form_id>/fields", methods=["POST"])
@roles_required(*EDITORS)
def add_field(form_id):
    form = _form(form_id)
    try:
        field = builder.add_field(form, request.form.get("target", ""), request.form.get("name", ""))
    except BuilderError as error:
        return _builder_page(form, error.errors, None, 400)
    return redirect(url_for("forms_admin.edit_field", form_id=form.id, field_id=field.id))


@forms_admin.route("/<int:form_id>/fields/<int:field_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_field(form_id, field_id):
    form = _form(form_id)
    field = _row(FormField, form, field_id)
    errors = {}
    if request.method == "POST":
        try:
            builder.update_field(form, field, request.form)
        except BuilderError as error:
            errors = error.errors
        else:
            flash(_("The field “%(label)s” was saved.", label=field.label))
            return _back(form, "fields")
    return render_template("forms/admin/field.html", form=form, field=field, item=definition.resolve(field),
                           errors=errors, sources=HIDDEN_SOURCES), 400 if errors else 200


ARRANGED = {"fields": FormField, "consents": ConsentBox, "actions": FormAction}


@forms_admin.route("/<int:form_id>/arrange/<kind>/<int:row_id>", methods=["POST"])
@roles_required(*EDITORS)
def arrange(form_id, kind, row_id):
    """Move a field, consent box or action up or down, or remove it (``op``)."""
    form = _form(form_id)
    op = request.form.get("op", "")
    if kind not in ARRANGED or op not in ("up", "down", "remove"):
        abort(404)
    model = ARRANGED[kind]
    row = _row(model, form, row_id)
    try:
        if op == "remove":
            builder.remove(model, form, row)
        else:
            builder.move(model, form, row, op)
    except BuilderError as error:
        _flash_errors(error)
    return _back(form, kind)


# consent boxes


@forms_admin.route("/<int:form_id>/consents", methods=["POST"])
@forms_admin.route("/<int:form_id>/consents/<int:box_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def consent(form_id, box_id=None):
    form = _form(form_id)
    box = _row(ConsentBox, form, box_id) if box_id else None
    errors = {}
    if request.method == "POST":
        try:
            builder.save_consent(form, box, request.form)
        except BuilderError as error:
            errors = error.errors
            if box is None:
                return _builder_page(form, errors, request.form, 400)
        else:
            flash(_("The consent box was saved."))
            return _back(form, "consents")
    return render_template("forms/admin/consent.html", form=form, box=box, errors=errors, purposes=PURPOSES,
                           values=request.form if errors else None), 400 if errors else 200


# actions


@forms_admin.route("/<int:form_id>/actions", methods=["POST"])
@roles_required(*EDITORS)
def add_action(form_id):
    form = _form(form_id)
    try:
        row = builder.add_action(form, request.form.get("action_id", ""))
    except BuilderError as error:
        return _builder_page(form, error.errors, None, 400)
    return redirect(url_for("forms_admin.edit_action", form_id=form.id, action_row=row.id))


@forms_admin.route("/<int:form_id>/actions/<int:action_row>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_action(form_id, action_row):
    form = _form(form_id)
    row = _row(FormAction, form, action_row)
    action = {a.id: a for a in builder.available_actions()}.get(row.action_id)
    errors = {}
    if request.method == "POST":
        try:
            builder.save_action(form, row, request.form)
        except BuilderError as error:
            errors = error.errors
        else:
            flash(_("The action “%(label)s” was saved.", label=action.label))
            return _back(form, "actions")
    return render_template("forms/admin/action.html", form=form, row=row, action=action, errors=errors,
                           values=request.form if errors else None), 400 if errors else 200


# --- embeds ------------------------------------------------------------------------------------


@forms_admin.route("/<int:form_id>/embed")
@roles_required(*EDITORS)
def embed(form_id):
    form = _form(form_id)
    hosted = external_url("forms.hosted", key=form.key)
    plain = None
    if form.allow_plain_html:
        stylesheet = f'<link rel="stylesheet" href="{external_url("forms.stylesheet")}">\n'
        plain = stylesheet + render_template(
            "forms/_form.html", form=form, items=definition.inputs(form), boxes=definition.consent_boxes(form),
            words=strings(form.language), token=protection.render_token(form, plain_html=True), values={},
            errors={}, action=hosted, page_url="", query={}, referrer="", channel="html")
    return render_template("forms/admin/embed.html", form=form, hosted=hosted, plain=plain,
                           script=external_url("forms.embed_js"), origins=form.allowed_origins or [])


# --- submissions -------------------------------------------------------------------------------


@forms_admin.route("/<int:form_id>/submissions")
@roles_required(*EDITORS)
def submissions(form_id):
    form = _form(form_id)
    page = max(request.args.get("page", 1, type=int), 1)
    query = Submission.select().where(Submission.form == form.id)
    total = query.count()
    rows = list(query.order_by(Submission.created_at.desc(), Submission.id.desc()).paginate(page, PAGE))
    values, runs = {}, {}
    for value in SubmittedValue.select().where(SubmittedValue.submission.in_([r.id for r in rows])).order_by(
            SubmittedValue.id):
        values.setdefault(value.submission_id, []).append(value)
    for run in ActionRun.select().where(ActionRun.submission.in_([r.id for r in rows])):
        runs.setdefault(run.submission_id, []).append(run)
    pending = {o.submission_id: o for o in OptIn.select().where(OptIn.submission.in_([r.id for r in rows]))}
    return render_template("forms/admin/submissions.html", form=form, rows=rows, values=values, runs=runs,
                           pending=pending, channels=CHANNELS, optin_statuses=OPTIN_STATUSES,
                           run_statuses=RUN_STATUSES, total=total, page=page, pages=max((total + PAGE - 1) // PAGE, 1))


@forms_admin.route("/<int:form_id>/submissions.csv")
@roles_required(*EDITORS)
def submissions_export(form_id):
    form = _form(form_id)
    response = Response(submissions_csv(form), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="form-{form.id}-submissions.csv"'
    return response
