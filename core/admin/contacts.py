"""Contacts in the admin: list with search, the contact page and its timeline,
create, edit, delete, tags."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from .. import contacts as service
from ..auth import current_user
from ..erasure import ErasureError, erase_contact
from ..extension import FieldValueError
from ..files import open_stored, store_upload
from ..models import Contact, Event, StoredFile, User
from ..i18n import core_domain
from . import admin_blueprint

_ = core_domain().gettext

PAGE_SIZE = 50
SORTS = {
    "created": Contact.created_at.desc(),
    "email": Contact.email.asc(),
    "name": Contact.last_name.asc(),
    "points": Contact.points.desc(),
    "activity": Contact.last_interaction_at.desc(),
}


def contacts_shown(user, asked: str) -> str:
    """``"mine"`` or ``"all"``: what the user asked for; by default "My
    contacts" for users who are not administrators and own contacts (a sales
    rep), "All contacts" otherwise (an administrator, a marketer who owns none)."""
    if asked in ("mine", "all"):
        return asked
    if user.role != "admin" and Contact.select().where(Contact.owner == user.id).exists():
        return "mine"
    return "all"


@admin_blueprint.route("/contacts")
def contacts():
    q = request.args.get("q", "").strip()
    sort = request.args.get("sort", "created")
    page = max(request.args.get("page", 1, type=int), 1)
    user = current_user()
    show = contacts_shown(user, request.args.get("show", ""))
    query = service.search_contacts(q)
    if show == "mine":
        query = query.where(Contact.owner == user.id)
    total = query.count()
    rows = query.order_by(SORTS.get(sort, SORTS["created"]), Contact.id.desc()).paginate(page, PAGE_SIZE)
    return render_template(
        "core/admin/contacts.html", contacts=list(rows), q=q, sort=sort, page=page, total=total,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), show=show,
    )


def _form_values(form, fields) -> dict:
    raw = {key: form.get(key, "") for key in service.NATIVE_FIELDS}
    for custom in fields:
        field_type = service.field_types().get(custom.type_id)
        if field_type is None or field_type.is_file:
            continue
        raw[custom.key] = form.getlist(custom.key) if field_type.multi_valued else form.get(custom.key)
    return raw


def _store_uploads(files, fields) -> tuple[dict, dict, list[StoredFile]]:
    """Store the files sent for file fields like any upload (type, size and
    content checked, kept outside static): ``(values, errors, stored)``."""
    config = current_app.extensions["couvee"].config
    values, errors, stored = {}, {}, []
    for custom in fields:
        field_type = service.field_types().get(custom.type_id)
        sent = files.get(custom.key) if field_type is not None and field_type.is_file else None
        if sent is None or not sent.filename:
            continue
        try:
            row = store_upload(sent.stream, sent.filename, config.uploads_path, config.max_upload_bytes)
        except FieldValueError as error:
            errors[custom.key] = f"{error} Choose the file again."
        else:
            values[custom.key] = str(row.id)
            stored.append(row)
    return values, errors, stored


def _discard(stored: list[StoredFile]) -> None:
    """Remove files stored for a form that was then refused."""
    uploads_path = current_app.extensions["couvee"].config.uploads_path
    for row in stored:
        open_stored(row, uploads_path).unlink(missing_ok=True)
        row.delete_instance()


def _save_with_uploads(save, values: dict, fields) -> tuple[object, dict]:
    """``(save(values with the uploaded files), {})``, or ``(None, the form's
    errors)`` with nothing kept. (The edit form leaves files to the contact
    page's upload forms, which replace one file at a time.)"""
    uploaded, errors, stored = _store_uploads(request.files, fields)
    if errors:
        _discard(stored)
        return None, {**service.parse_values(values)[1], **errors}
    try:
        return save({**values, **uploaded}), {}
    except service.ContactError as error:
        _discard(stored)
        return None, error.errors


def _owner_from_form(form):
    owner_id = form.get("owner_id", type=int)
    return User.get_or_none(User.id == owner_id) if owner_id else None


@admin_blueprint.route("/contacts/new", methods=["GET", "POST"])
def contact_new():
    fields = service.custom_fields()
    errors, values = {}, {}
    if request.method == "POST":
        values = _form_values(request.form, fields)
        contact, errors = _save_with_uploads(
            lambda raw: service.create_contact(raw, source="admin", owner=_owner_from_form(request.form)),
            values, fields)
        if not errors:
            flash(_("The contact was created."))
            return redirect(url_for("admin.contact", contact_id=contact.id))
    return render_template("core/admin/contact_form.html", contact=None, fields=fields, values=values,
                           errors=errors, users=User.select().where(User.is_active), types=service.field_types()), (400 if errors else 200)


def _contact(contact_id) -> Contact:
    return Contact.get_or_none(Contact.id == contact_id) or abort(404)


@admin_blueprint.route("/contacts/<int:contact_id>")
def contact(contact_id):
    contact = _contact(contact_id)
    timeline = Event.select().where(Event.contact == contact.id).order_by(Event.created_at.desc(), Event.id.desc())
    return render_template(
        "core/admin/contact.html", contact=contact, values=service.get_values(contact),
        fields=service.custom_fields(), types=service.field_types(), tags=service.tags_of(contact),
        timeline=list(timeline.limit(200)),
    )


@admin_blueprint.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
def contact_edit(contact_id):
    contact = _contact(contact_id)
    fields = service.custom_fields()
    errors = {}
    values = {**{k: getattr(contact, k) for k in service.NATIVE_FIELDS}, **service.get_values(contact)}
    if request.method == "POST":
        values = _form_values(request.form, fields)
        try:
            service.update_contact(contact, values, source="admin")
        except service.ContactError as error:
            errors = error.errors
        else:
            owner = _owner_from_form(request.form)
            if (owner.id if owner else None) != contact.owner_id:
                contact.owner = owner
                contact.save()
            flash(_("The contact was saved."))
            return redirect(url_for("admin.contact", contact_id=contact.id))
    return render_template("core/admin/contact_form.html", contact=contact, fields=fields, values=values,
                           errors=errors, users=User.select().where(User.is_active), types=service.field_types()), (400 if errors else 200)


@admin_blueprint.route("/contacts/<int:contact_id>/delete", methods=["POST"])
def contact_delete(contact_id):
    contact = _contact(contact_id)
    try:
        erase_contact(contact, "delete")
    except ErasureError as error:
        flash(_("The contact was not deleted: %(error)s", error=error), "error")
        return redirect(url_for("admin.contact", contact_id=contact_id))
    flash(_("The contact was deleted, with what every plugin held about them."))
    return redirect(url_for("admin.contacts"))


@admin_blueprint.route("/contacts/<int:contact_id>/tags", methods=["POST"])
def contact_tags(contact_id):
    contact = _contact(contact_id)
    try:
        if request.form.get("remove"):
            service.remove_tag(contact, request.form["remove"], source="admin")
        else:
            service.add_tag(contact, request.form.get("tag", ""), source="admin")
    except FieldValueError as error:
        flash(str(error), "error")
    return redirect(url_for("admin.contact", contact_id=contact.id))
