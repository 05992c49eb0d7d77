"""Searches and text filters take ``%`` and ``_`` literally (core.like):
typed in the contacts search, the REST API's ``q``, the accounts search, a
segment's "contains / starts with / ends with" and the tracking report's
filters, they match themselves, not "anything" or "any character". Real
database (SQLite, or PostgreSQL under COUVEE_TEST_DATABASE_URL)."""
from __future__ import annotations

import pytest

from core import auth, contacts, escape_like, text_contains, text_ends_with, text_starts_with
from core.models import Contact
from plugins.accounts.linking import search_accounts
from plugins.accounts.models import Account, name_or_domain
from plugins.segments.compiler import compile_definition
from plugins.segments.membership import matches
from plugins.segments.models import Segment

EMAILS = ["jean_dupont@exemple.fr", "jeanXdupont@exemple.fr", "remise100%@exemple.fr", "remise1000@exemple.fr",
          "back\\slash@exemple.fr", "JEAN_DUPONT@AUTRE.FR"]


@pytest.fixture
def people(ctx):
    return {email: Contact.create(email=email, first_name="Ana_Lou" if i == 0 else "AnaXLou")
            for i, email in enumerate(EMAILS)}


def emails(query) -> set[str]:
    return {contact.email for contact in query}


def test_escape_like():
    assert escape_like("a_b%c\\d") == "a\\_b\\%c\\\\d"


@pytest.mark.parametrize("match, text, expected", [
    (text_contains, "jean_d", {"jean_dupont@exemple.fr", "JEAN_DUPONT@AUTRE.FR"}),
    (text_contains, "100%", {"remise100%@exemple.fr"}),
    (text_contains, "\\", {"back\\slash@exemple.fr"}),
    (text_starts_with, "JEAN_", {"jean_dupont@exemple.fr", "JEAN_DUPONT@AUTRE.FR"}),
    (text_ends_with, "%@exemple.fr", {"remise100%@exemple.fr"}),
    (text_contains, "%", {"remise100%@exemple.fr"}),
    (text_contains, "_", {"jean_dupont@exemple.fr", "JEAN_DUPONT@AUTRE.FR"}),
])
def test_the_helpers_match_literally_and_ignore_case(people, match, text, expected):
    assert emails(Contact.select().where(match(Contact.email, text))) == expected


@pytest.fixture
def api(web, ctx):
    user = auth.create_user("api@example.com", "x" * 12, role="marketer")
    _, key = auth.create_api_key(user, "tests")
    web.extra_environ = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    return web


def test_the_contacts_search_and_the_api_take_wildcards_literally(people, api):
    assert emails(contacts.search_contacts("jean_d")) == {"jean_dupont@exemple.fr", "JEAN_DUPONT@AUTRE.FR"}
    assert emails(contacts.search_contacts("100%")) == {"remise100%@exemple.fr"}
    assert emails(contacts.search_contacts("ana_lou")) == {"jean_dupont@exemple.fr"}  # the first name
    found = api.get("/api/v1/contacts", params={"q": "100%"}).json
    assert [item["email"] for item in found["items"]] == ["remise100%@exemple.fr"]


def test_the_contacts_list_search(people, admin):
    page = admin.get("/admin/contacts", params={"q": "jean_d"})
    assert "jean_dupont@exemple.fr" in page.text and "jeanXdupont@exemple.fr" not in page.text


@pytest.mark.parametrize("operator, value, expected", [
    ("contains", "n_d", {"jean_dupont@exemple.fr", "JEAN_DUPONT@AUTRE.FR"}),
    ("not_contains", "_", {"jeanXdupont@exemple.fr", "remise100%@exemple.fr", "remise1000@exemple.fr",
                           "back\\slash@exemple.fr"}),
    ("starts_with", "remise100%", {"remise100%@exemple.fr"}),
    ("ends_with", "0%@exemple.fr", {"remise100%@exemple.fr"}),
])
def test_segment_text_operators_take_wildcards_literally(people, operator, value, expected):
    """The whole query and the one-contact evaluation used on every change agree."""
    wanted = {"match": "all", "groups": [{"match": "all", "conditions": [
        {"filter": "email", "params": {"operator": operator, "value": value}}]}]}
    assert emails(Contact.select().where(compile_definition(wanted))) == expected
    segment = Segment(kind="dynamic", filter=wanted)
    assert {email for email, contact in people.items() if matches(segment, contact.id)} == expected


def test_the_accounts_search_takes_wildcards_literally(ctx):
    for name, domain in (("Remise_Pro", "remise-pro.fr"), ("RemiseXPro", "remisexpro.fr"), ("100% Bio", "bio.fr")):
        Account.create(name=name, domain=domain)
    assert {a.name for a in Account.select().where(name_or_domain("remise_"))} == {"Remise_Pro"}
    assert {a.name for a in Account.select().where(name_or_domain("100%"))} == {"100% Bio"}
    assert [a.name for a in search_accounts("_pro", 10)] == ["Remise_Pro"]
