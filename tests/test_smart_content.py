"""Smart content: feeds parsed into the library, targeting by stage and
interests, set-based picks, the programme's calendar and the 365-day rule,
and no double send when the job runs twice or on two workers at once."""
from __future__ import annotations

import datetime as dt
import http.server
import threading
from pathlib import Path

import pytest
import time_machine

from core import contacts
from core.models import Contact, CustomField, Tag
from plugins.segments import add_to_segment
from plugins.segments.editing import save_segment

from plugins.smart_content import feeds, library, programme as programme_settings, targeting
from plugins.smart_content.models import Content, Feed, Pick
from plugins.smart_content.picker import Scope, pick_range
from plugins.smart_content.sender import claim, mark_emailed, run_programme

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
# A Tuesday, 10:00 UTC
TUESDAY = dt.datetime(2024, 3, 5, 10, 0, tzinfo=dt.timezone.utc)


def content(title, stage, tags, score=0, published=None):
    return library.save_content(None, {
        "title": title, "url": f"https://blog.example.fr/{title.lower().replace(' ', '-')}",
        "image_url": "https://cdn.example.fr/x.png", "excerpt": "…", "score": score, "stage": stage, "tags": tags,
    })


def contact(email, tags=(), points=0):
    person = contacts.create_contact({"email": email})
    for tag in tags:
        contacts.add_tag(person, tag)
    if points:
        Contact.update(points=points).where(Contact.id == person.id).execute()
    return Contact.get_by_id(person.id)


def enable(**changes):
    settings = programme_settings.load()
    settings.enabled = True
    settings.weekdays = [0, 1, 2, 3, 4]
    settings.hour_start, settings.hour_end = 0, 24
    for key, value in changes.items():
        setattr(settings, key, value)
    programme_settings.store(settings)
    return settings


def claimed(status="claimed"):
    return {(p.contact.email, p.content.title if p.content else None)
            for p in Pick.select().where(Pick.status == status)}


# --- feeds ------------------------------------------------------------------------------------


class FeedServer:
    """A real HTTP server on loopback serving fixture feeds, honouring ETag and
    Last-Modified, and counting requests."""

    def __init__(self):
        self.routes, self.requests = {}, []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append((self.path, dict(self.headers)))
                route = owner.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                body, headers, status = route
                if headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                    self.send_response(304)
                    self.end_headers()
                    return
                if status == "slow":
                    import time
                    time.sleep(3)
                self.send_response(200)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, path, body: bytes, status=200, **headers):
        self.routes[path] = (body, {"Content-Type": "application/rss+xml", **headers}, status)
        return self.url + path


@pytest.fixture
def feed_server():
    server = FeedServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_real_world_feed_shapes_become_library_items(ctx):
    Tag.insert(name="crm").execute()  # an existing core tag: matching categories become tags
    for name in ("rss_media.xml", "atom.xml", "wordpress.xml"):
        _, items = feeds.parse((FEEDS / name).read_bytes())
        feeds.store_items(None, items)
    by_url = {c.url: c for c in Content.select()}
    assert len(by_url) == 6  # items without a web link are dropped
    first = by_url["https://blog.example.fr/automatiser-marketing-crm"]
    assert first.title == "Comment automatiser son Marketing avec son CRM ?"
    assert first.image_url == "https://cdn.example.fr/img/automatiser.jpg"  # media:content
    assert "alert" not in first.excerpt and first.excerpt.startswith("Grâce au Marketing Intelligent")
    assert library.tags_by_content([first.id])[first.id] == ["crm"]
    assert first.suggested_tags == ["Marketing automation"]
    assert first.published_at == dt.datetime(2023, 10, 10, 6, 0, tzinfo=dt.timezone.utc)
    assert by_url["https://blog.example.fr/emailing-vs-transactionnel"].image_url.endswith("emailing.png")  # enclosure
    assert by_url["https://blog.example.fr/podcast-prospection"].image_url == ""  # audio enclosure is no image
    assert by_url["https://news.example.com/points"].image_url == "https://news.example.com/points.jpg"
    assert by_url["https://news.example.com/points"].title == "Utilisation des points"
    wordpress = by_url["https://www.example.org/5-points-marketing-automation/"]
    assert wordpress.image_url.endswith("/2024/05/automation.jpg")  # first <img> of content:encoded
    for hostile in ("<iframe", "javascript:", "onclick", "<style"):
        assert hostile not in wordpress.body
    assert "<strong>centralisées</strong>" in wordpress.body
    # everything came without an editor's stage: all need completion
    assert library.incomplete_query().count() == 6


def test_feed_fetch_honours_etag_and_keeps_editor_changes(ctx, feed_server):
    url = feed_server.serve("/feed.xml", (FEEDS / "rss_media.xml").read_bytes(), ETag='"v1"',
                            **{"Last-Modified": "Tue, 10 Oct 2023 08:00:00 GMT"})
    feed = Feed.create(url=url)
    assert feeds.fetch_feed(feed.id).startswith("ok: 3 items, 3 new")
    item = Content.get(Content.url == "https://blog.example.fr/automatiser-marketing-crm")
    library.save_content(item, {"stage": "engagement", "excerpt": "Edited by hand"}, partial=True)
    assert feeds.fetch_feed(feed.id) == "not modified"
    assert feed_server.requests[-1][1].get("If-None-Match") == '"v1"'
    assert feed_server.requests[-1][1].get("If-Modified-Since") == "Tue, 10 Oct 2023 08:00:00 GMT"
    feed_server.serve("/feed.xml", (FEEDS / "rss_media.xml").read_bytes(), ETag='"v2"')
    assert feeds.fetch_feed(feed.id) == "ok: 3 items, 0 new"
    assert Content.get_by_id(item.id).excerpt == "Edited by hand"
    assert Feed.get_by_id(feed.id).items_added == 3


def test_broken_and_hostile_feeds_never_break_the_job(ctx, feed_server, monkeypatch):
    good = Feed.create(url=feed_server.serve("/good", (FEEDS / "atom.xml").read_bytes()))
    html = Feed.create(url=feed_server.serve("/html", (FEEDS / "not_a_feed.html").read_bytes()))
    bomb = Feed.create(url=feed_server.serve("/bomb", (FEEDS / "hostile.xml").read_bytes()))
    huge = Feed.create(url=feed_server.serve("/huge", b"<rss>" + b" " * 5000 + b"</rss>"))
    missing = Feed.create(url=feed_server.url + "/missing")
    closed = Feed.create(url="http://127.0.0.1:9/feed")
    slow = Feed.create(url=feed_server.serve("/slow", (FEEDS / "atom.xml").read_bytes(), status="slow"))
    monkeypatch.setattr(feeds, "MAX_BYTES", 2000)
    monkeypatch.setattr(feeds, "TIMEOUT", 0.5)
    for feed in (good, html, bomb, huge, missing, closed, slow):
        feeds.fetch_feed(feed.id)
    errors = {f.id: f.last_error for f in Feed.select()}
    assert errors[good.id] == ""
    assert "not a readable RSS or Atom feed" in errors[html.id]
    assert errors[bomb.id] == ""  # entities are not expanded: the item is kept, harmless
    assert "lol" * 10 not in Content.get(Content.url == "https://hostile.example/a").excerpt
    assert "root:" not in Content.get(Content.url == "https://hostile.example/a").title
    assert "too large" in errors[huge.id] or "limit" in errors[huge.id]
    assert "HTTP 404" in errors[missing.id]
    assert "could not reach" in errors[closed.id]
    assert "within" in errors[slow.id] or "timed out" in errors[slow.id]


def test_feed_url_must_be_web(ctx):
    with pytest.raises(feeds.FeedError, match="http"):
        feeds.fetch("file:///etc/passwd")


# --- targeting ----------------------------------------------------------------------------------


def test_stage_rules_and_override(ctx):
    settings = programme_settings.load()
    status = CustomField.get_or_none(CustomField.key == "crm_status") or CustomField.create(
        key="crm_status", label="Status", type_id="text")
    opportunity = CustomField.create(key="opportunity_status", label="Opportunity", type_id="text")
    customer = contact("customer@example.com")
    contacts.update_contact(customer, {"crm_status": "Customer"})
    prospect = contact("prospect@example.com")
    contacts.update_contact(prospect, {"opportunity_status": "open"})
    lost = contact("lost@example.com", points=80)
    contacts.update_contact(lost, {"opportunity_status": "lost"})
    hot = contact("hot@example.com", points=50)
    cold = contact("cold@example.com", points=10)
    assert status and opportunity
    stages = targeting.stages_of([c.id for c in (customer, prospect, lost, hot, cold)], settings)
    assert [stages[c.id] for c in (customer, prospect, lost, hot, cold)] == [
        "loyalty", "transformation", "qualification", "qualification", "engagement"]
    targeting.set_stage_override(cold, "loyalty")
    assert targeting.stage_of(cold, settings) == "loyalty"
    targeting.set_stage_override(cold, None)
    assert targeting.stage_of(cold, settings) == "engagement"
    settings.qualification_threshold = 90
    assert targeting.stage_of(hot, settings) == "engagement"


def test_pick_prefers_stage_then_overlap_then_score_then_recency(ctx):
    save_segment(None, name="Sales management", kind="static", tags=["CRM", "sales efficiency"])
    from plugins.segments import Segment
    segment = Segment.get(Segment.name == "Sales management")
    content("Wrong stage", "loyalty", ["CRM", "sales efficiency", "emailing"], score=100)
    content("One tag high score", "engagement", ["emailing"], score=50)
    content("Two tags", "engagement", ["CRM", "emailing"], score=1)
    content("Two tags higher score", "engagement", ["sales efficiency", "emailing"], score=2)
    content("No matching tag", "engagement", ["golf"], score=1000)
    reader = contact("reader@example.com", tags=["emailing"])
    add_to_segment(reader, segment)  # interests: emailing + CRM + sales efficiency
    settings = programme_settings.load()
    scope = Scope(send_date=TUESDAY.date(), due_before=TUESDAY)
    [choice] = pick_range(settings, scope, 0, reader.id)
    assert Content.get_by_id(choice.content_id).title == "Two tags higher score"
    assert (choice.stage, choice.overlap, choice.score) == ("engagement", 2, 2)
    assert choice.matching_tags == ["emailing", "sales efficiency"]
    # same overlap and score: the most recent wins
    newer = content("Two tags newer", "engagement", ["CRM", "emailing"], score=2)
    Content.update(published_at=TUESDAY - dt.timedelta(days=400)).where(Content.id == choice.content_id).execute()
    Content.update(published_at=TUESDAY).where(Content.id == newer.id).execute()
    [choice] = pick_range(settings, scope, 0, reader.id)
    assert choice.content_id == newer.id


def test_pick_looks_past_received_contents_and_finds_rare_high_overlaps(ctx):
    """The picker only ranks a short list per contact (the best few contents
    of each interest tag, and the contents sharing a pair of tags); each
    contact's answer must still be the best free one of the whole stage."""
    contents = {title: content(title, "engagement", tags, score=score) for title, tags, score in (
        ("Best crm", ["crm"], 30), ("Second crm", ["crm"], 20), ("Third crm", ["crm"], 10),
        ("Three tags low score", ["crm", "seo", "ads"], 0), ("Two tags", ["seo", "ads"], 5),
        ("Golf", ["golf"], 100))}
    got = lambda *titles: [contents[t].id for t in titles]  # noqa: E731
    fresh = contact("fresh@example.com", tags=["crm"])
    deeper = contact("deeper@example.com", tags=["crm"])
    broad = contact("broad@example.com", tags=["crm", "seo", "ads", "golf"])
    broad_seen = contact("broad-seen@example.com", tags=["crm", "seo", "ads", "golf"])
    exhausted = contact("exhausted@example.com", tags=["crm"])
    long_ago = contact("long-ago@example.com", tags=["crm"])
    history = {deeper: got("Best crm", "Second crm"), broad_seen: got("Three tags low score"),
               exhausted: got("Best crm", "Second crm", "Third crm", "Three tags low score")}
    for person, ids in history.items():
        for days, content_id in enumerate(ids, start=10):
            Pick.create(contact=person.id, content=content_id, send_date=TUESDAY.date() - dt.timedelta(days=days),
                        status="sent")
    Pick.create(contact=long_ago.id, content=contents["Best crm"].id, send_date=dt.date(2023, 3, 1), status="sent")
    scope = Scope(send_date=TUESDAY.date(), due_before=TUESDAY)
    choices = {c.contact_id: c for c in pick_range(programme_settings.load(), scope, 0, long_ago.id)}
    assert choices[fresh.id].content_id == contents["Best crm"].id
    assert choices[deeper.id].content_id == contents["Third crm"].id
    assert (choices[broad.id].content_id, choices[broad.id].overlap) == (contents["Three tags low score"].id, 3)
    assert choices[broad.id].matching_tags == ["ads", "crm", "seo"]
    assert (choices[broad_seen.id].content_id, choices[broad_seen.id].overlap) == (contents["Two tags"].id, 2)
    assert choices[exhausted.id].content_id is None
    assert choices[long_ago.id].content_id == contents["Best crm"].id  # received more than 365 days ago


# --- the programme ------------------------------------------------------------------------------


def test_frequency_weekdays_and_excluded_dates(ctx):
    content("Article", "engagement", ["crm"])
    content("Second article", "engagement", ["crm"])
    reader = contact("reader@example.com", tags=["crm"])
    enable(every_days=3, weekdays=[1, 2, 3], excluded_dates=["03-06"])  # Tue-Thu, not 6 March
    with time_machine.travel(TUESDAY, tick=False):
        assert run_programme()["claimed"] == 1
        Pick.update(status="sent", sent_at=TUESDAY).execute()  # as send_picks does after the channel said yes
        mark_emailed(reader.id, TUESDAY)
    with time_machine.travel(TUESDAY + dt.timedelta(days=1), tick=False):  # Wednesday 6 March: excluded
        assert run_programme() == {"closed": "2024-03-06 is an excluded date"}
    with time_machine.travel(TUESDAY + dt.timedelta(days=2), tick=False):  # Thursday: only 2 days later
        assert run_programme()["due"] == 0
    with time_machine.travel(TUESDAY + dt.timedelta(days=3), tick=False):  # Friday: not an allowed weekday
        assert run_programme() == {"closed": "Fri is not an allowed weekday"}
    with time_machine.travel(TUESDAY + dt.timedelta(days=7), tick=False):  # next Tuesday: due again
        assert run_programme()["claimed"] == 1
    assert sorted(p.content.title for p in Pick.select()) == ["Article", "Second article"]  # not twice the same


def test_hours_and_disabled(ctx):
    enable(hour_start=9, hour_end=11, timezone="Europe/Paris")
    with time_machine.travel(TUESDAY, tick=False):  # 11:00 in Paris
        assert "outside the sending hours" in run_programme()["closed"]
    with time_machine.travel(TUESDAY - dt.timedelta(hours=1), tick=False):
        assert "closed" not in run_programme()
    enable(enabled=False)
    assert run_programme() == {"closed": "the programme is disabled"}


def test_sending_hours_follow_the_instance_time_zone_unless_the_programme_names_one(ctx):
    """A programme without its own time zone opens and closes in the
    instance's (Settings → General, Europe/Paris by default), not in UTC."""
    from core.settings import store_setting

    enable(hour_start=9, hour_end=11, timezone="")
    with time_machine.travel(TUESDAY, tick=False):  # 11:00 in Paris, 10:00 UTC
        assert "outside the sending hours (9:00–11:00 Europe/Paris)" in run_programme()["closed"]
    store_setting("general", "timezone", "UTC")
    with time_machine.travel(TUESDAY, tick=False):
        assert "closed" not in run_programme()


def test_the_dashboard_counts_days_as_the_picks_record_them(ctx):
    """Picks record the programme's day (the instance time zone by default): at
    23:30 UTC it is already the next day in Paris, and the chart's last day is
    that day, not UTC's (a send at that hour was missing from the chart)."""
    from plugins.smart_content import stats

    enable(timezone="")
    with time_machine.travel(dt.datetime(2024, 3, 5, 23, 30, tzinfo=dt.timezone.utc), tick=False):
        assert programme_settings.load().send_date() == dt.date(2024, 3, 6)
        assert stats.programme_today() == dt.date(2024, 3, 6)
        assert stats.sends_per_day()[-1][0] == dt.date(2024, 3, 6)


def test_workflow_emails_count_towards_the_frequency(ctx, run_jobs):
    from core import emit

    content("Article", "engagement", ["crm"])
    reader = contact("reader@example.com", tags=["crm"])
    newsletter_reader = contact("news@example.com", tags=["crm"])
    enable(every_days=10)
    with time_machine.travel(TUESDAY - dt.timedelta(days=2), tick=False):
        emit(reader, "email_sent", {"email_id": 1, "kind": "email.send", "subject": "From a workflow"})
        emit(newsletter_reader, "email_sent", {"email_id": 2, "kind": "email.newsletter", "subject": "News",
                                               "newsletter_id": 4})
    run_jobs(queues=["events"])
    with time_machine.travel(TUESDAY, tick=False):
        run_programme()
    assert claimed() == {("news@example.com", "Article")}


def test_content_sent_in_the_last_365_days_is_not_sent_again(ctx):
    only = content("Only article", "engagement", ["crm"])
    reader = contact("reader@example.com", tags=["crm"])
    enable(every_days=1, weekdays=list(range(7)), excluded_dates=[])
    with time_machine.travel(TUESDAY, tick=False):
        Pick.create(contact=reader.id, content=only.id, send_date=dt.date(2023, 3, 7), status="sent")
        totals = run_programme()
    assert totals["no_content"] == 1 and claimed() == set()
    with time_machine.travel(dt.datetime(2024, 3, 7, 10, tzinfo=dt.timezone.utc), tick=False):  # 366 days later
        assert run_programme()["claimed"] == 1
    assert claimed() == {("reader@example.com", "Only article")}


def test_running_twice_or_on_two_workers_claims_once(ctx):
    content("Article", "engagement", ["crm"])
    readers = [contact(f"r{i}@example.com", tags=["crm"]) for i in range(30)]
    enable()
    settings = programme_settings.load()
    with time_machine.travel(TUESDAY, tick=False):
        # two workers computed the same choices before either claimed
        scope = Scope(send_date=TUESDAY.date(), due_before=settings.due_before())
        first = pick_range(settings, scope, 0, readers[-1].id)
        second = pick_range(settings, scope, 0, readers[-1].id)
        mine_a = claim(first, TUESDAY.date(), "worker-a")
        mine_b = claim(second, TUESDAY.date(), "worker-b")
        assert len(mine_a) == 30 and mine_b == []
        assert run_programme()["claimed"] == 0  # and a second run the same day finds nobody
    assert Pick.select().count() == 30


def test_concurrent_runs_in_threads_claim_each_contact_once(ctx, wsgi):
    content("Article", "engagement", ["crm"])
    for i in range(200):
        contact(f"c{i}@example.com", tags=["crm"])
    enable()
    app = wsgi.app
    results, errors = [], []

    def worker():
        try:
            with app.app_context(), app.extensions["couvee"].database_connection():
                with time_machine.travel(TUESDAY, tick=False):
                    results.append(run_programme())
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r["claimed"] for r in results) == 200
    assert Pick.select().count() == 200


def test_segment_restriction_and_contacts_without_email(ctx):
    content("Article", "engagement", ["crm"])
    from plugins.segments import Segment
    save_segment(None, name="Pilot", kind="static")
    pilot = Segment.get(Segment.name == "Pilot")
    inside = contact("inside@example.com", tags=["crm"])
    contact("outside@example.com", tags=["crm"])
    add_to_segment(inside, pilot)
    no_email = contacts.create_contact({"first_name": "No address"})
    contacts.add_tag(no_email, "crm")
    enable(segment_ids=[pilot.id])
    with time_machine.travel(TUESDAY, tick=False):
        run_programme()
    assert claimed() == {("inside@example.com", "Article")}


def test_programme_form_validation(ctx):
    from werkzeug.datastructures import MultiDict

    form = MultiDict({"every_days": "0", "excluded_dates": "25/12, 31/02, tomorrow", "hour_start": "18",
                      "hour_end": "9", "timezone": "Mars/Olympus", "subject": "", "template": "<p>{{ content.title }}</p>",
                      "qualification_threshold": "x"})
    with pytest.raises(programme_settings.ProgrammeError) as error:
        programme_settings.from_form(form, set())
    errors = error.value.errors
    assert set(errors) >= {"every_days", "weekdays", "excluded_dates", "hour_end", "timezone", "subject",
                           "template", "qualification_threshold"}
    assert "31/02" in errors["excluded_dates"] and "tomorrow" in errors["excluded_dates"]
    assert "title" in errors["template"] and "image" in errors["template"] and "button" in errors["template"]
    assert programme_settings.parse_dates("25/12 2025-07-14 1-1") == (["12-25", "2025-07-14", "01-01"], [])
