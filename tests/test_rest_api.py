"""The REST API as an integrator uses it: an API key, JSON in and out."""
from __future__ import annotations

import pytest

from core import auth
from core.models import CustomField


@pytest.fixture
def api(web, ctx):
    user = auth.create_user("api@example.com", "x" * 12, role="marketer")
    _, key = auth.create_api_key(user, "tests")
    web.extra_environ = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    CustomField.create(key="zone", label="Zone", type_id="select", options=["NORAM", "LATAM", "EMEA", "APAC"])
    return web


def test_no_key_or_a_wrong_key_is_401(web, ctx):
    assert web.get("/api/v1/contacts", expect_errors=True).status_int == 401
    response = web.get("/api/v1/contacts", headers={"Authorization": "Bearer cv_nope_nope"}, expect_errors=True)
    assert response.status_int == 401
    assert response.json["error"] == "unauthorized"


def test_revoked_key_stops_working(web, ctx):
    from core.models import utcnow

    user = auth.create_user("api2@example.com", "x" * 12)
    row, key = auth.create_api_key(user, "t")
    headers = {"Authorization": f"Bearer {key}"}
    assert web.get("/api/v1/contacts", headers=headers).status_int == 200
    row.revoked_at = utcnow()
    row.save()
    assert web.get("/api/v1/contacts", headers=headers, expect_errors=True).status_int == 401


def test_contact_crud(api):
    created = api.post_json("/api/v1/contacts", {
        "email": "  Ada@Example.COM ", "first_name": "Ada", "fields": {"zone": "emea"}, "tags": ["webinar"],
    })
    assert created.status_int == 201
    body = created.json
    assert body["email"] == "ada@example.com"
    assert body["fields"] == {"zone": "EMEA"}
    assert body["tags"] == ["webinar"]
    contact_url = created.headers["Location"]

    assert api.get(contact_url).json["first_name"] == "Ada"
    updated = api.patch_json(contact_url, {"last_name": "Lovelace", "add_tags": ["vip"], "remove_tags": ["webinar"]})
    assert updated.json["last_name"] == "Lovelace" and updated.json["tags"] == ["vip"]

    listing = api.get("/api/v1/contacts", {"q": "lovelace"}).json
    assert listing["total"] == 1 and listing["items"][0]["email"] == "ada@example.com"
    assert api.get("/api/v1/contacts", {"email": "ADA@example.com"}).json["total"] == 1

    assert api.delete(contact_url).status_int == 204
    assert api.get(contact_url, expect_errors=True).status_int == 404


def test_invalid_values_are_422_with_messages(api):
    response = api.post_json("/api/v1/contacts", {"email": "not-an-email", "fields": {"zone": "Mars"}},
                             expect_errors=True)
    assert response.status_int == 422
    assert "not a valid email" in response.json["errors"]["email"]
    assert "Mars" in response.json["errors"]["zone"]
    duplicate = api.post_json("/api/v1/contacts", {"email": "a@example.com"})
    assert duplicate.status_int == 201
    again = api.post_json("/api/v1/contacts", {"email": "A@example.com"}, expect_errors=True)
    assert again.status_int == 422 and "already exists" in again.json["errors"]["email"]
    unknown = api.post_json("/api/v1/contacts", {"fields": {"nope": "x"}}, expect_errors=True)
    assert unknown.status_int == 422 and "nope" in unknown.json["message"]
    garbage = api.post("/api/v1/contacts", "{not json", content_type="application/json", expect_errors=True)
    assert garbage.status_int == 400 and garbage.json["error"] == "bad_request"


def test_sales_users_cannot_delete(web, ctx):
    from core import contacts

    contact = contacts.create_contact({"email": "keep@example.com"})
    user = auth.create_user("sales@example.com", "x" * 12, role="sales")
    _, key = auth.create_api_key(user, "t")
    response = web.delete(f"/api/v1/contacts/{contact.id}", headers={"Authorization": f"Bearer {key}"},
                          expect_errors=True)
    assert response.status_int == 403


def test_openapi_describes_every_api_route(web, app):
    document = web.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    described = {(path, method.upper()) for path, item in document["paths"].items()
                 for method in item if method != "parameters"}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint.startswith("rest.") and rule.endpoint not in (
            "rest.index", "rest.openapi"
        ):
            path = rule.rule[len("/api/v1"):].replace("<int:contact_id>", "{contact_id}")
            served |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == described
