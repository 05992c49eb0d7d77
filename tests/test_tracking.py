"""Tracking ingest: the hit endpoint validates and appends to a Redis stream
without touching the database; the drain job writes hits in batches, emits
contact events for identified visitors, never loses or doubles a hit; old
anonymous data is purged."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from core import contacts
from core.models import Event
from plugins.tracking import drain as drain_mod, link_visitor
from plugins.tracking.ingest import STREAM
from plugins.tracking.models import Hit, Visitor

from .tracking_helpers import BROWSER, ORIGIN, drain_now, hit_body, make_site, send_hit, stream_length


@pytest.fixture
def site(wsgi):
    return make_site(wsgi.app)


def test_a_valid_hit_is_appended_to_the_stream_not_the_database(web, wsgi, site, ctx):
    statements = []
    database = wsgi.app.extensions["couvee"].database
    original = database.execute_sql

    def spy(sql, *args, **kwargs):
        statements.append(sql)
        return original(sql, *args, **kwargs)

    send_hit(web, hit_body(site))  # warm up (the site mirror is read once)
    database.execute_sql = spy
    try:
        response = send_hit(web, hit_body(site))
    finally:
        database.execute_sql = original
    assert response.status_int == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert stream_length(wsgi.app) == 2
    assert not [sql for sql in statements if "tracking" in sql or "event" in sql.lower()], statements
    assert Hit.select().count() == 0


@pytest.mark.parametrize("body, status, reason", [
    (b"not json", 400, "not JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b"\xff\xfe", 400, "not JSON"),
    ({"s": None}, 400, "missing field s"),
    ({"s": 12}, 400, "field s must be a string"),
    ({"v": "short"}, 400, "field v is not a valid id"),
    ({"v": None}, 400, "missing field v"),
    ({"u": "javascript:alert(1)"}, 400, "http(s) URL"),
    ({"u": None}, 400, "missing field u"),
    ({"k": "delete"}, 400, "field k"),
    ({"t": ["a"]}, 400, "field t must be a string"),
    ({"t": "x" * 600}, 400, "longer than 512"),
    ({"sc": "huge"}, 400, "1920x1080"),
    ({"k": "event"}, 400, "missing field n"),
    ({"k": "event", "n": "<script>"}, 400, "field n"),
    ({"k": "event", "n": "cart", "p": [1]}, 400, "field p"),
    ({"k": "event", "n": "cart", "p": {"a": {"nested": 1}}}, 400, "field p"),
    ({"k": "identify", "id": "me"}, 400, "field id"),
    ({"k": "identify", "id": {"name": "x"}}, 400, "needs an email"),
])
def test_malformed_hits_are_refused_with_a_reason(web, wsgi, site, body, status, reason):
    payload = body if isinstance(body, bytes) else hit_body(site, **body)
    response = send_hit(web, payload)
    assert response.status_int == status, response.text
    assert reason in response.text
    assert stream_length(wsgi.app) == 0


def test_too_large_unknown_site_and_foreign_origin_are_refused(web, wsgi, site):
    big = send_hit(web, hit_body(site, t="x" * 500, p=None) | {"pad": "y" * 9000})
    assert big.status_int == 413
    unknown = send_hit(web, hit_body(site, s="cvUnknownKey"))
    assert unknown.status_int == 403 and "unknown site" in unknown.text
    foreign = send_hit(web, hit_body(site), origin="https://evil.example.net")
    assert foreign.status_int == 403 and "Access-Control-Allow-Origin" not in foreign.headers
    missing = send_hit(web, hit_body(site), origin=None)
    assert missing.status_int == 403
    assert stream_length(wsgi.app) == 0


def test_subdomain_wildcard_origins(web, wsgi):
    site = make_site(wsgi.app, allowed_origins=["https://*.example.com"])
    assert send_hit(web, hit_body(site), origin="https://shop.example.com").status_int == 204
    assert send_hit(web, hit_body(site), origin="https://example.com.evil.net").status_int == 403
    assert send_hit(web, hit_body(site), origin="http://shop.example.com").status_int == 403


def test_random_garbage_never_causes_a_server_error(web, site):
    import random

    rng = random.Random(4)
    values = [None, 1, -1.5, True, "", "x" * 3000, [], {}, {"a": 1}, "https://a.example/", "🙂" * 10]
    for _ in range(150):
        body = {key: rng.choice(values) for key in rng.sample(["s", "k", "v", "h", "u", "t", "r", "n", "p", "id",
                                                               "sc", "l", "tz", "ct"], rng.randint(0, 8))}
        if rng.random() < 0.5:
            body["s"] = site.key
        assert send_hit(web, body).status_int in (204, 400, 403, 413)


def test_bots_are_dropped(web, wsgi, site):
    for agent in ("Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.0", "", "HeadlessChrome/120"):
        response = send_hit(web, hit_body(site), user_agent=agent)
        assert response.status_int == 204 and response.headers["X-Couvee-Dropped"] == "bot"
    assert stream_length(wsgi.app) == 0


def test_do_not_track_and_gpc_when_the_site_honours_them(web, wsgi, site):
    assert send_hit(web, hit_body(site), headers={"DNT": "1"}).headers["X-Couvee-Dropped"] == "dnt"
    assert send_hit(web, hit_body(site), headers={"Sec-GPC": "1"}).headers["X-Couvee-Dropped"] == "dnt"
    assert stream_length(wsgi.app) == 0
    careless = make_site(wsgi.app, name="Shop", honour_dnt=False)
    assert send_hit(web, hit_body(careless), headers={"DNT": "1"}).status_int == 204
    assert stream_length(wsgi.app) == 1


def test_rate_limit_per_ip(web, wsgi):
    site = make_site(wsgi.app, rate_limit=3)
    codes = [send_hit(web, hit_body(site)).status_int for _ in range(5)]
    assert codes == [204, 204, 204, 429, 429]
    assert send_hit(web, hit_body(site), ip="198.51.100.9").status_int == 204
    assert stream_length(wsgi.app) == 4


def test_cors_preflight(web, site):
    allowed = web.options("/t/hit", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "content-type"})
    assert allowed.status_int == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert allowed.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    other = web.options("/t/hit", headers={"Origin": "https://evil.example.net",
                                           "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_drain_writes_hits_and_visitors_in_batches(web, wsgi, site, ctx):
    for i in range(7):
        send_hit(web, hit_body(site, v=f"visitor{i % 3:02d}xxxxxxxxx"))
    assert drain_now(wsgi.app) == 7
    assert Hit.select().count() == 7
    assert Visitor.select().count() == 3
    first = Hit.select().order_by(Hit.id).first()
    assert first.path == "/pricing" and first.utm == {"utm_source": "news", "utm_medium": "email"}
    assert first.language == "fr-FR" and first.screen == "1920x1080" and first.timezone == "Europe/Paris"
    assert Event.select().where(Event.kind == "page_visited").count() == 0  # all anonymous
    assert stream_length(wsgi.app) == 0


def test_identified_visitors_hits_become_page_visited_events(web, wsgi, site, ctx, run_jobs):
    contact = contacts.create_contact({"email": "ada@example.com"})
    link_visitor("visitor" + "a" * 15, contact)
    send_hit(web, hit_body(site))
    send_hit(web, hit_body(site, k="event", n="added_to_cart", p={"sku": "A1", "qty": 2}))
    run_jobs()  # the first hit queued a drain job; events are dispatched too
    page = Event.get(Event.kind == "page_visited")
    assert page.contact_id == contact.id and page.source == "tracking"
    assert page.data == {"url": "https://www.example.com/pricing?utm_source=news&utm_medium=email",
                         "path": "/pricing", "title": "Pricing", "referrer": "https://search.example.org/",
                         "site_id": site.id, "visitor_id": "visitor" + "a" * 15, "utm_source": "news",
                         "utm_medium": "email", "utm_campaign": "", "utm_term": "", "utm_content": ""}
    custom = Event.get(Event.kind == "custom_event")
    assert custom.data["name"] == "added_to_cart" and custom.data["properties"] == {"sku": "A1", "qty": 2}
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 0
    contact = type(contact).get_by_id(contact.id)
    assert contact.last_interaction_at is not None


def _read_without_ack(app, consumer="dead-worker"):
    redis = app.extensions["couvee"].redis
    drain_mod.ensure_group(redis)
    return redis.xreadgroup(drain_mod.GROUP, consumer, {STREAM: ">"}, count=100)[0][1]


def test_a_batch_left_by_a_dead_worker_is_reclaimed_and_stored_once(web, wsgi, site, ctx, monkeypatch):
    for _ in range(3):
        send_hit(web, hit_body(site))
    entries = _read_without_ack(wsgi.app)
    hits = [json.loads(fields[b"d"]) | {"h": json.loads(fields[b"d"])["h"]} for _, fields in entries]
    drain_mod.store(hits[:2])  # the dead worker committed two hits, then died before XACK
    assert drain_now(wsgi.app) == 0  # entries are pending but not idle long enough yet
    monkeypatch.setattr(drain_mod, "RECLAIM_IDLE_MS", 0)
    monkeypatch.setattr(drain_mod.reclaim, "__defaults__", (drain_mod.BATCH, 0))
    assert drain_now(wsgi.app) == 3
    assert Hit.select().count() == 3
    redis = wsgi.app.extensions["couvee"].redis
    assert redis.xpending(STREAM, drain_mod.GROUP)["pending"] == 0
    assert stream_length(wsgi.app) == 0


def test_a_hit_sent_twice_is_stored_once(web, wsgi, site, ctx):
    body = hit_body(site, h="samehitid12345")
    send_hit(web, body)
    send_hit(web, body)
    drain_now(wsgi.app)
    assert Hit.select().count() == 1


def test_hits_of_a_deleted_site_are_dropped_by_the_drain(web, wsgi, site, ctx):
    send_hit(web, hit_body(site))
    site.delete_instance()
    drain_now(wsgi.app)
    assert Hit.select().count() == 0 and stream_length(wsgi.app) == 0


def test_purge_deletes_old_anonymous_data_only(web, wsgi, site, ctx):
    contact = contacts.create_contact({"email": "kept@example.com"})
    with time_machine.travel(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), tick=False):
        send_hit(web, hit_body(site, v="anonymousvisitor01"))
        send_hit(web, hit_body(site, v="knownvisitor000001"))
        drain_now(wsgi.app)
        link_visitor("knownvisitor000001", contact)
    with time_machine.travel(dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc), tick=False):
        send_hit(web, hit_body(site, v="recentvisitor00001"))
        drain_now(wsgi.app)
    with time_machine.travel(dt.datetime(2024, 7, 1, tzinfo=dt.timezone.utc), tick=False):
        assert drain_mod.purge_anonymous() == 1
    assert sorted(h.visitor for h in Hit.select()) == ["knownvisitor000001", "recentvisitor00001"]
    assert Visitor.get_or_none(Visitor.id == "anonymousvisitor01") is None


def test_periodic_jobs_are_registered(wsgi):
    ids = {job.id for job in wsgi.app.extensions["couvee"].registries.periodic_jobs}
    assert {"tracking.drain", "tracking.purge_anonymous"} <= ids
