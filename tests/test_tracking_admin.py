"""Tracking in the admin: sites with their snippet, the visits list with
filters, chart and top pages, the contact's visit history, assets with a
tracked download link. Tracked strings are escaped (CVE-2020-35124)."""
from __future__ import annotations

import pytest

from core import contact_token, contacts
from core.models import Event
from plugins.tracking import link_visitor
from plugins.tracking.models import Asset, Hit, Site

from .conftest import csrf_of
from .tracking_helpers import ORIGIN, drain_now, hit_body, make_site, send_hit

HOSTILE = '"><script>alert(document.cookie)</script>'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_adding_a_site_gives_a_snippet_and_accepts_hits(admin, web, wsgi, ctx):
    page = admin.get("/admin/tracking/sites")
    assert "No site yet" in page.text
    form = admin.get("/admin/tracking/sites/new").forms["site-form"]
    assert form["require_consent"].checked and form["honour_dnt"].checked
    assert not form["identify_unverified"].checked
    form["name"] = "Blog"
    form["origins"] = "ftp://nope"
    refused = form.submit(status=422)
    assert "is not an origin" in refused.text
    form = refused.forms["site-form"]
    form["origins"] = "https://WWW.example.com/\nhttps://*.example.org"
    shown = form.submit().follow()
    site = Site.get()
    assert site.allowed_origins == ["https://www.example.com", "https://*.example.org"]
    assert site.require_consent and site.honour_dnt
    snippet = shown.html.select_one("#snippet").get_text()
    assert f"couvee('init',\"{site.key}\")" in snippet
    assert f"/t/{site.key}/couvee.js" in snippet and "w.couvee.q" in snippet
    assert send_hit(web, hit_body(site), origin=ORIGIN).status_int == 204


def test_editing_origins_takes_effect_at_once(admin, web, wsgi):
    site = make_site(wsgi.app)
    form = admin.get(f"/admin/tracking/sites/{site.id}/edit").forms["site-form"]
    form["origins"] = "https://shop.example.net"
    form.submit().follow()
    assert send_hit(web, hit_body(site), origin=ORIGIN).status_int == 403
    assert send_hit(web, hit_body(site), origin="https://shop.example.net").status_int == 204


def test_deleting_a_site_needs_its_name(admin, wsgi, ctx):
    site = make_site(wsgi.app)
    page = admin.get(f"/admin/tracking/sites/{site.id}")
    admin.post(f"/admin/tracking/sites/{site.id}/delete", {"csrf_token": csrf_of(page), "confirm": "nope"})
    assert Site.select().count() == 1
    admin.post(f"/admin/tracking/sites/{site.id}/delete", {"csrf_token": csrf_of(page), "confirm": "Blog"})
    assert Site.select().count() == 0


@pytest.fixture
def visited(web, wsgi, ctx):
    site = make_site(wsgi.app)
    contact = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"})
    send_hit(web, hit_body(site, v="hostilevisitor0001", r="https://x.example/?" + HOSTILE, t=HOSTILE,
                           u="https://www.example.com/pricing?q=" + HOSTILE))
    send_hit(web, hit_body(site, v="hostilevisitor0001", k="event", n="added_to_cart", p={"x": HOSTILE}))
    send_hit(web, hit_body(site, v="othervisitor000001", u="https://www.example.com/blog"))
    drain_now(wsgi.app)
    link_visitor("hostilevisitor0001", contact)
    return site, contact


def test_visits_escape_everything_tracked(admin, visited):
    site, contact = visited
    for url in ("/admin/tracking/visits", f"/admin/contacts/{contact.id}"):
        page = admin.get(url)
        assert "<script>alert(document.cookie)" not in page.text
        assert "&lt;script&gt;alert(document.cookie)" in page.text


def test_visits_list_filters_chart_and_top_pages(admin, visited):
    site, contact = visited
    page = admin.get("/admin/tracking/visits")
    assert len(page.html.select("svg.chart rect")) >= 28
    top = [row.get_text() for row in page.html.select("table.table")[0].select("tbody tr")]
    assert any("/pricing" in row for row in top) and any("/blog" in row for row in top)
    assert len(page.html.select("table.visits tbody tr")) == 3
    by_contact = admin.get("/admin/tracking/visits", {"contact": "ada@"})
    assert len(by_contact.html.select("table.visits tbody tr")) == 2
    by_url = admin.get("/admin/tracking/visits", {"url": "/blog"})
    assert len(by_url.html.select("table.visits tbody tr")) == 1
    by_site = admin.get("/admin/tracking/visits", {"site": str(site.id + 1)})
    assert "No visit matches" in by_site.text
    future = admin.get("/admin/tracking/visits", {"since": "2999-01-01"})
    assert "No visit matches" in future.text
    bad = admin.get("/admin/tracking/visits", {"since": "yesterday"})
    assert "is not a date" in bad.text


def test_contact_page_shows_its_visits(admin, visited):
    site, contact = visited
    panel = admin.get(f"/admin/contacts/{contact.id}").html.select_one("#contact-visits")
    assert "Website visits" in panel.get_text() and "added_to_cart" in panel.get_text()
    other = contacts.create_contact({"email": "bob@example.com"})
    assert "No website visit" in admin.get(f"/admin/contacts/{other.id}").html.select_one("#contact-visits").get_text()


def test_asset_upload_and_tracked_download(admin, web, wsgi, ctx):
    site = make_site(wsgi.app)
    page = admin.get("/admin/tracking/assets")
    assert "No asset yet" in page.text
    form = page.forms["asset-upload"]
    form["title"] = "Livre blanc"
    form["file"] = ("fake.pdf", b"<html>not a pdf</html>")
    refused = form.submit(status=422)
    assert "not a real PDF" in refused.text and Asset.select().count() == 0
    form = refused.forms["asset-upload"]
    form["title"] = "Livre blanc"
    form["file"] = ("livre-blanc.pdf", PDF)
    form.submit().follow()
    asset = Asset.get()
    contact = contacts.create_contact({"email": "ada@example.com"})
    link_visitor("downloader00000001", contact)
    got = web.get(f"/t/a/{asset.slug}", {"s": site.key, "v": "downloader00000001"},
                  headers={"User-Agent": "Mozilla/5.0 Firefox/120"})
    assert got.body == PDF and "attachment" in got.headers["Content-Disposition"]
    token = contact_token(contact, "tracking.identify")
    web.get(f"/t/a/{asset.slug}", {"cv_t": token}, headers={"User-Agent": "Mozilla/5.0 Firefox/120"})
    web.get(f"/t/a/{asset.slug}", headers={"User-Agent": "Mozilla/5.0 Firefox/120"})  # anonymous
    drain_now(wsgi.app)
    events = list(Event.select().where(Event.kind == "asset_downloaded"))
    assert len(events) == 2 and all(e.contact_id == contact.id for e in events)
    assert events[0].data["asset_id"] == asset.id and events[0].data["title"] == "Livre blanc"
    assert Hit.select().where(Hit.kind == "download").count() == 3
    listing = admin.get("/admin/tracking/assets")
    assert f"/t/a/{asset.slug}" in listing.text
    assert web.get("/t/a/nope", expect_errors=True).status_int == 404
