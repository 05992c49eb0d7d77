"""The OpenAPI 3.1 description of the REST API, generated from the URL map.

Every rule under ``/api/v1`` whose view carries an :func:`~core.rest.operation.operation`
declaration is described: its path and query parameters, its request body and
every status it can answer with the schema of each body. Core knows nothing of
plugin routes: a plugin's blueprint is in the URL map while the plugin is
active, so its operations appear and disappear with it. A route without a
declaration is missing from the document, and ``tests/test_openapi.py`` fails.
"""
from __future__ import annotations

import re

from flask import Flask

from ..version import __version__
from .operation import Operation, operation_of
from .schema import ID

API_ROOT = "/api/v1"
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
DOCUMENTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def openapi_path(rule: str) -> str:
    """``/api/v1/contacts/<int:contact_id>`` → ``/contacts/{contact_id}``."""
    return _ARGUMENT.sub(r"{\1}", rule[len(API_ROOT):]) or "/"


def api_rules(app: Flask):
    """The URL rules under ``/api/v1`` (the endpoints the document must cover)."""
    return sorted((rule for rule in app.url_map.iter_rules()
                   if rule.rule == API_ROOT or rule.rule.startswith(API_ROOT + "/")), key=lambda rule: rule.rule)


def _parameters(declared: Operation, rule, components: dict) -> list[dict]:
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": declared.path.get(name, ID).json_schema(components)}
                  for name in sorted(rule.arguments)]
    for name, schema in declared.query.items():
        parameter = {"name": name, "in": "query", "required": False, "schema": schema.json_schema(components)}
        if schema.description:
            parameter["description"] = schema.description
        parameters.append(parameter)
    return parameters


def _operation(declared: Operation, rule, public: bool, components: dict) -> dict:
    described: dict = {"summary": declared.summary, "operationId": rule.endpoint}
    if declared.description:
        described["description"] = declared.description
    if declared.tags:
        described["tags"] = list(declared.tags)
    parameters = _parameters(declared, rule, components)
    if parameters:
        described["parameters"] = parameters
    if declared.body is not None:
        described["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": declared.body.json_schema(components)}}}
    if public:
        described["security"] = []
    responses = {}
    for status, reply in declared.all_responses(public=public, path_arguments=rule.arguments).items():
        responses[str(status)] = {"description": reply.description}
        if reply.schema is not None:
            responses[str(status)]["content"] = {"application/json": {"schema": reply.schema.json_schema(components)}}
    described["responses"] = responses
    return described


def openapi_document(app: Flask) -> dict:
    """The whole document for ``app`` as it is now (active plugins included)."""
    components: dict = {}
    paths: dict = {}
    for rule in api_rules(app):
        view = app.view_functions.get(rule.endpoint)
        declared = operation_of(view)
        if declared is None:
            continue
        public = bool(getattr(view, "_couvee_public", False))
        item = paths.setdefault(openapi_path(rule.rule), {})
        for method in DOCUMENTED_METHODS:
            if method in rule.methods:
                item[method.lower()] = _operation(declared, rule, public, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Couvée REST API", "version": __version__,
                 "description": "Contacts, segments, workflows and the features' endpoints. Errors are JSON: "
                                "{\"error\", \"message\", \"errors\": {field: message}}."},
        "servers": [{"url": app.extensions["couvee"].config.base_url.rstrip("/") + API_ROOT}],
        "security": [{"apiKey": []}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "cv_... key from Admin > API keys"}},
            "schemas": dict(sorted(components.items())),
        },
        "paths": paths,
    }
