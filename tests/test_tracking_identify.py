"""Visitor identification: forms (link_visitor), tracked email links (cv_t),
identify calls (signed for existing contacts), earlier visits attached, two
visitor ids of one person merged."""
from __future__ import annotations

import pytest

from core import contact_token, contacts
from core.models import Contact, Event
from plugins.tracking import link_visitor
from plugins.tracking.identify import identify_hash
from plugins.tracking.models import Hit, Visitor

from .tracking_helpers import drain_now, hit_body, make_site, send_hit

PHONE, LAPTOP = "phonevisitor000001", "laptopvisitor00001"


@pytest.fixture
def site(wsgi):
    return make_site(wsgi.app)


def test_a_form_links_the_visitor_and_its_earlier_visits(web, wsgi, site, ctx, run_jobs):
    send_hit(web, hit_body(site, v=PHONE, u="https://www.example.com/a"))
    send_hit(web, hit_body(site, v=PHONE, u="https://www.example.com/b"))
    drain_now(wsgi.app)
    contact = contacts.create_contact({"email": "ada@example.com"})
    assert link_visitor(PHONE, contact) == 2
    assert link_visitor(PHONE, contact) == 0  # idempotent
    assert Hit.select().where(Hit.contact == contact.id).count() == 2
    kinds = [e.kind for e in Event.select().where(Event.contact == contact.id).order_by(Event.id)]
    assert kinds.count("page_visited") == 2 and kinds.count("visitor_identified") == 1
    identified = Event.get(Event.kind == "visitor_identified")
    assert identified.data == {"visitor_id": PHONE, "method": "form"}
    assert all(e.data["retroactive"] for e in Event.select().where(Event.kind == "page_visited"))
    # later visits go straight to the contact
    send_hit(web, hit_body(site, v=PHONE, u="https://www.example.com/c"))
    drain_now(wsgi.app)
    assert Hit.select().where(Hit.contact == contact.id).count() == 3
    run_jobs()
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 0


def test_two_visitor_ids_of_one_person_merge(web, wsgi, site, ctx):
    contact = contacts.create_contact({"email": "ada@example.com"})
    send_hit(web, hit_body(site, v=PHONE))
    send_hit(web, hit_body(site, v=LAPTOP))
    drain_now(wsgi.app)
    link_visitor(PHONE, contact)
    link_visitor(LAPTOP, contact, method="identify")
    assert {v.id for v in Visitor.select().where(Visitor.contact == contact.id)} == {PHONE, LAPTOP}
    assert Hit.select().where(Hit.contact == contact.id).count() == 2


def test_link_before_the_first_hit_is_drained(web, wsgi, site, ctx):
    contact = contacts.create_contact({"email": "ada@example.com"})
    send_hit(web, hit_body(site, v=PHONE))
    link_visitor(PHONE, contact)  # the form was submitted before the drain ran
    drain_now(wsgi.app)
    assert Hit.get().contact_id == contact.id
    assert Event.select().where(Event.kind == "page_visited").count() == 1


def test_link_visitor_refuses_bad_ids(ctx):
    contact = contacts.create_contact({"email": "ada@example.com"})
    for bad in ("", "short", "x" * 65, "a b c d e f g h", None):
        with pytest.raises(ValueError):
            link_visitor(bad, contact)


def test_an_email_link_token_identifies_the_visitor(web, wsgi, site, ctx):
    contact = contacts.create_contact({"email": "ada@example.com"})
    token = contact_token(contact, "tracking.identify")
    send_hit(web, hit_body(site, v=PHONE))
    drain_now(wsgi.app)
    send_hit(web, hit_body(site, v=PHONE, ct=token))
    drain_now(wsgi.app)
    assert Hit.select().where(Hit.contact == contact.id).count() == 2
    assert Event.get(Event.kind == "visitor_identified").data["method"] == "email_link"


def test_forged_or_foreign_tokens_identify_nobody(web, wsgi, site, ctx):
    contact = contacts.create_contact({"email": "ada@example.com"})
    for token in ("forged.token.value", contact_token(contact, "email.unsubscribe")):
        send_hit(web, hit_body(site, v=PHONE, ct=token))
    drain_now(wsgi.app)
    assert Hit.select().where(Hit.contact.is_null(False)).count() == 0
    assert not Event.select().where(Event.kind == "visitor_identified").exists()


def _identify(web, site, visitor, **identity):
    return send_hit(web, hit_body(site, v=visitor, k="identify", id=identity))


def test_unsigned_identify_cannot_claim_an_existing_contact(web, wsgi, site, ctx):
    victim = contacts.create_contact({"email": "ceo@customer.example"})
    send_hit(web, hit_body(site, v=PHONE))
    assert _identify(web, site, PHONE, email="CEO@customer.example").status_int == 204
    assert _identify(web, site, PHONE, email="ceo@customer.example", hash="0" * 64).status_int == 204
    drain_now(wsgi.app)
    assert Hit.select().where(Hit.contact == victim.id).count() == 0
    assert Visitor.get_by_id(PHONE).contact_id is None


def test_signed_identify_links_an_existing_contact(web, wsgi, site, ctx):
    contact = contacts.create_contact({"email": "ada@example.com"})
    send_hit(web, hit_body(site, v=PHONE))
    _identify(web, site, PHONE, email="Ada@Example.com", hash=identify_hash(site, "ada@example.com"))
    drain_now(wsgi.app)
    assert Visitor.get_by_id(PHONE).contact_id == contact.id
    assert Hit.select().where(Hit.contact == contact.id).count() == 1  # the identify call is not a visit
    assert Event.get(Event.kind == "visitor_identified").data["method"] == "identify"


def test_unsigned_identify_creates_new_contacts_only_when_the_site_allows(web, wsgi, ctx):
    strict = make_site(wsgi.app, name="Strict")
    open_site = make_site(wsgi.app, name="Open", identify_unverified=True)
    _identify(web, strict, PHONE, email="new@example.com")
    drain_now(wsgi.app)
    assert not Contact.select().where(Contact.email == "new@example.com").exists()
    _identify(web, open_site, LAPTOP, email="new@example.com", first_name="Nina")
    drain_now(wsgi.app)
    created = Contact.get(Contact.email == "new@example.com")
    assert created.first_name == "Nina"
    assert Visitor.get_by_id(LAPTOP).contact_id == created.id
