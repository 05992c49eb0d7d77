"""Small helpers shared by every JSON endpoint (core's and plugins')."""
from __future__ import annotations

from flask import Response, jsonify

from .operation import json_object_body


def json_body() -> dict:
    """The request's JSON object (bounded in size and nesting), or a 400/413
    that says what to send. API views declare a ``body`` schema with
    :func:`core.rest.operation.operation` instead, which also documents it."""
    return json_object_body()


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
