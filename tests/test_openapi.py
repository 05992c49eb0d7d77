"""The OpenAPI document describes every route under /api/v1 (core's and the
active plugins'), with its methods, parameters, bodies and answers."""
from __future__ import annotations

import re

from core.plugins import lifecycle
from core.rest.openapi import openapi_path

API_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _document(web) -> dict:
    return web.get("/api/v1/openapi.json").json


def _served(app) -> set[tuple[str, str]]:
    """Every (path, method) the URL map serves under /api/v1."""
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == "/api/v1" or rule.rule.startswith("/api/v1/"):
            served |= {(openapi_path(rule.rule), method) for method in rule.methods & API_METHODS}
    return served


def _described(document) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in document["paths"].items() for method in item
            if method.upper() in API_METHODS}


def test_every_api_url_rule_is_documented_with_its_methods(web, app):
    document = _document(web)
    served = _served(app)
    assert len(served) >= 30
    assert _described(document) == served
    paths = {path for path, _ in served}
    for feature in ("/contacts", "/segments/{segment_id}/members", "/automation/events", "/workflows",
                    "/gdpr/contacts/{contact_id}/consents", "/smart-content/contents/{content_id}"):
        assert feature in paths


def test_every_operation_has_its_parameters_bodies_and_answers(web):
    document = _document(web)
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation["summary"] and operation["operationId"], where
            statuses = set(operation["responses"])
            assert any(status.startswith("2") for status in statuses), where
            assert "422" in statuses, where  # unknown query parameters at least
            if operation.get("security") != []:
                assert "401" in statuses, where
            arguments = re.findall(r"{(\w+)}", path)
            declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            assert sorted(arguments) == sorted(declared), where
            if arguments:
                assert "404" in statuses, where
            if method in ("post", "put", "patch") and "requestBody" in operation:
                assert {"400", "413"} <= statuses, where
            for status, answer in operation["responses"].items():
                if status != "204":
                    assert "application/json" in answer.get("content", {}), f"{where} {status}"
    for name in ("Contact", "ContactInput", "ContactChanges", "Segment", "SegmentInput", "InboundEvent",
                 "WorkflowRun", "ConsentRecord", "SmartContent", "Error"):
        assert name in schemas
    assert all(ref.split("/")[-1] in schemas
               for ref in re.findall(r'"\$ref": "([^"]+)"', __import__("json").dumps(document)))


def test_the_body_schema_is_the_one_enforced(web, app, ctx):
    """What the document says a field is, the endpoint enforces."""
    document = _document(web)
    changes = document["components"]["schemas"]["ContactChanges"]
    assert changes["properties"]["add_tags"]["type"] == "array"
    assert changes["properties"]["email"]["type"] == "string"  # not nullable
    assert changes["additionalProperties"] is False
    segment_input = document["components"]["schemas"]["SegmentInput"]
    assert segment_input["properties"]["name"]["type"] == "string" and segment_input["required"] == ["name"]


def test_a_plugins_endpoints_come_and_go_with_the_plugin(wsgi, web, ctx):
    assert any(path.startswith("/gdpr/") for path in _document(web)["paths"])
    lifecycle.deactivate(wsgi.app.extensions["couvee"], "gdpr")
    wsgi.runtime.refresh()
    document = _document(web)
    assert not any(path.startswith("/gdpr/") for path in document["paths"])
    assert "/contacts" in document["paths"] and "/smart-content/contents" in document["paths"]
    assert _described(document) == _served(wsgi.app)
