"""REST API for the content library, under ``/api/v1/smart-content`` (API key
auth, as everything under ``/api/``)::

    GET    /api/v1/smart-content/contents            ?incomplete=1&limit=&offset=
    POST   /api/v1/smart-content/contents            {title, url, image_url, excerpt, score, stage, tags}
    GET    /api/v1/smart-content/contents/<id>
    PATCH  /api/v1/smart-content/contents/<id>       any of the fields above, and "active"
    DELETE /api/v1/smart-content/contents/<id>
"""
from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request, url_for

from core import created_json, invalid_json, json_body, no_content

from . import library
from .library import ContentError
from .models import Content

smart_content_api = Blueprint("smart_content_api", __name__, url_prefix="/api/v1/smart-content")
EDITORS = ("admin", "marketer")
MAX_PAGE = 500



def _editor() -> None:
    if g.user.role not in EDITORS:
        abort(403, description="Only administrators and marketers can change contents.")


def _one(content: Content) -> dict:
    return library.content_json(content, library.tags_by_content([content.id])[content.id])


def _content(content_id: int) -> Content:
    return Content.get_or_none(Content.id == content_id) or abort(404, description="No such content.")


@smart_content_api.route("/contents", methods=["GET"])
def list_contents():
    limit = min(request.args.get("limit", 100, type=int) or 100, MAX_PAGE)
    offset = max(request.args.get("offset", 0, type=int) or 0, 0)
    query = library.incomplete_query() if request.args.get("incomplete") in ("1", "true") else (
        Content.select().order_by(Content.id))
    items = list(query.limit(limit).offset(offset))
    tags = library.tags_by_content([c.id for c in items])
    return jsonify(items=[library.content_json(c, tags[c.id]) for c in items], total=query.count(),
                   limit=limit, offset=offset)


@smart_content_api.route("/contents", methods=["POST"])
def create_content():
    _editor()
    try:
        content = library.save_content(None, json_body(), source="api")
    except ContentError as error:
        return invalid_json(error.errors)
    return created_json(_one(content), url_for("smart_content_api.get_content", content_id=content.id))


@smart_content_api.route("/contents/<int:content_id>", methods=["GET"])
def get_content(content_id):
    return jsonify(_one(_content(content_id)))


@smart_content_api.route("/contents/<int:content_id>", methods=["PATCH"])
def update_content(content_id):
    _editor()
    content = _content(content_id)
    try:
        content = library.save_content(content, json_body(), partial=True)
    except ContentError as error:
        return invalid_json(error.errors)
    return jsonify(_one(content))


@smart_content_api.route("/contents/<int:content_id>", methods=["DELETE"])
def delete_content(content_id):
    _editor()
    library.delete_content(_content(content_id))
    return no_content()
