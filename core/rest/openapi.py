"""The OpenAPI 3.1 description of the REST API (kept next to the views and
checked against the URL map by a test)."""
from __future__ import annotations

from flask import current_app

from ..version import __version__

CONTACT_INPUT = {
    "type": "object",
    "properties": {
        "email": {"type": ["string", "null"], "format": "email"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "owner_id": {"type": ["integer", "null"]},
        "fields": {"type": "object", "description": "Custom field values by field key, as text or list of text"},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "On create"},
        "add_tags": {"type": "array", "items": {"type": "string"}, "description": "On update"},
        "remove_tags": {"type": "array", "items": {"type": "string"}, "description": "On update"},
    },
}
CONTACT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": ["string", "null"]},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "owner_id": {"type": ["integer", "null"]},
        "points": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "object"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "last_interaction_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                                          "errors": {"type": "object"}}}


def _response(description, schema=None):
    body = {"description": description}
    if schema:
        body["content"] = {"application/json": {"schema": schema}}
    return body


def openapi_document() -> dict:
    contact_ref = {"$ref": "#/components/schemas/Contact"}
    error_ref = {"$ref": "#/components/schemas/Error"}
    id_param = [{"name": "contact_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ContactInput"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Couvée REST API", "version": __version__},
        "servers": [{"url": current_app.extensions["couvee"].config.base_url + "/api/v1"}],
        "security": [{"apiKey": []}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "cv_... key from Admin > API keys"}},
            "schemas": {"Contact": CONTACT, "ContactInput": CONTACT_INPUT, "Error": ERROR},
        },
        "paths": {
            "/contacts": {
                "get": {
                    "summary": "List or search contacts",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {"name": "email", "in": "query", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}},
                        {"name": "offset", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {"200": _response("A page of contacts", {
                        "type": "object", "properties": {"total": {"type": "integer"},
                                                         "items": {"type": "array", "items": contact_ref}}})},
                },
                "post": {"summary": "Create a contact", "requestBody": body,
                         "responses": {"201": _response("Created", contact_ref), "422": _response("Invalid", error_ref)}},
            },
            "/contacts/{contact_id}": {
                "parameters": id_param,
                "get": {"summary": "Get a contact", "responses": {"200": _response("The contact", contact_ref),
                                                                   "404": _response("Not found", error_ref)}},
                "patch": {"summary": "Update a contact", "requestBody": body,
                          "responses": {"200": _response("Updated", contact_ref), "422": _response("Invalid", error_ref)}},
                "put": {"summary": "Update a contact (same as PATCH)", "requestBody": body,
                        "responses": {"200": _response("Updated", contact_ref)}},
                "delete": {"summary": "Delete a contact", "responses": {"204": _response("Deleted")}},
            },
        },
    }
