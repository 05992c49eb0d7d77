"""The newsletter sender's batch paths (issue 20): the batched consent
question agrees with the per-contact one, a prerendered newsletter is the
same email as one rendered in full for every recipient, and a worker killed
in the middle of a batch (its accepted messages noted in the journal but not
yet written to the send log) leaves every recipient exactly one email."""
from __future__ import annotations

import collections
import datetime as dt

import pytest
import time_machine

from core import can_receive, contacts_can_receive, skip_reason, utcnow
from core.contacts import create_contact
from core.models import Contact, CustomField, Event
from plugins.segments import Segment, SegmentMember
from core.state import state
from tests.test_audience_check import mixed_audience, require_consent
from tests.test_email_newsletter import run_worker_killed_at
from tests.test_email_send import configure

from plugins.email import journal, newsletters
from plugins.email.config import load_config
from plugins.email.models import Newsletter, Send
from plugins.email.renderer import Renderer


def test_the_batched_consent_question_gives_the_per_contact_answers_and_reasons(ctx, smtp_sink):
    require_consent(smtp_sink)
    readers = mixed_audience()
    contacts = [Contact.get_by_id(row.contact_id) for row in SegmentMember.select().where(
        SegmentMember.segment == readers.id)]
    refused = contacts_can_receive(contacts, "email", "marketing")
    expected = {}
    for contact in contacts:
        allowed, vetoes = can_receive(contact, "email", "marketing")
        if not allowed:
            expected[contact.id] = skip_reason(contact, "email", "marketing", vetoes)
    assert refused == expected
    assert sorted(reason.split(" (")[0] for reason in refused.values()) == [
        "bounced", "no consent for email_marketing", "no consent for email_marketing", "unsubscribed"]
    assert contacts_can_receive([], "email", "marketing") == {}


NAMES = ["Ada", "Zoë Ñandú", "O'Brien & <Sons>", "Jean-Luc \"JL\"", "two  spaces", "", "no\xa0break", " padded "]
CONTENTS = [
    # only prints contact data: the fast path
    '<h1>Hello {{ first_name or "there" }}</h1><p>From {{ fields.company }} to {{ email }}.</p>'
    '<p><a href="https://shop.example/spring">new</a> <a href="https://shop.example/blog?a=1&amp;b=2">blog</a></p>'
    '<p><a href="{{ unsubscribe_url }}">Leave</a> or <a href="{{ view_url }}">read online</a></p>',
    '<p>{{ first_name|upper }} {{ last_name or "X" }}, {{ points }} points</p>\n',
    # values in a link, logic, a comment: rendered in full
    '<p><a href="https://shop.example/?n={{ first_name }}">Shop</a></p>',
    '<p>{% if first_name %}Hi {{ first_name }}{% else %}Hello{% endif %}</p>',
    '<p>Hi {{ first_name }}</p>{# note #}',
]


@pytest.mark.parametrize("content", CONTENTS)
def test_a_prerendered_newsletter_is_the_email_rendered_in_full(ctx, smtp_sink, content):
    configure(smtp_sink)
    CustomField.create(key="company", label="Company", type_id="text")
    renderer = Renderer(load_config(), subject='News for {{ first_name or "you" }}', content=content,
                        scope="nl:1", utm={"source": "newsletter"}, marketing=True, prerender=True)
    expect_fast = "{%" not in content and "{#" not in content and "?n=" not in content
    assert (renderer.fast is not None) == expect_fast
    fast_used = 0
    for send_id, name in enumerate(NAMES, start=1):
        contact = create_contact({"email": f"p{send_id}@example.com", "first_name": name, "company": "A & B"})
        # the clock stands still: link signatures carry the second they were made, and a
        # busy machine crossing a second between two renderings would sign them apart
        with time_machine.travel(utcnow(), tick=False):
            urls, click = renderer.urls(send_id), renderer.clicks(send_id)
            full = renderer.render_full(send_id, contact, urls, click)
            if renderer.fast is not None:
                context = renderer.context(contact, urls)
                filled = renderer.fast.render(context, full.subject, urls, click)
                if filled is not None:
                    fast_used += 1
                    assert filled == (full.html, full.text), name
            assert renderer.render(send_id, contact, urls) == full
    if expect_fast:
        assert fast_used >= 4  # the plain names; the others (empty, odd spaces) are rendered in full
        assert renderer.fast is not None  # the first recipient's comparison kept it




def test_a_worker_killed_mid_batch_sends_nothing_twice_and_loses_no_sent_mark(ctx, wsgi, smtp_sink, run_jobs):
    """Killed in the middle of a 100-row batch: the messages it had sent are
    in the journal, not yet in the send log; whoever takes the rows over
    marks them sent (with their event) instead of sending them again."""
    total, kill_at = 600, 250
    configure(smtp_sink, batch_size=100, workers=1)
    everyone = Segment.create(name="Everyone", kind="static")
    now = utcnow()
    Contact.insert_many([{"email": f"r{i}@example.com", "first_name": f"R{i}", "created_at": now, "updated_at": now}
                         for i in range(total)]).execute()
    SegmentMember.insert_many([{"segment": everyone.id, "contact": c.id} for c in Contact.select(Contact.id)]).execute()
    newsletter = Newsletter.create(name="Mid", subject="Hi {{ first_name }}", content="<p>Hi {{ first_name }}</p>",
                                   segments=[everyone.id])
    assert not newsletters.start(newsletter).errors
    run_worker_killed_at(wsgi, smtp_sink, kill_at)
    marked = Send.select().where((Send.newsletter == newsletter.id) & (Send.status == "sent")).count()
    assert marked == 200  # two batches written; the third's 50 accepted messages are only in the journal
    assert state().redis.hlen(f"{journal.KEY}{newsletter.id}") == kill_at - marked

    with time_machine.travel(utcnow() + dt.timedelta(minutes=11)):  # past the dead worker's lease
        newsletters.sweep()
        run_jobs(queues=("email",))
    received = collections.Counter(m["To"] for m in smtp_sink.wait_for(total, timeout=60))
    assert len(received) == total and set(received.values()) == {1}
    sent = Send.select().where((Send.newsletter == newsletter.id) & (Send.status == "sent"))
    assert sent.count() == total
    assert all(row.message_id and row.subject == f"Hi R{row.to_email[1:].split('@')[0]}" for row in sent)
    events = Event.select().where(Event.kind == "email_sent")
    assert events.count() == total
    assert len({event.data["email_id"] for event in events}) == total
    assert Newsletter.get_by_id(newsletter.id).status == "sent"
    assert not state().redis.exists(f"{journal.KEY}{newsletter.id}")
