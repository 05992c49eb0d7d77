"""Accounts on the dispatch's hot path (issue 20, fifth pass): while a batch of
``contact_created`` events is delivered, each email domain is looked up once
for the batch, and the contact's current link is read only when an account
matches; the outcome is the same as one event at a time."""
from __future__ import annotations

from core import batch_memo, emit_many
from core.dispatch import dispatch_now
from core.dispatch.memo import batch_scope
from core.models import Contact, Event
from plugins.accounts import account_of, clean_account, create_account, link
from plugins.accounts.linking import account_for_email
from plugins.accounts.models import Account


def an_account(**values) -> Account:
    return create_account(clean_account({"name": "Acme", **values}))


def test_a_batch_of_new_contacts_is_linked_by_domain_as_one_at_a_time_would(ctx, run_jobs):
    acme = an_account(domain="acme.fr")
    globex = an_account(name="Globex", domain="globex.fr")
    run_jobs()
    made = [Contact.create(email=f"c{i}@{domain}")
            for i, domain in enumerate(["acme.fr", "globex.fr", "acme.fr", "gmail.com", "other.fr", "acme.fr"])]
    link(made[2], globex)  # linked by hand before its contact_created is dispatched: kept
    ids = emit_many([{"contact": contact, "kind": "contact_created", "data": {"source": "test"}} for contact in made],
                    dispatch=False)
    assert dispatch_now(ids) == len(made)
    found = [getattr(account_of(contact.id), "id", None) for contact in made]
    assert found == [acme.id, globex.id, globex.id, None, None, acme.id]
    linked = Event.select().where((Event.kind == "account_linked") & Event.contact.in_([c.id for c in made]))
    assert sorted(e.contact_id for e in linked if e.data.get("via") == "domain") == sorted(
        [made[0].id, made[1].id, made[5].id])


def test_a_domain_is_looked_up_once_per_batch_and_afresh_in_the_next(ctx):
    acme = an_account(domain="acme.fr")
    with batch_scope():
        first = account_for_email("ada@acme.fr")
        assert first is not None and first.id == acme.id
        assert account_for_email("bob@acme.fr").id == acme.id
        assert account_for_email("eve@other.fr") is None
        assert batch_memo("accounts.id_by_domain", dict) == {"acme.fr": acme.id, "other.fr": None}
        an_account(name="Other", domain="other.fr")  # saved during the batch: seen from the next one
        assert account_for_email("eve@other.fr") is None
        # a matching account is read afresh: a rename shows, a domain changed meanwhile no longer links
        Account.update(name="Acme SA").where(Account.id == acme.id).execute()
        assert account_for_email("ada@acme.fr").name == "Acme SA"
        Account.update(domain="acme.com").where(Account.id == acme.id).execute()
        assert account_for_email("ada@acme.fr") is None
    with batch_scope():
        assert account_for_email("eve@other.fr").name == "Other"
        assert account_for_email("ada@acme.com").id == acme.id
    # outside a batch (a web request, a retry): looked up every time
    Account.delete().where(Account.domain == "other.fr").execute()
    assert account_for_email("eve@other.fr") is None
