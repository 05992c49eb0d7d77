"""Email addresses on entry (issue 15, item 1): one validator (email-validator)
behind the contact form, the REST API, public forms and imports; an
internationalised address is kept, a broken one refused with the reason."""
from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from core import FieldValueError, auth, normalize_email
from core.addresses import _plainly_valid
from plugins.imports import runner
from plugins.imports.models import ImportJob, ImportRowError
from core.models import Contact

from tests.forms_helpers import make_form, submit

ACCEPTED = [
    ("Benoît.Dubois22@Exemple.FR", "benoît.dubois22@exemple.fr"),
    ("  ada@example.com ", "ada@example.com"),
    ("Jean@EXÉMPLE.fr", "jean@exémple.fr"),
    ("jean@xn--exmple-cva.fr", "jean@exémple.fr"),  # the IDNA spelling of the same domain
    ("o'brien+news@mail.example.co.uk", "o'brien+news@mail.example.co.uk"),
    ("demo@staging.test", "demo@staging.test"),  # RFC 6761 test names are real enough
    ("用户@例子.广告", "用户@例子.广告"),
]
REFUSED = [
    ("jean@exemple", "It should have a period"),
    ("jean..dupont@exemple.fr", "two periods in a row"),
    ("jean dupont@exemple.fr", "invalid characters"),
    ("x@acme.com.0@example.com", "invalid characters"),
    ("printer@office.local", "special-use or reserved name"),
    ("@exemple.fr", "There must be something before the @-sign"),
    ("jean@-exemple.fr", "hyphen"),
    ("a" * 250 + "@exemple.fr", "too long"),
]


@pytest.mark.parametrize("raw, stored", ACCEPTED)
def test_valid_addresses_are_normalised(raw, stored):
    assert normalize_email(raw) == stored


@pytest.mark.parametrize("raw, reason", REFUSED)
def test_invalid_addresses_are_refused_with_the_reason(raw, reason):
    with pytest.raises(FieldValueError) as error:
        normalize_email(raw)
    assert "is not a valid email address" in str(error.value) and reason in str(error.value)


def test_blank_is_none_and_non_text_is_refused():
    assert normalize_email("  ") is None and normalize_email(None) is None
    with pytest.raises(FieldValueError, match="must be text"):
        normalize_email(42)


SAMPLES = ["ada@example.com", "a.b-c_d+e@sub.domain.example.org", "x@y.co", "x@y.c", "x@123.fr", "x@y.123",
           "x@y.local", "x@y.onion", "x@xn--bcher-kva.example", "x@ab--cd.fr", "x@a-.fr", "x@-a.fr", "x@a..fr",
           ".x@y.fr", "x.@y.fr", "x@y.fr.", "x@" + "a" * 64 + ".fr", "a" * 64 + "@y.fr", "a" * 65 + "@y.fr",
           "x@" + ".".join(["abcdefghi"] * 25) + ".fr", "{x}|~@y.fr", "x@y.test", "x@localhost", "x@y.arpa"]


@pytest.mark.parametrize("address", SAMPLES)
def test_the_fast_path_accepts_only_what_email_validator_accepts_unchanged(address):
    """The plain-ASCII shortcut must never accept an address the validator
    refuses, nor store it differently."""
    if not _plainly_valid(address):
        return
    try:
        checked = validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        pytest.fail(f"the fast path accepts {address!r}, the validator refuses it: {error}")
    assert checked.normalized.lower() == address


def test_the_admin_contact_form_refuses_a_broken_address_and_keeps_a_french_one(admin, ctx):
    page = admin.get("/admin/contacts/new")
    form = page.forms[[k for k, f in page.forms.items() if "email" in f.fields][0]]
    form["email"] = "jean..dupont@exemple.fr"
    refused = form.submit(status="*")
    assert refused.status_int == 400
    assert "two periods in a row" in refused.text
    assert not Contact.select().exists()
    form = refused.forms[[k for k, f in refused.forms.items() if "email" in f.fields][0]]
    form["email"] = "Benoît.Dubois22@exemple.fr"
    form.submit(status="*").maybe_follow()
    assert Contact.get().email == "benoît.dubois22@exemple.fr"


def test_the_rest_api_answers_422_with_the_reason(web, ctx):
    user = auth.create_user("api@example.com", "x" * 12, role="marketer")
    _, key = auth.create_api_key(user, "tests")
    headers = {"Authorization": f"Bearer {key}"}
    refused = web.post_json("/api/v1/contacts", {"email": "zoé@exemple"}, headers=headers, expect_errors=True)
    assert refused.status_int == 422
    assert "It should have a period" in refused.json["errors"]["email"]
    typed = web.post_json("/api/v1/contacts", {"email": ["a@b.fr"]}, headers=headers, expect_errors=True)
    assert typed.status_int in (400, 422)
    created = web.post_json("/api/v1/contacts", {"email": "Zoé@Exémple.fr"}, headers=headers)
    assert created.status_int == 201 and created.json["email"] == "zoé@exémple.fr"


def test_a_public_form_shows_the_reason_and_creates_nobody(web, ctx, run_jobs):
    form = make_form("Inscription")
    page = submit(web, form, {"email": "marie@exemple..fr"})
    assert page.status_int in (200, 422)
    assert "is not a valid email address" in page.text
    run_jobs()
    assert not Contact.select().exists()


def test_an_import_reports_bad_addresses_by_line_and_imports_the_others(ctx):
    import io

    data = ("email;prénom\n"
            "benoît.dubois22@exemple.fr;Benoît\n"
            "jean..dupont@exemple.fr;Jean\n"
            "ana@exémple.fr;Ana\n"
            "marie@exemple;Marie\n"
            "luc@exemple.fr;Luc\n").encode("utf-8")
    job = runner.new_job(io.BytesIO(data), "contacts.csv")
    runner.execute(job)
    job = ImportJob.get_by_id(job.id)
    assert (job.created, job.errors) == (3, 2)
    assert {c.email for c in Contact.select()} == {"benoît.dubois22@exemple.fr", "ana@exémple.fr", "luc@exemple.fr"}
    problems = {row.line: row.reason for row in ImportRowError.select().where(ImportRowError.job == job.id)}
    assert sorted(problems) == [3, 5]
    assert "two periods in a row" in problems[3] and "It should have a period" in problems[5]


def _plainly_valid_by_parts(address: str) -> bool:
    """The fast path as it was written before it became one regex (groups
    read back, labels split): the single ``fullmatch`` must answer the same."""
    import re

    from core.addresses import _RESERVED_TLDS, MAX_LENGTH, MAX_LOCAL_LENGTH

    atom = r"[a-z0-9_!#$%&'*+\-/=?^`{|}~]"
    match = re.fullmatch(rf"(?P<local>{atom}+(?:\.{atom}+)*)"
                         r"@(?P<domain>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?P<tld>[a-z]{2,63}))", address)
    if len(address) > MAX_LENGTH or match is None or len(match.group("local")) > MAX_LOCAL_LENGTH:
        return False
    if any(label[2:4] == "--" for label in match.group("domain").split(".")):
        return False
    return match.group("tld") not in _RESERVED_TLDS


EDGES = SAMPLES + [
    "x@ab--cd.ef.fr", "x@abc--d.fr", "x@a--b.fr", "x@sub.xn--exmple-cva.fr", "x@y.localhost", "x@y.localhosts",
    "x@y.invalids", "x@onion.fr", "x@y.local\n", "x@y.fr\n", "a" * 64 + "@" + "b" * 63 + ".fr",
    "a" * 63 + "@y.fr", "a@b@c.fr", "@y.fr", "x@", "x@.fr", "x@y.f", "x@y." + "a" * 63, "x@y." + "a" * 64,
    "x@" + ".".join(["b" * 63] * 3) + ".fr", "x@" + ".".join(["b" * 63] * 4) + ".fr", "é@y.fr", "x@é.fr",
    "x@y.fr ", "x y@z.fr", "x@yy-.fr", "x@y-y.fr", "x@1-2.fr", "x@12--.fr",
]


@pytest.mark.parametrize("address", EDGES)
def test_the_one_regex_fast_path_answers_as_the_checks_by_parts(address):
    assert _plainly_valid(address) == _plainly_valid_by_parts(address)


def test_the_fast_path_answers_as_the_checks_by_parts_on_generated_addresses():
    import random

    rng = random.Random(20)
    alphabet = "ab-.@x1_"
    for _ in range(20_000):
        address = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 14)))
        assert _plainly_valid(address) == _plainly_valid_by_parts(address), address
