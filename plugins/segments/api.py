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

from flask import Blueprint, abort, g, jsonify, url_for

from core import Contact, api_operation as operation, api_schema as s, created_json as created
from core import invalid_json as _invalid, no_content as _no_content
from . import editing, membership
from .compiler import MATCHES, MAX_CONDITIONS
from .words import describe_definition
from .models import KINDS, Segment, SegmentMember

segments_api = Blueprint("segments_api", __name__, url_prefix="/api/v1/segments")
MAX_ADD = 10000
EDITORS = ("admin", "marketer")

PARAM = s.OneOf(s.String(max_length=1000), s.Number(), s.Boolean(),
                s.Array(s.OneOf(s.String(max_length=1000), s.Number()), max_items=1000), nullable=True)
DEFINITION = s.Named("SegmentDefinition", s.Object({
    "match": s.String(enum=MATCHES),
    "groups": s.Array(s.Object({
        "match": s.String(enum=MATCHES),
        "conditions": s.Array(s.Object({
            "filter": s.String(max_length=100, description="A segment filter id, e.g. points, tag, field"),
            "params": s.Object(additional=PARAM, max_properties=20, description="The filter's parameters"),
        }, required=("filter",)), max_items=MAX_CONDITIONS),
    }), max_items=MAX_CONDITIONS),
}, nullable=True, description="Dynamic segments: groups of conditions (see docs/segments.md)"))
_SEGMENT_VALUES = {
    "name": s.String(max_length=editing.MAX_NAME),
    "kind": s.String(enum=KINDS, description="static (a list you fill) or dynamic (a filter); static by default"),
    "filter": DEFINITION,
    "description": s.String(max_length=editing.MAX_DESCRIPTION, nullable=True),
    "tags": s.Array(s.String(max_length=editing.MAX_TAG), max_items=editing.MAX_TAGS),
}
SEGMENT_INPUT = s.Named("SegmentInput", s.Object(_SEGMENT_VALUES, required=("name",)))
SEGMENT_CHANGES = s.Named("SegmentChanges", s.Object(_SEGMENT_VALUES, description="Only the keys sent change"))
SEGMENT = s.Named("Segment", s.Object({
    "id": s.ID, "name": s.String(), "description": s.String(), "kind": s.String(enum=KINDS),
    "tags": s.Array(s.String()), "filter": s.Anything(description="The definition (dynamic segments) or null"),
    "filter_text": s.String(nullable=True), "member_count": s.Integer(minimum=0), "created_at": s.DATETIME,
    "updated_at": s.DATETIME, "last_rebuilt_at": s.String(format="date-time", nullable=True),
    "rebuild_error": s.String(nullable=True),
}, required=("id", "name", "description", "kind", "tags", "filter", "filter_text", "member_count", "created_at",
             "updated_at", "last_rebuilt_at", "rebuild_error")))
MEMBER = s.Object({
    "contact_id": s.ID, "email": s.String(nullable=True), "first_name": s.String(), "last_name": s.String(),
    "added_at": s.DATETIME, "source": s.String(),
}, required=("contact_id", "email", "first_name", "last_name", "added_at", "source"))
WANTED = s.Object({
    "contact_ids": s.Array(s.ID, max_items=MAX_ADD),
    "emails": s.Array(s.String(max_length=254), max_items=MAX_ADD),
}, description=f"At least one contact, at most {MAX_ADD} in all")
ADDED = s.Object({
    "added": s.Integer(minimum=0), "member_count": s.Integer(minimum=0),
    "unknown": s.Array(s.OneOf(s.Integer(), s.String()), description="ids and emails of no contact"),
}, required=("added", "unknown", "member_count"))
SEGMENT_ID = {"segment_id": s.ID}
NOT_AN_EDITOR = "Only administrators and marketers can change segments"
DYNAMIC = "The segment is dynamic: its members come from its filter"


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
@operation("List segments with their member counts", tags=["segments"],
           query={"kind": s.String(enum=KINDS, description="Only static or only dynamic segments")},
           responses={200: ("Every segment, by name", s.Object({"items": s.Array(SEGMENT)}, required=("items",)))})
def list_segments(query):
    found = Segment.select().order_by(Segment.name, Segment.id)
    if query.get("kind"):
        found = found.where(Segment.kind == query["kind"])
    return jsonify(items=[segment_json(segment) for segment in found])


@segments_api.route("", methods=["POST"])
@operation("Create a segment", tags=["segments"], body=SEGMENT_INPUT,
           responses={201: ("The new segment (its URL in Location)", SEGMENT), 403: NOT_AN_EDITOR})
def create_segment(body):
    _editor()
    try:
        segment = editing.save_segment(None, name=body.get("name", ""), kind=body.get("kind", "static"),
                                       definition=body.get("filter"), description=body.get("description") or "",
                                       tags=body.get("tags") or [])
    except editing.SegmentFormError as error:
        return _invalid(error.errors)
    return created(segment_json(segment), url_for("segments_api.get_segment", segment_id=segment.id))


@segments_api.route("/<int:segment_id>", methods=["GET"])
@operation("Get a segment, its count and its filter in words", tags=["segments"], path=SEGMENT_ID,
           responses={200: ("The segment", SEGMENT), 404: "No such segment"})
def get_segment(segment_id):
    return jsonify(segment_json(_segment(segment_id)))


@segments_api.route("/<int:segment_id>", methods=["PATCH", "PUT"])
@operation("Change a segment (PUT is the same as PATCH)", tags=["segments"], path=SEGMENT_ID, body=SEGMENT_CHANGES,
           responses={200: ("The segment as changed", SEGMENT), 403: NOT_AN_EDITOR, 404: "No such segment"})
def update_segment(segment_id, body):
    _editor()
    segment = _segment(segment_id)
    try:
        segment = editing.save_segment(
            segment, name=body.get("name", segment.name), kind=body.get("kind", segment.kind),
            definition=body.get("filter", segment.filter),
            description=body.get("description", segment.description) or "", tags=body.get("tags", segment.tags),
        )
    except editing.SegmentFormError as error:
        return _invalid(error.errors)
    return jsonify(segment_json(segment))


@segments_api.route("/<int:segment_id>", methods=["DELETE"])
@operation("Delete a segment and its memberships", tags=["segments"], path=SEGMENT_ID,
           responses={204: "Deleted", 403: NOT_AN_EDITOR, 404: "No such segment",
                      409: "Other dynamic segments filter on this one"})
def delete_segment(segment_id):
    _editor()
    try:
        editing.delete_segment(_segment(segment_id))
    except editing.SegmentFormError as error:
        abort(409, description=error.errors["segment"])
    return _no_content()


@segments_api.route("/<int:segment_id>/members", methods=["GET"])
@operation("List a segment's members", tags=["segments"], path=SEGMENT_ID, query=s.PAGINATION,
           responses={200: ("A page of members, by contact id", s.page_of(MEMBER)), 404: "No such segment"})
def members(segment_id, query):
    segment = _segment(segment_id)
    limit, offset = query.get("limit", 50), query.get("offset", 0)
    rows = (SegmentMember.select(SegmentMember, Contact).join(Contact)
            .where(SegmentMember.segment == segment.id).order_by(SegmentMember.contact).limit(limit).offset(offset))
    items = [{"contact_id": row.contact.id, "email": row.contact.email, "first_name": row.contact.first_name,
              "last_name": row.contact.last_name, "added_at": row.added_at.isoformat(), "source": row.source}
             for row in rows]
    total = membership.segment_members(segment).count()
    return jsonify(total=total, limit=limit, offset=offset, items=items)


def _wanted_contacts(body: dict) -> tuple[list[int], list]:
    ids, emails = body.get("contact_ids") or [], body.get("emails") or []
    lowered = [str(e).strip().lower() for e in emails]
    found = {c.email: c.id for c in Contact.select(Contact.id, Contact.email).where(Contact.email.in_(lowered))} \
        if lowered else {}
    known_ids = {c.id for c in Contact.select(Contact.id).where(Contact.id.in_(ids))} if ids else set()
    unknown = [i for i in ids if i not in known_ids] + [e for e, low in zip(emails, lowered) if low not in found]
    return list(dict.fromkeys([i for i in ids if i in known_ids] + list(found.values()))), unknown


@segments_api.route("/<int:segment_id>/members", methods=["POST"])
@operation("Add contacts to a static list", tags=["segments"], path=SEGMENT_ID, body=WANTED,
           responses={200: ("How many were added, and what matched no contact", ADDED), 404: "No such segment",
                      409: DYNAMIC})
def add_members(segment_id, body):
    segment = _segment(segment_id)
    if segment.is_dynamic:
        abort(409, description="This segment is dynamic: its members come from its filter.")
    if not (body.get("contact_ids") or body.get("emails")):
        return _invalid({"contact_ids": "send contact_ids and/or emails"})
    if len(body.get("contact_ids") or ()) + len(body.get("emails") or ()) > MAX_ADD:
        return _invalid({"contact_ids": f"send at most {MAX_ADD} contacts per request"})
    contact_ids, unknown = _wanted_contacts(body)
    added = membership.add_contacts_to_segment(segment, contact_ids, source="api") if contact_ids else 0
    return jsonify(added=added, unknown=unknown, member_count=_segment(segment_id).member_count)


@segments_api.route("/<int:segment_id>/members/<int:contact_id>", methods=["DELETE"])
@operation("Remove a contact from a static list", tags=["segments"],
           responses={204: "Removed", 404: "No such segment or contact, or the contact is not in the list",
                      409: DYNAMIC})
def remove_member(segment_id, contact_id):
    segment = _segment(segment_id)
    if segment.is_dynamic:
        abort(409, description="This segment is dynamic: its members come from its filter.")
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404, description="No such contact.")
    if not membership.remove_from_segment(contact, segment, source="api"):
        abort(404, description="This contact is not in the list.")
    return _no_content()


@segments_api.route("/<int:segment_id>/rebuild", methods=["POST"])
@operation("Queue a rebuild of a segment", tags=["segments"], path=SEGMENT_ID,
           responses={202: ("Queued, or already waiting (queued: false)", s.Object({"queued": s.Boolean()},
                                                                                  required=("queued",))),
                      403: NOT_AN_EDITOR, 404: "No such segment"})
def rebuild(segment_id):
    _editor()
    queued = membership.request_rebuild(_segment(segment_id))
    response = jsonify(queued=queued)
    response.status_code = 202
    return response
