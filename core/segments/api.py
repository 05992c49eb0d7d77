"""REST endpoints for segments under ``/api/v1/segments`` (API key auth, as
everything under ``/api/``)::

    GET    /api/v1/segments                       list with counts
    POST   /api/v1/segments                       create {name, kind, filter, description, tags}
    GET    /api/v1/segments/<id>                  one segment, its count and filter in words
    PATCH  /api/v1/segments/<id>                  change it
    DELETE /api/v1/segments/<id>
    GET    /api/v1/segments/<id>/members          ?limit=&offset= (paginated)
    POST   /api/v1/segments/<id>/members          static lists: {"contact_ids": [...], "emails": [...]}
    DELETE /api/v1/segments/<id>/members/<cid>    static lists
    POST   /api/v1/segments/<id>/rebuild          queue a rebuild (202)
"""
from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request, url_for

from ..models import Contact
from ..rest.responses import created, invalid as _invalid, json_body as _body, no_content as _no_content
from . import editing, membership
from .words import describe_definition
from .models import Segment, SegmentMember

segments_api = Blueprint("segments_api", __name__, url_prefix="/api/v1/segments")
MAX_PAGE = 500
MAX_ADD = 10000
EDITORS = ("admin", "marketer")


def segment_json(segment: Segment) -> dict:
    return {
        "id": segment.id,
        "name": segment.name,
        "description": segment.description,
        "kind": segment.kind,
        "tags": segment.tags or [],
        "filter": segment.filter if segment.is_dynamic else None,
        "filter_text": describe_definition(segment.filter) if segment.is_dynamic else None,
        "member_count": segment.member_count,
        "created_at": segment.created_at.isoformat(),
        "updated_at": segment.updated_at.isoformat(),
        "last_rebuilt_at": segment.last_rebuilt_at.isoformat() if segment.last_rebuilt_at else None,
        "rebuild_error": segment.rebuild_error or None,
    }


def _segment(segment_id: int) -> Segment:
    return Segment.get_or_none(Segment.id == segment_id) or abort(404, description="No such segment.")


def _editor() -> None:
    if g.user.role not in EDITORS:
        abort(403, description="Only administrators and marketers can change segments.")


@segments_api.route("", methods=["GET"])
def list_segments():
    query = Segment.select().order_by(Segment.name, Segment.id)
    if request.args.get("kind") in ("static", "dynamic"):
        query = query.where(Segment.kind == request.args["kind"])
    return jsonify(items=[segment_json(s) for s in query])


@segments_api.route("", methods=["POST"])
def create_segment():
    _editor()
    body = _body()
    try:
        segment = editing.save_segment(None, name=body.get("name", ""), kind=body.get("kind", "static"),
                                       definition=body.get("filter"), description=body.get("description", ""),
                                       tags=body.get("tags") or [])
    except editing.SegmentFormError as error:
        return _invalid(error.errors)
    return created(segment_json(segment), url_for("segments_api.get_segment", segment_id=segment.id))


@segments_api.route("/<int:segment_id>", methods=["GET"])
def get_segment(segment_id):
    return jsonify(segment_json(_segment(segment_id)))


@segments_api.route("/<int:segment_id>", methods=["PATCH", "PUT"])
def update_segment(segment_id):
    _editor()
    segment, body = _segment(segment_id), _body()
    try:
        segment = editing.save_segment(
            segment, name=body.get("name", segment.name), kind=body.get("kind", segment.kind),
            definition=body.get("filter", segment.filter), description=body.get("description", segment.description),
            tags=body.get("tags", segment.tags),
        )
    except editing.SegmentFormError as error:
        return _invalid(error.errors)
    return jsonify(segment_json(segment))


@segments_api.route("/<int:segment_id>", methods=["DELETE"])
def delete_segment(segment_id):
    _editor()
    try:
        editing.delete_segment(_segment(segment_id))
    except editing.SegmentFormError as error:
        abort(409, description=error.errors["segment"])
    return _no_content()


@segments_api.route("/<int:segment_id>/members", methods=["GET"])
def members(segment_id):
    segment = _segment(segment_id)
    limit = min(max(request.args.get("limit", 50, type=int), 1), MAX_PAGE)
    offset = max(request.args.get("offset", 0, type=int), 0)
    rows = (SegmentMember.select(SegmentMember, Contact).join(Contact)
            .where(SegmentMember.segment == segment.id).order_by(SegmentMember.contact).limit(limit).offset(offset))
    items = [{"contact_id": row.contact.id, "email": row.contact.email, "first_name": row.contact.first_name,
              "last_name": row.contact.last_name, "added_at": row.added_at.isoformat(), "source": row.source}
             for row in rows]
    total = membership.segment_members(segment).count()
    return jsonify(total=total, limit=limit, offset=offset, items=items)


def _wanted_contacts(body: dict) -> tuple[list[int], list]:
    ids, emails = body.get("contact_ids") or [], body.get("emails") or []
    if not isinstance(ids, list) or not isinstance(emails, list) or not (ids or emails):
        abort(400, description="Send {\"contact_ids\": [...]} and/or {\"emails\": [...]}.")
    if len(ids) + len(emails) > MAX_ADD:
        abort(413, description=f"Send at most {MAX_ADD} contacts per request.")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        abort(400, description="contact_ids must be integers.")
    lowered = [str(e).strip().lower() for e in emails]
    found = {c.email: c.id for c in Contact.select(Contact.id, Contact.email).where(Contact.email.in_(lowered))} \
        if lowered else {}
    known_ids = {c.id for c in Contact.select(Contact.id).where(Contact.id.in_(ids))} if ids else set()
    unknown = [i for i in ids if i not in known_ids] + [e for e, low in zip(emails, lowered) if low not in found]
    return list(dict.fromkeys([i for i in ids if i in known_ids] + list(found.values()))), unknown


@segments_api.route("/<int:segment_id>/members", methods=["POST"])
def add_members(segment_id):
    segment = _segment(segment_id)
    if segment.is_dynamic:
        abort(409, description="This segment is dynamic: its members come from its filter.")
    contact_ids, unknown = _wanted_contacts(_body())
    added = membership.add_contacts_to_segment(segment, contact_ids, source="api") if contact_ids else 0
    return jsonify(added=added, unknown=unknown, member_count=_segment(segment_id).member_count)


@segments_api.route("/<int:segment_id>/members/<int:contact_id>", methods=["DELETE"])
def remove_member(segment_id, contact_id):
    segment = _segment(segment_id)
    if segment.is_dynamic:
        abort(409, description="This segment is dynamic: its members come from its filter.")
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404, description="No such contact.")
    if not membership.remove_from_segment(contact, segment, source="api"):
        abort(404, description="This contact is not in the list.")
    return _no_content()


@segments_api.route("/<int:segment_id>/rebuild", methods=["POST"])
def rebuild(segment_id):
    _editor()
    queued = membership.request_rebuild(_segment(segment_id))
    response = jsonify(queued=queued)
    response.status_code = 202
    return response
