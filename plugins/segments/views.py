"""Segments in the admin: list, segment page (words, count, preview of the
members, rebuild), the filter builder, static list membership, delete."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from core import Contact, FieldValueError, current_user, normalize_email, roles_required, translation_domain
from . import builder, editing, membership
from .words import describe_definition
from .models import Segment, SegmentMember

segments_admin = Blueprint("segments", __name__, url_prefix="/admin/segments", static_folder="static")
PREVIEW = 50
EDITORS = ("admin", "marketer")
_ = translation_domain(__name__).gettext


def _segment(segment_id: int) -> Segment:
    return Segment.get_or_none(Segment.id == segment_id) or abort(404)


@segments_admin.route("")
def index():
    segments = list(Segment.select().order_by(Segment.name, Segment.id))
    return render_template("segments/index.html", segments=segments,
                           words={s.id: describe_definition(s.filter) for s in segments if s.is_dynamic})


@segments_admin.route("/<int:segment_id>")
def show(segment_id):
    segment = _segment(segment_id)
    preview = (Contact.select().join(SegmentMember, on=(SegmentMember.contact == Contact.id))
               .where(SegmentMember.segment == segment.id)
               .order_by(SegmentMember.added_at.desc(), Contact.id.desc()).limit(PREVIEW))
    return render_template(
        "segments/segment.html", segment=segment, preview=list(preview), preview_size=PREVIEW,
        words=describe_definition(segment.filter) if segment.is_dynamic else "",
        can_edit=_can_edit(),
    )


def _can_edit() -> bool:
    user = current_user()
    return user is not None and user.role in EDITORS


# --- create and edit ---------------------------------------------------------------


def _starting_definition(segment: Segment | None) -> dict:
    if segment is not None and (segment.filter or {}).get("groups"):
        return segment.filter
    return builder.apply_action({"match": "all", "groups": []}, "")


def _render_form(segment, values: dict, definition: dict, errors: dict, status: int = 200):
    return render_template(
        "segments/form.html", segment=segment, values=values, errors=errors,
        match=definition.get("match", "all"),
        groups=builder.rows(definition, segment.id if segment else None, errors),
        subjects=builder.subjects(),
    ), status


def _edit(segment: Segment | None):
    if request.method == "GET":
        values = {
            "name": segment.name if segment else "",
            "description": segment.description if segment else "",
            "tags": ", ".join(segment.tags or []) if segment else "",
            "kind": segment.kind if segment else (request.args.get("kind") if request.args.get("kind")
                                                  in ("static", "dynamic") else "dynamic"),
        }
        return _render_form(segment, values, _starting_definition(segment), {})
    form = request.form
    values = {key: form.get(key, "") for key in ("name", "description", "tags", "kind")}
    definition = builder.parse_form(form)
    action = form.get("action", "save")
    if action != "save":
        return _render_form(segment, values, builder.apply_action(definition, action), {})
    cleaned = builder.without_blanks(definition)
    try:
        saved = editing.save_segment(segment, name=values["name"], kind=values["kind"], definition=cleaned,
                                     description=values["description"], tags=values["tags"])
    except editing.SegmentFormError as error:
        shown = cleaned if cleaned["groups"] else builder.apply_action(cleaned, "")
        return _render_form(segment, values, shown, error.errors, status=400)
    if saved.is_dynamic:
        flash(_("The segment “%(name)s” was saved; its members are being computed.", name=saved.name))
    else:
        flash(_("The list “%(name)s” was saved.", name=saved.name))
    return redirect(url_for("segments.show", segment_id=saved.id))


@segments_admin.route("/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new():
    return _edit(None)


@segments_admin.route("/<int:segment_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(segment_id):
    return _edit(_segment(segment_id))


@segments_admin.route("/<int:segment_id>/delete", methods=["GET", "POST"])
@roles_required(*EDITORS)
def delete(segment_id):
    segment = _segment(segment_id)
    blocking = editing.dependents_blocking_delete(segment)
    if request.method == "POST" and not blocking:
        editing.delete_segment(segment)
        flash(_("The segment “%(name)s” was deleted.", name=segment.name))
        return redirect(url_for("segments.index"))
    return render_template("segments/delete.html", segment=segment, blocking=blocking), \
        (409 if request.method == "POST" else 200)


@segments_admin.route("/<int:segment_id>/rebuild", methods=["POST"])
@roles_required(*EDITORS)
def rebuild(segment_id):
    segment = _segment(segment_id)
    if membership.request_rebuild(segment):
        flash(_("The rebuild was queued; the count updates when it is done."))
    else:
        flash(_("A rebuild of this segment is already waiting to run."))
    return redirect(url_for("segments.show", segment_id=segment.id))


# --- static list membership -----------------------------------------------------------


@segments_admin.route("/<int:segment_id>/members", methods=["POST"])
def add_member(segment_id):
    segment = _segment(segment_id)
    raw = request.form.get("email", "")
    try:
        email = normalize_email(raw)
    except FieldValueError as error:
        flash(str(error), "error")
        return redirect(url_for("segments.show", segment_id=segment.id))
    contact = Contact.get_or_none(Contact.email == email) if email else None
    if contact is None:
        flash(_("No contact has the email “%(email)s”.", email=raw.strip()), "error")
    else:
        try:
            added = membership.add_to_segment(contact, segment, source="manual")
        except membership.SegmentError as error:
            flash(str(error), "error")
        else:
            flash(_("%(name)s was added.", name=contact.display_name) if added
                  else _("%(name)s was already in the list.", name=contact.display_name))
    return redirect(url_for("segments.show", segment_id=segment.id))


@segments_admin.route("/<int:segment_id>/members/<int:contact_id>/remove", methods=["POST"])
def remove_member(segment_id, contact_id):
    segment = _segment(segment_id)
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    try:
        membership.remove_from_segment(contact, segment, source="manual")
    except membership.SegmentError as error:
        flash(str(error), "error")
    else:
        flash(_("%(name)s was removed from the list.", name=contact.display_name))
    if request.form.get("back") == "contact":
        return redirect(url_for("admin.contact", contact_id=contact.id))
    return redirect(url_for("segments.show", segment_id=segment.id))


@segments_admin.route("/contact/<int:contact_id>", methods=["POST"])
def add_contact(contact_id):
    """From the contact page: put the contact in the chosen static list."""
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    segment_id = request.form.get("segment_id", type=int)
    try:
        added = membership.add_to_segment(contact, segment_id, source="manual") if segment_id else None
    except membership.SegmentError as error:
        flash(str(error), "error")
    else:
        if added is None:
            flash(_("Choose a list."), "error")
        else:
            flash(_("Added to the list.") if added else _("Already in that list."))
    return redirect(url_for("admin.contact", contact_id=contact.id))
