"""Small helpers shared by every JSON endpoint (core's and plugins')."""
from __future__ import annotations

from flask import Response, abort, jsonify, request


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what to send."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="Send a JSON object with Content-Type: application/json.")
    return body


def invalid(errors: dict) -> Response:
    """422 with a message per field."""
    response = jsonify(error="invalid", message="Some values are invalid.", errors=errors)
    response.status_code = 422
    return response


def created(payload: dict, location: str | None = None) -> Response:
    """201 with the new resource as JSON and, when given, its ``Location``."""
    response = jsonify(payload)
    response.status_code = 201
    if location:
        response.headers["Location"] = location
    return response


def no_content() -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response
