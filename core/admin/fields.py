"""``/admin/fields``: create, edit, reorder and archive custom fields, and
attach a file to a contact's file field (the contact form does not take
uploads)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from .. import contacts as contact_service
from ..auth import roles_required
from ..extension import FieldValueError
from ..files import store_upload
from ..models import Contact, CustomField
from .. import fields_admin as service
from ..i18n import core_domain

_ = core_domain().gettext

fields_blueprint = Blueprint("fields", __name__, url_prefix="/admin/fields")
EDITORS = ("admin", "marketer")


def _field(field_id: int) -> CustomField:
    return CustomField.get_or_none(CustomField.id == field_id) or abort(404)


def _render_index(form=None, errors=None, status=200):
    types = service.field_types()
    return render_template(
        "core/fields/index.html", fields=service.active_fields(), archived=service.archived_fields(),
        types=types, option_types=[t.label for t in types if service.uses_options(t)],
        counts=service.contacts_per_field(), form=form or {}, errors=errors or {},
    ), status


@fields_blueprint.route("")
@roles_required(*EDITORS)
def index():
    """The list of fields, in contact-form order, and the form to add one."""
    return _render_index()


@fields_blueprint.route("/new", methods=["POST"])
@roles_required(*EDITORS)
def create():
    """Create a field; a refused form comes back with its messages."""
    try:
        field = service.create_field(request.form)
    except service.FieldFormError as error:
        return _render_index(request.form, error.errors, 400)
    flash(_("The field “%(label)s” was created (key %(key)s).", label=field.label, key=field.key))
    return redirect(url_for("fields.index"))


@fields_blueprint.route("/<int:field_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(field_id):
    """Edit label, help, options and position. Removing options that contacts
    use asks for a confirmation first."""
    field = _field(field_id)
    form, errors, in_use, status = _field_form(field), {}, {}, 200
    if request.method == "POST":
        form = request.form
        try:
            service.update_field(field, form, confirm_removal=bool(form.get("confirm_removal")))
        except service.FieldFormError as error:
            errors, status = error.errors, 400
        except service.OptionsInUse as warning:
            in_use = warning.usage
        else:
            flash(_("The field “%(label)s” was saved.", label=_field(field_id).label))
            return redirect(url_for("fields.index"))
    field_type = service.field_types().get(field.type_id)
    return render_template(
        "core/fields/edit.html", field=field, field_type=field_type, form=form, errors=errors, in_use=in_use,
        has_options=field_type is not None and service.uses_options(field_type),
        count=service.contacts_per_field().get(field.id, 0), fields_count=len(service.active_fields()),
    ), status


def _field_form(field: CustomField) -> dict:
    position = next((i for i, f in enumerate(service.active_fields(), start=1) if f.id == field.id), "")
    return {"label": field.label, "help_text": field.help_text, "options": "\n".join(field.options or []),
            "position": position}


@fields_blueprint.route("/<int:field_id>/move", methods=["POST"])
@roles_required(*EDITORS)
def move(field_id):
    """Move a field one place up or down on the contact form."""
    service.move_field(_field(field_id), -1 if request.form.get("direction") == "up" else 1)
    return redirect(url_for("fields.index"))


@fields_blueprint.route("/<int:field_id>/archive", methods=["POST"])
@roles_required(*EDITORS)
def archive(field_id):
    """Archive (``archived=1``) or bring back (``archived=0``) a field."""
    field = _field(field_id)
    archived = request.form.get("archived", "1") == "1"
    service.set_archived(field, archived)
    flash(_("The field “%(label)s” was archived: its values are kept.", label=field.label) if archived
          else _("The field “%(label)s” was brought back.", label=field.label))
    return redirect(url_for("fields.index"))


# --- files on contacts -------------------------------------------------------------------


def _file_field(field_id: int) -> CustomField:
    field = _field(field_id)
    field_type = service.field_types().get(field.type_id)
    if field.archived or field_type is None or not field_type.is_file:
        abort(404)
    return field


@fields_blueprint.route("/<int:field_id>/upload/<int:contact_id>", methods=["POST"])
def upload(field_id, contact_id):
    """Store the uploaded ``file`` and make it the contact's value for this
    file field (the previous file stays in storage)."""
    field = _file_field(field_id)
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        flash(_("Choose a file to attach as %(label)s.", label=field.label), "error")
        return redirect(url_for("admin.contact", contact_id=contact.id))
    config = current_app.extensions["couvee"].config
    try:
        stored = store_upload(sent.stream, sent.filename, config.uploads_path, config.max_upload_bytes)
    except FieldValueError as error:
        flash(_("%(label)s: %(error)s", label=field.label, error=error), "error")
    else:
        contact_service.update_contact(contact, {field.key: str(stored.id)}, source="admin")
        flash(_("“%(file)s” is now the %(label)s of this contact.", file=stored.original_name, label=field.label))
    return redirect(url_for("admin.contact", contact_id=contact.id))


@fields_blueprint.route("/<int:field_id>/clear/<int:contact_id>", methods=["POST"])
def clear(field_id, contact_id):
    """Remove the file from the contact's field (the stored file is kept)."""
    field = _file_field(field_id)
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    contact_service.update_contact(contact, {field.key: None}, source="admin")
    flash(_("%(label)s was removed from this contact.", label=field.label))
    return redirect(url_for("admin.contact", contact_id=contact.id))
