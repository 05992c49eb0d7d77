"""The accounts' REST API (issue 22, part 2): list and search, get, create,
change, delete, list the contacts, link and unlink one; API key auth, 422
naming each bad field (custom fields included), 403 and 404 as JSON, and the
OpenAPI document describing it all."""
from __future__ import annotations

import pytest

from core import auth, contacts
from core.models import Contact
from plugins.accounts import account_of
from plugins.accounts.fields import create_field
from plugins.accounts.models import Account


@pytest.fixture
def api(web, ctx):
    user = auth.create_user("api@example.com", "x" * 12, role="marketer")
    _, key = auth.create_api_key(user, "tests")
    web.extra_environ = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    create_field({"label": "Secteur", "type_id": "select", "options": "Industrie\nServices"})
    return web


def test_no_key_is_401(web, ctx):
    response = web.get("/api/v1/accounts", expect_errors=True)
    assert response.status_int == 401 and response.json["error"] == "unauthorized"


def test_account_crud_with_custom_fields(api, run_jobs):
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    run_jobs()
    made = api.post_json("/api/v1/accounts", {"name": "Acme", "domain": "https://www.acme.fr/", "size_band": "pme",
                                              "revenue": 1500000, "fields": {"secteur": "industrie"}}, status=201)
    account = made.json
    assert account["domain"] == "acme.fr" and account["fields"] == {"secteur": "Industrie"}
    assert account["contact_count"] == 1 and account_of(ada.id).id == account["id"]
    url = made.headers["Location"]
    shown = api.get(url).json
    assert shown["account"]["name"] == "Acme" and shown["combined_score"] == 0 and shown["score_mode"] == "sum"

    changed = api.patch_json(url, {"status": "customer", "fields": {"secteur": None}}).json
    assert changed["status"] == "customer" and changed["fields"] == {} and changed["size_band"] == "pme"
    assert Account.get_by_id(account["id"]).revenue == 1500000

    api.post_json("/api/v1/accounts", {"name": "Globex", "domain": "globex.fr"}, status=201)
    listing = api.get("/api/v1/accounts", {"q": "glob"}).json
    assert listing["total"] == 1 and listing["items"][0]["name"] == "Globex"
    assert api.get("/api/v1/accounts", {"status": "customer"}).json["items"][0]["name"] == "Acme"
    assert api.get("/api/v1/accounts", {"domain": "ACME.fr"}).json["total"] == 1
    assert [a["name"] for a in api.get("/api/v1/accounts", {"limit": 1, "offset": 1}).json["items"]] == ["Globex"]

    api.delete(url, status=204)
    assert api.get(url, expect_errors=True).status_int == 404
    assert account_of(ada.id) is None and Contact.get_or_none(Contact.id == ada.id) is not None


def test_bad_values_are_422_naming_each_field_and_change_nothing(api):
    refused = api.post_json("/api/v1/accounts", {"name": "", "domain": "not a domain", "status": "vip",
                                                 "fields": {"secteur": "Agriculture", "nope": "x"}},
                            expect_errors=True)
    assert refused.status_int == 422 and refused.json["error"] == "invalid"
    assert set(refused.json["errors"]) >= {"name", "status"}
    refused = api.post_json("/api/v1/accounts", {"name": "Acme", "domain": "not a domain", "owner_id": 99999,
                                                 "fields": {"secteur": "Agriculture", "nope": "x"}},
                            expect_errors=True)
    errors = refused.json["errors"]
    assert refused.status_int == 422
    assert set(errors) == {"domain", "owner_id", "fields.secteur", "fields.nope"}
    assert "not one of the choices" in errors["fields.secteur"] and errors["fields.nope"] == "is not an account field"
    assert Account.select().count() == 0

    account = api.post_json("/api/v1/accounts", {"name": "Acme", "domain": "acme.fr"}).json
    api.post_json("/api/v1/accounts", {"name": "Acme 2", "domain": "globex.fr"})
    taken = api.patch_json(f"/api/v1/accounts/{account['id']}", {"domain": "globex.fr", "name": "Renamed"},
                           expect_errors=True)
    assert taken.status_int == 422 and "already the account" in taken.json["errors"]["domain"]
    assert Account.get_by_id(account["id"]).name == "Acme"
    assert api.post("/api/v1/accounts", "not json", content_type="application/json",
                    expect_errors=True).status_int == 400
    assert api.get("/api/v1/accounts", {"ofset": 1}, expect_errors=True).status_int == 422


def test_linking_and_unlinking_contacts(api, run_jobs):
    bob = contacts.create_contact({"email": "bob@gmail.com", "first_name": "Bob"})
    run_jobs()
    account = api.post_json("/api/v1/accounts", {"name": "Acme"}).json
    base = f"/api/v1/accounts/{account['id']}/contacts"
    assert api.put(f"{base}/{bob.id}").json == {"linked": True}
    assert api.put(f"{base}/{bob.id}").json == {"linked": False}
    members = api.get(base).json
    assert members["total"] == 1 and members["items"][0]["via"] == "manual"
    assert members["items"][0]["email"] == "bob@gmail.com"
    assert api.put(f"{base}/999999", expect_errors=True).status_int == 404
    api.delete(f"{base}/{bob.id}", status=204)
    missing = api.delete(f"{base}/{bob.id}", expect_errors=True)
    assert missing.status_int == 404 and "not linked" in missing.json["message"]
    assert account_of(bob.id) is None


def test_sales_users_cannot_delete_accounts(web, ctx):
    user = auth.create_user("rep@example.com", "x" * 12, role="sales")
    _, key = auth.create_api_key(user, "t")
    headers = {"Authorization": f"Bearer {key}"}
    account = web.post_json("/api/v1/accounts", {"name": "Acme"}, headers=headers).json
    refused = web.delete(f"/api/v1/accounts/{account['id']}", headers=headers, expect_errors=True)
    assert refused.status_int == 403 and refused.json["error"] == "forbidden"
    assert Account.select().count() == 1


def test_the_openapi_document_describes_the_accounts(web, ctx):
    document = web.get("/api/v1/openapi.json").json
    for path in ("/accounts", "/accounts/{account_id}", "/accounts/{account_id}/contacts",
                 "/accounts/{account_id}/contacts/{contact_id}"):
        assert path in document["paths"], path
    schemas = document["components"]["schemas"]
    assert schemas["AccountInput"]["required"] == ["name"]
    assert {"Account", "AccountChanges", "AccountDetail"} <= set(schemas)
