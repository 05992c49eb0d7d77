"""Declare an API endpoint once: what it accepts and what it answers.

:func:`operation` wraps a view under ``/api/v1``. Before the view runs, the
path ids, the query string and the JSON body are checked against their
schemas (every problem at once: 422 naming each field; a path id that cannot
exist: 404); the view receives the checked values as ``query`` and ``body``.
The same declaration is what the OpenAPI document describes
(:mod:`core.rest.openapi` reads it from the URL map), so a route a core
feature or a plugin adds is documented by the decorator that serves it::

    from core import api_operation, api_schema as s

    @bp.route("/contents/<int:content_id>", methods=["PATCH"])
    @api_operation("Change a content", body=CONTENT_INPUT,
                   responses={200: ("The content", CONTENT), 403: "Not an editor", 404: "No such content"})
    def update_content(content_id, body):
        ...
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

from flask import abort, jsonify, request

from .schema import ERROR, ID, Schema

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32


class BodyError(ValueError):
    """The request body is not a JSON object we can read (status 400 or 413)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def error_response(status: int, error: str, message: str, errors: dict | None = None):
    """The JSON error every endpoint answers: ``{"error", "message", "errors"?}``."""
    payload = {"error": error, "message": message}
    if errors:
        payload["errors"] = errors
    response = jsonify(payload)
    response.status_code = status
    return response


def _depth(value) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def read_json_object() -> dict:
    """The body as a JSON object, bounded in size (2 MB) and nesting (32
    levels); :class:`BodyError` says what is wrong."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BodyError(f"The body is larger than {MAX_BODY_BYTES // 1024 // 1024} MB.", 413)
    if not request.is_json:
        raise BodyError("Send a JSON object with Content-Type: application/json.")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise BodyError(f"The body is larger than {MAX_BODY_BYTES // 1024 // 1024} MB.", 413)
    try:
        body = json.loads(raw)
    except RecursionError:
        raise BodyError(f"The JSON is nested too deeply (at most {MAX_DEPTH} levels).") from None
    except ValueError as error:  # also UnicodeDecodeError
        raise BodyError(f"The body is not valid JSON ({error}).") from None
    if not isinstance(body, dict):
        raise BodyError("Send a JSON object ({...}) with Content-Type: application/json.")
    if _depth(body) > MAX_DEPTH:
        raise BodyError(f"The JSON is nested too deeply (at most {MAX_DEPTH} levels).")
    return body


@dataclass
class Reply:
    """One documented answer: ``schema`` None means no body (204) or, for an
    error status, the common error object."""

    description: str
    schema: Schema | None = None


@dataclass
class Operation:
    summary: str
    description: str = ""
    body: Schema | None = None
    query: dict[str, Schema] = field(default_factory=dict)
    path: dict[str, Schema] = field(default_factory=dict)
    responses: dict[int, Reply] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    def all_responses(self, *, public: bool, path_arguments) -> dict[int, Reply]:
        """The declared answers plus those every endpoint of this shape can give."""
        answers = dict(self.responses)
        if self.body is not None:
            answers.setdefault(400, Reply("The body is not a JSON object, or is nested too deeply"))
            answers.setdefault(413, Reply("The body is too large"))
        answers.setdefault(422, Reply("Some values are invalid, or a query parameter is unknown: "
                                      "`errors` names each one"))
        if path_arguments:
            answers.setdefault(404, Reply("Not found"))
        if not public:
            answers.setdefault(401, Reply("No API key, or a revoked or wrong one"))
        return {status: Reply(reply.description, ERROR) if status >= 400 and reply.schema is None else reply
                for status, reply in sorted(answers.items())}


def _reply(value) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, tuple):
        return Reply(*value)
    return Reply(str(value))


def operation(summary: str, *, description: str = "", body: Schema | None = None,
              query: dict[str, Schema] | None = None, path: dict[str, Schema] | None = None,
              responses: dict | None = None, tags=()):
    """Decorate an API view (below its ``route``). ``responses`` maps a status
    to ``"description"`` or ``("description", schema)``; 400/413 (body), 422
    (any invalid value or unknown query parameter), 404 (path ids) and 401
    (unless ``@public``) are added for you. Path arguments default to a
    positive database id (:data:`schema.ID`)."""
    declared = Operation(summary=summary, description=description, body=body, query=dict(query or {}),
                         path=dict(path or {}), responses={int(k): _reply(v) for k, v in (responses or {}).items()},
                         tags=tuple(tags))

    def decorate(view):
        @functools.wraps(view)
        def checked(**kwargs):
            errors: dict[str, str] = {}
            kwargs = {name: _checked_path(declared.path.get(name, ID), name, value, errors)
                      for name, value in kwargs.items()}
            if errors:
                return error_response(404, "not_found", "Nothing can have this id.", errors)
            query = _checked_query(declared.query, errors)
            if declared.query:
                kwargs["query"] = query
            if declared.body is not None:
                try:
                    raw = read_json_object()
                except BodyError as problem:
                    return error_response(problem.status, "bad_request" if problem.status == 400
                                          else "request_entity_too_large", str(problem))
                kwargs["body"] = declared.body.check(raw, "", errors)
            if errors:
                return error_response(422, "invalid", "Some values are invalid.", errors)
            return view(**kwargs)

        checked._couvee_operation = declared
        return checked

    return decorate


def _checked_path(schema: Schema, name: str, value, errors: dict):
    """A path argument: already an int for ``<int:...>`` rules, text otherwise."""
    return schema.from_text(value, name, errors) if isinstance(value, str) else schema.check(value, name, errors)


def _checked_query(schemas: dict[str, Schema], errors: dict) -> dict:
    """Declared parameters converted to their types; an unknown one is an
    error (a misspelt ``ofset`` must not silently return the first page)."""
    values = {}
    for name in request.args:
        if name not in schemas:
            errors[name] = "is not a known query parameter"
        elif len(request.args.getlist(name)) > 1:
            errors[name] = "must be given once"
        else:
            values[name] = schemas[name].from_text(request.args[name], name, errors)
    return values


def operation_of(view) -> Operation | None:
    return getattr(view, "_couvee_operation", None)


def json_object_body() -> dict:
    """For views that read a body without a declared schema (outside the
    API): the JSON object, or a 400/413 that says what to send."""
    try:
        return read_json_object()
    except BodyError as problem:
        abort(problem.status, description=str(problem))

