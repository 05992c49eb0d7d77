"""A newsletter's send job does not hold a worker that serves every queue for
the whole newsletter: once it has run for a while and a job waits in another
queue, it ends after its batch and queues its continuation."""
from __future__ import annotations

from rq.worker import DequeueStrategy

from core import enqueue, state, work_waiting_elsewhere
from core.contacts import create_contact
from core.queue import get_queue, make_worker, queue_names
from plugins.email import newsletters
from plugins.email.models import Newsletter, Send
from plugins.segments import Segment, add_to_segment
from tests.test_email_newsletter import write_newsletter
from tests.test_email_recipients import action_form, confirm
from tests.test_email_send import configure

SEEN = "test:slices:sent-when-the-other-job-ran"


def other_job(newsletter_id: int) -> None:
    """A job of another queue (a workflow step, say): notes how far the send
    was when it ran, and comes back until the newsletter is sent."""
    sent = Send.select().where((Send.newsletter == newsletter_id) & (Send.status == "sent")).count()
    state().redis.rpush(SEEN, sent)
    if Newsletter.get_by_id(newsletter_id).status != "sent":
        enqueue(other_job, newsletter_id, queue="default")


def started_newsletter(admin, smtp_sink, readers: int) -> Newsletter:
    """A newsletter to ``readers`` contacts, sent in batches of 10, confirmed by the admin."""
    configure(smtp_sink, batch_size=10)
    segment = Segment.create(name="Readers", kind="static")
    for i in range(readers):
        add_to_segment(create_contact({"email": f"reader{i}@example.com"}), segment)
    newsletter, page = write_newsletter(admin, [segment.id])
    confirm(action_form(page, "send").submit())
    return newsletter


def test_a_long_send_lets_a_job_of_another_queue_run_then_goes_on(admin, ctx, wsgi, smtp_sink, monkeypatch):
    newsletter = started_newsletter(admin, smtp_sink, readers=30)
    monkeypatch.setattr(newsletters, "SLICE_SECONDS", 0.0)  # every batch is "a while"
    enqueue(other_job, newsletter.id, queue="default")
    assert work_waiting_elsewhere("email")

    worker = make_worker(wsgi.runtime, simple=True)  # every queue, in turn, as `couvee worker` serves them
    worker.work(burst=True, with_scheduler=False, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)

    seen = [int(value) for value in state().redis.lrange(SEEN, 0, -1)]
    assert any(0 < sent < 30 for sent in seen), seen  # it ran while the newsletter was being sent
    assert seen == sorted(seen) and seen[-1] == 30
    assert Newsletter.get_by_id(newsletter.id).status == "sent"
    received = sorted(m.envelope_to[0] for m in smtp_sink.wait_for(30))
    assert received == sorted(f"reader{i}@example.com" for i in range(30))  # each reader once


def test_a_send_job_with_nothing_else_waiting_sends_on_without_a_break(admin, ctx, smtp_sink, monkeypatch):
    newsletter = started_newsletter(admin, smtp_sink, readers=25)
    for name in queue_names():
        get_queue(name).empty()  # the set-up's jobs (event drains...) are not what this test is about
    monkeypatch.setattr(newsletters, "SLICE_SECONDS", 0.0)
    newsletters.begin(newsletter.id)
    assert not work_waiting_elsewhere("email")
    assert newsletters.drain(newsletter.id) == "sent 25; newsletter finished"  # one job, every batch
    assert len(smtp_sink.wait_for(25)) == 25
