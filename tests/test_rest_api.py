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
    assert "Mars" in response.json["errors"]["fields.zone"]
    duplicate = api.post_json("/api/v1/contacts", {"email": "a@example.com"})
    assert duplicate.status_int == 201
    again = api.post_json("/api/v1/contacts", {"email": "A@example.com"}, expect_errors=True)
    assert again.status_int == 422 and "already exists" in again.json["errors"]["email"]
    unknown = api.post_json("/api/v1/contacts", {"fields": {"nope": "x"}}, expect_errors=True)
    assert unknown.status_int == 422 and unknown.json["errors"] == {"fields.nope": "is not a custom field"}
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


def _ada(api):
    return api.post_json("/api/v1/contacts", {"email": "ada@example.com", "tags": ["webinar"]}).json


def test_an_invalid_patch_changes_nothing_and_names_every_field(api):
    ada = _ada(api)
    response = api.patch_json(f"/api/v1/contacts/{ada['id']}", {"add_tags": {"x": 1}, "remove_tags": 5, "email": None},
                              expect_errors=True)
    assert response.status_int == 422
    assert response.json["errors"] == {"add_tags": "must be a list", "remove_tags": "must be a list",
                                       "email": "must not be null"}
    after = api.get(f"/api/v1/contacts/{ada['id']}").json
    assert after["email"] == "ada@example.com" and after["tags"] == ["webinar"]


def test_a_patch_is_applied_all_or_nothing(api):
    ada = _ada(api)
    api.post_json("/api/v1/contacts", {"email": "bob@example.com"})
    refused = api.patch_json(f"/api/v1/contacts/{ada['id']}", {
        "first_name": "Ada", "add_tags": ["vip"], "fields": {"zone": "Mars"}, "email": "BOB@example.com",
        "owner_id": 999999}, expect_errors=True)
    assert refused.status_int == 422
    assert set(refused.json["errors"]) == {"fields.zone", "email", "owner_id"}
    after = api.get(f"/api/v1/contacts/{ada['id']}").json
    assert after["first_name"] == "" and after["tags"] == ["webinar"] and after["fields"] == {}
    for blank in ("", "   "):
        assert api.patch_json(f"/api/v1/contacts/{ada['id']}", {"email": blank},
                              expect_errors=True).json["errors"] == {"email": "must not be empty"}
    applied = api.patch_json(f"/api/v1/contacts/{ada['id']}", {"first_name": "Ada", "add_tags": ["vip"],
                                                                "remove_tags": ["webinar"], "fields": {"zone": "apac"}})
    assert applied.json["first_name"] == "Ada" and applied.json["tags"] == ["vip"]
    assert applied.json["fields"] == {"zone": "APAC"}


@pytest.mark.parametrize("body, field", [
    ({"first_name": True}, "first_name"),
    ({"tags": {"x": 1}}, "tags"),
    ({"tags": ["ok", 3]}, "tags[1]"),
    ({"fields": ["zone"]}, "fields"),
    ({"owner_id": 132460941553817812992}, "owner_id"),
    ({"email": "a\u0000@example.com"}, "email"),
    ({"nickname": "Ada"}, "nickname"),
])
def test_wrong_types_are_422_naming_the_field(api, body, field):
    response = api.post_json("/api/v1/contacts", body, expect_errors=True)
    assert response.status_int == 422
    assert field in response.json["errors"]


def test_ids_and_offsets_beyond_any_integer_are_4xx(api):
    huge = 132460941553817812992
    for method in ("get", "delete"):
        response = getattr(api, method)(f"/api/v1/contacts/{huge}", expect_errors=True)
        assert response.status_int == 404 and "contact_id" in response.json["errors"]
    patched = api.patch_json(f"/api/v1/contacts/{huge}", {"first_name": "x"}, expect_errors=True)
    assert patched.status_int == 404
    for query in ("offset=142918778733997424640", "limit=abc", "offset=-1", "ofset=10"):
        response = api.get(f"/api/v1/contacts?{query}", expect_errors=True)
        assert response.status_int == 422, query
        assert query.split("=")[0] in response.json["errors"]
    assert api.get(f"/api/v1/segments/{huge}/members", expect_errors=True).status_int == 404


def test_deeply_nested_or_huge_json_is_400_or_413(api):
    deep = "[" * 5000 + "]" * 5000
    for body in ('{"fields": ' + deep + "}", deep, '{"a": ' + '{"b": ' * 40 + "1" + "}" * 41):
        response = api.post("/api/v1/contacts", body, content_type="application/json", expect_errors=True)
        assert response.status_int == 400, body[:20]
        assert response.json["error"] == "bad_request"
    huge = '{"first_name": "' + "x" * (3 * 1024 * 1024) + '"}'
    assert api.post("/api/v1/contacts", huge, content_type="application/json", expect_errors=True).status_int == 413


def test_segments_refuse_wrong_types(api):
    response = api.post_json("/api/v1/segments", {"name": ["x"], "kind": "static"}, expect_errors=True)
    assert response.status_int == 422 and response.json["errors"] == {"name": "must be a string"}
    response = api.post_json("/api/v1/segments", {"name": "Dyn", "kind": "dynamic",
                                                  "filter": {"groups": {"a": 1}}}, expect_errors=True)
    assert response.status_int == 422 and "filter.groups" in response.json["errors"]
    created = api.post_json("/api/v1/segments", {"name": "Guests"}).json
    added = api.post_json(f"/api/v1/segments/{created['id']}/members", {"contact_ids": [True]}, expect_errors=True)
    assert added.status_int == 422 and "contact_ids[0]" in added.json["errors"]


def test_text_the_database_cannot_store_is_refused(api):
    ada = _ada(api)
    lone_surrogate = '{"contact_id": %d, "name": "visit", "properties": {"page": "\\ud800"}}' % ada["id"]
    response = api.post("/api/v1/automation/events", lone_surrogate, content_type="application/json",
                        expect_errors=True)
    assert response.status_int == 422 and "properties.page" in response.json["errors"]
    named = api.patch_json(f"/api/v1/contacts/{ada['id']}", {"first_name": "A\u0000da"}, expect_errors=True)
    assert named.status_int == 422 and "first_name" in named.json["errors"]
