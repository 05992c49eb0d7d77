"""REST API for the content library, under ``/api/v1/smart-content`` (API key
auth, as everything under ``/api/``)::

    GET    /api/v1/smart-content/contents            ?incomplete=1&limit=&offset=
    POST   /api/v1/smart-content/contents            {title, url, image_url, excerpt, score, stage, tags}
    GET    /api/v1/smart-content/contents/<id>
    PATCH  /api/v1/smart-content/contents/<id>       any of the fields above, and "active"
    DELETE /api/v1/smart-content/contents/<id>
"""
from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, url_for

from core import api_operation, api_schema as s, created_json, invalid_json, no_content

from . import library
from .library import ContentError
from .models import STAGES, Content

smart_content_api = Blueprint("smart_content_api", __name__, url_prefix="/api/v1/smart-content")
EDITORS = ("admin", "marketer")

_CONTENT_VALUES = {
    "title": s.String(max_length=500),
    "url": s.String(max_length=2000, format="uri", description="http(s) address, unique in the library"),
    "image_url": s.String(max_length=2000, nullable=True, description="http(s) address of the image"),
    "excerpt": s.String(max_length=20000, nullable=True, description="Plain text, kept to 2,000 characters"),
    "score": s.Integer(minimum=-1000000, maximum=1000000, nullable=True),
    "stage": s.String(max_length=50, nullable=True, description="One of " + ", ".join(STAGES) + ", or empty"),
    "tags": s.OneOf(s.Array(s.String(max_length=library.MAX_TAG), max_items=library.MAX_TAGS),
                    s.String(max_length=5000), description="A list, or names separated by commas"),
    "active": s.Boolean(description="Inactive contents are never picked"),
}
CONTENT_INPUT = s.Named("SmartContentInput", s.Object(_CONTENT_VALUES, required=("title", "url")))
CONTENT_CHANGES = s.Named("SmartContentChanges", s.Object(_CONTENT_VALUES, description="Only the keys sent change"))
CONTENT = s.Named("SmartContent", s.Object({
    "id": s.ID, "title": s.String(), "url": s.String(), "image_url": s.String(), "excerpt": s.String(),
    "score": s.Integer(), "stage": s.String(enum=STAGES, nullable=True), "tags": s.Array(s.String()),
    "source": s.String(), "feed_id": s.Integer(nullable=True), "active": s.Boolean(),
    "missing": s.Array(s.String(enum=("image", "excerpt", "stage", "tags")), description="What is still to fill in"),
    "published_at": s.String(format="date-time", nullable=True), "created_at": s.DATETIME,
    "updated_at": s.DATETIME,
}, required=("id", "title", "url", "image_url", "excerpt", "score", "stage", "tags", "source", "feed_id", "active",
             "missing", "published_at", "created_at", "updated_at")))
CONTENT_ID = {"content_id": s.ID}
NOT_AN_EDITOR = "Only administrators and marketers can change contents"


def _editor() -> None:
    if g.user.role not in EDITORS:
        abort(403, description="Only administrators and marketers can change contents.")


def _one(content: Content) -> dict:
    return library.content_json(content, library.tags_by_content([content.id])[content.id])


def _content(content_id: int) -> Content:
    return Content.get_or_none(Content.id == content_id) or abort(404, description="No such content.")


@smart_content_api.route("/contents", methods=["GET"])
@api_operation("List the content library", tags=["smart-content"], query={
    "incomplete": s.Boolean(description="Only active contents still missing an image, excerpt, stage or tags"),
    **s.PAGINATION}, responses={200: ("A page of contents (default 100)", s.page_of(CONTENT))})
def list_contents(query):
    limit, offset = query.get("limit", 100), query.get("offset", 0)
    found = library.incomplete_query() if query.get("incomplete") else Content.select().order_by(Content.id)
    items = list(found.limit(limit).offset(offset))
    tags = library.tags_by_content([c.id for c in items])
    return jsonify(items=[library.content_json(c, tags[c.id]) for c in items], total=found.count(),
                   limit=limit, offset=offset)


@smart_content_api.route("/contents", methods=["POST"])
@api_operation("Add a content to the library", tags=["smart-content"], body=CONTENT_INPUT,
               responses={201: ("The new content (its URL in Location)", CONTENT), 403: NOT_AN_EDITOR})
def create_content(body):
    _editor()
    try:
        content = library.save_content(None, body, source="api")
    except ContentError as error:
        return invalid_json(error.errors)
    return created_json(_one(content), url_for("smart_content_api.get_content", content_id=content.id))


@smart_content_api.route("/contents/<int:content_id>", methods=["GET"])
@api_operation("Get a content", tags=["smart-content"], path=CONTENT_ID,
               responses={200: ("The content", CONTENT), 404: "No such content"})
def get_content(content_id):
    return jsonify(_one(_content(content_id)))


@smart_content_api.route("/contents/<int:content_id>", methods=["PATCH"])
@api_operation("Change a content", tags=["smart-content"], path=CONTENT_ID, body=CONTENT_CHANGES,
               responses={200: ("The content as changed", CONTENT), 403: NOT_AN_EDITOR, 404: "No such content"})
def update_content(content_id, body):
    _editor()
    content = _content(content_id)
    try:
        content = library.save_content(content, body, partial=True)
    except ContentError as error:
        return invalid_json(error.errors)
    return jsonify(_one(content))


@smart_content_api.route("/contents/<int:content_id>", methods=["DELETE"])
@api_operation("Remove a content (the send log keeps its rows)", tags=["smart-content"], path=CONTENT_ID,
               responses={204: "Deleted", 403: NOT_AN_EDITOR, 404: "No such content"})
def delete_content(content_id):
    _editor()
    library.delete_content(_content(content_id))
    return no_content()
