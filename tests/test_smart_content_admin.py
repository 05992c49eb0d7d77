"""Smart content in the admin and the API: library editing with clear errors,
items to complete, feeds, the marketing matrix, programme settings with the
template check, preview, the contact page's "why", and the REST API."""
from __future__ import annotations

import datetime as dt

from core import auth, contacts
from plugins.segments import add_to_segment
from plugins.segments.editing import save_segment

from plugins.smart_content import library
from plugins.smart_content.models import Content, Feed, Pick

from .conftest import login


def test_empty_states_and_navigation(admin):
    for url, words in (("/admin/smart-content", "Nothing sent yet"), ("/admin/smart-content/contents", "No content yet"),
                       ("/admin/smart-content/feeds", "No feed yet"), ("/admin/smart-content/matrix", "No tagged content yet"),
                       ("/admin/smart-content/log", "Nothing sent yet"), ("/admin/smart-content/test", "Add a content first")):
        assert words in admin.get(url).text, url


def test_content_form_errors_keep_the_input_then_save(admin, ctx):
    page = admin.get("/admin/smart-content/contents/new")
    form = page.forms["content-form"]
    form["title"] = "Guide CRM"
    form["url"] = "not a url"
    form["score"] = "lots"
    form["tags"] = "CRM, efficacité commerciale"
    page = form.submit(status=400)
    assert "web address" in page.text and "whole number" in page.text
    assert page.forms["content-form"]["title"].value == "Guide CRM"
    form = page.forms["content-form"]
    form["url"] = "https://blog.example.fr/guide-crm"
    form["score"] = "5"
    page = form.submit().follow()
    assert "Guide CRM" in page.text
    saved = Content.get(Content.title == "Guide CRM")
    assert library.tags_by_content([saved.id])[saved.id] == ["CRM", "efficacité commerciale"]
    incomplete = admin.get("/admin/smart-content/contents?show=incomplete")
    assert "Guide CRM" in incomplete.text and "image, excerpt, stage" in incomplete.text
    form = admin.get(f"/admin/smart-content/contents/{saved.id}").forms["content-form"]
    form["stage"] = "qualification"
    form["image_url"] = "https://cdn.example.fr/crm.png"
    form["excerpt"] = "Tout sur le CRM"
    form.submit().follow()
    assert "Nothing to complete" in admin.get("/admin/smart-content/contents?show=incomplete").text


def test_feed_added_with_clear_errors(admin, ctx):
    page = admin.get("/admin/smart-content/feeds")
    page.forms["feed-form"]["url"] = "ftp://example.com/feed"
    page = page.forms["feed-form"].submit(status=400)
    assert "http:// or https://" in page.text
    page.forms["feed-form"]["url"] = "http://127.0.0.1:9/feed.xml"
    page = page.forms["feed-form"].submit().follow()
    assert "being fetched" in page.text
    page.forms["feed-form"]["url"] = "http://127.0.0.1:9/feed.xml"
    assert "already in the list" in page.forms["feed-form"].submit(status=400).text
    assert Feed.select().count() == 1


def test_broken_feed_error_is_shown_in_the_admin(admin, ctx, run_jobs):
    page = admin.get("/admin/smart-content/feeds")
    page.forms["feed-form"]["url"] = "http://127.0.0.1:9/closed.xml"
    page.forms["feed-form"].submit()
    run_jobs(queues=["low"])
    assert "could not reach the feed" in admin.get("/admin/smart-content/feeds").text


def test_marketing_matrix_highlights_gaps(admin, ctx):
    save_segment(None, name="Direction commerciale", kind="static", tags=["CRM", "Efficacité commerciale"])
    library.save_content(None, {"title": "A", "url": "https://x.fr/a", "stage": "engagement", "tags": ["CRM"]})
    library.save_content(None, {"title": "B", "url": "https://x.fr/b", "stage": "engagement",
                                "tags": ["Efficacité commerciale", "CRM"]})
    library.save_content(None, {"title": "C", "url": "https://x.fr/c", "stage": "loyalty", "tags": ["golf"]})
    page = admin.get("/admin/smart-content/matrix")  # tags × stages (issue 19)
    rows = [th.text.strip() for th in page.html.select("tbody th")]
    assert [row.casefold() for row in rows] == ["crm", "efficacité commerciale", "golf"]
    cells = {td["data-cell"]: td.text.split()[0] for td in page.html.select("td[data-cell]")}
    tag_ids = [td["data-cell"].split("-")[0] for td in page.html.select("tbody tr td:first-of-type")]
    crm, efficiency, golf = tag_ids
    assert cells[f"{crm}-engagement"] == "2" and cells[f"{efficiency}-engagement"] == "1"
    assert cells[f"{golf}-loyalty"] == "1" and cells[f"{golf}-engagement"] == "0"
    assert "9</strong> empty cells" in page.text  # 3 tags × 4 stages, 3 filled
    # segments as an optional filter: only the segment's tags
    segment_id = page.html.select_one("select[name=segment] option[value!='']")["value"]
    filtered = admin.get(f"/admin/smart-content/matrix?segment={segment_id}")
    assert len(filtered.html.select("tbody tr")) == 2 and "golf" not in filtered.html.select_one("tbody").text
    assert "6</strong> empty cells" in filtered.text


def test_programme_settings_refuse_a_template_without_its_slots(admin, ctx):
    page = admin.get("/admin/smart-content/programme")
    form = page.forms["programme-form"]
    form["enabled"] = True
    form["template"] = "<p>Hello {{ content.title }}</p>"
    form["every_days"] = "10"
    form["excluded_dates"] = "25/12, 01/05"
    page = form.submit(status=400)
    assert "The template lacks a title" in page.text and "an image" in page.text and "a button" in page.text
    assert "nothing was saved" in page.text
    form = page.forms["programme-form"]
    form["template"] = ('<h1>{{ content.title }}</h1><img src="{{ content.image_url }}" alt="">'
                        '<a href="{{ content.url }}">Lire</a>')
    page = form.submit().follow()
    assert "Programme saved. It is enabled." in page.text
    assert page.forms["programme-form"]["excluded_dates"].value == "12-25, 05-01"
    broken = page.forms["programme-form"]
    broken["template"] = '<h2>{{ content.title }}</h2><img src="{{ content.image_url }}"><a href="{{ content.url }}">{% if %}</a>'
    assert "does not render" in broken.submit(status=400).text


def test_preview_and_contact_page_show_why(admin, ctx):
    person = contacts.create_contact({"email": "ana@example.com", "first_name": '<b>Ana</b>'})
    contacts.add_tag(person, "CRM")
    save_segment(None, name="Sales", kind="static", tags=["sales efficiency"])
    from plugins.segments import Segment
    add_to_segment(person, Segment.get(Segment.name == "Sales"))
    chosen = library.save_content(None, {"title": "Le CRM <script>", "url": "https://x.fr/crm", "stage": "engagement",
                                         "tags": ["CRM", "sales efficiency"], "image_url": "https://x.fr/i.png"})
    page = admin.get("/admin/smart-content/test?contact=ana@example.com")
    assert "is at stage <strong>Engagement</strong>" in page.text
    assert "matching tags: CRM, sales efficiency" in page.text
    assert "Le CRM &lt;script&gt;" in page.text
    email = admin.get(f"/admin/smart-content/preview/{person.id}/{chosen.id}")
    assert "sandbox" in email.headers["Content-Security-Policy"]
    assert "<h2" in email.text and "Le CRM &lt;script&gt;" in email.text and "&lt;b&gt;Ana&lt;/b&gt;" in email.text
    assert "No contact" in admin.get("/admin/smart-content/test?contact=nobody@example.com", status=400).text
    Pick.create(contact=person.id, content=chosen.id, send_date=dt.date(2024, 3, 5), status="sent",
                stage="engagement", matching_tags=["CRM", "sales efficiency"], score=3)
    contact_page = admin.get(f"/admin/contacts/{person.id}")
    assert "Why: stage Engagement; matching tags CRM, sales efficiency; score 3" in contact_page.text
    assert "Interests: CRM, sales efficiency" in contact_page.text
    form = contact_page.forms["stage-form"]
    form["stage"] = "loyalty"
    assert "Stage: <strong>Loyalty</strong> (set by hand)" in form.submit().follow().text
    log = admin.get("/admin/smart-content/log")
    assert "tags CRM, sales efficiency; score 3" in log.text


def test_test_send_is_validated_and_answered_in_the_page(admin, ctx):
    item = library.save_content(None, {"title": "A", "url": "https://x.fr/a"})
    page = admin.get("/admin/smart-content/test")
    page.forms["test-form"]["address"] = "not-an-address"
    page = page.forms["test-form"].submit(status=400)
    assert "valid email address" in page.text
    page.forms["test-form"]["address"] = "me@example.com"
    page.forms["test-form"]["content_id"] = str(item.id)
    # sent while the admin waits (not queued): with no sender address set, the page says so
    said = page.forms["test-form"].submit().follow().text
    assert "Test email with “A” not sent: no sender address (set it in Settings → Email)." in said, said


def test_rest_api_creates_and_completes_contents(web, ctx, admin_user):
    _, secret = auth.create_api_key(admin_user, "blog")
    headers = {"Authorization": f"Bearer {secret}"}
    assert web.get("/api/v1/smart-content/contents", status=401)
    bad = web.post_json("/api/v1/smart-content/contents", {"title": "", "url": "x", "stage": "later"},
                        headers=headers, status=422).json
    assert set(bad["errors"]) == {"title", "url", "stage"}
    created = web.post_json("/api/v1/smart-content/contents",
                            {"title": "Webinar", "url": "https://x.fr/webinar", "tags": ["CRM"], "score": 3},
                            headers=headers, status=201).json
    assert created["missing"] == ["image", "excerpt", "stage"] and created["source"] == "api"
    listed = web.get("/api/v1/smart-content/contents?incomplete=1", headers=headers).json
    assert [i["id"] for i in listed["items"]] == [created["id"]]
    patched = web.patch_json(f"/api/v1/smart-content/contents/{created['id']}",
                             {"stage": "loyalty", "image_url": "https://x.fr/w.png", "excerpt": "Live"},
                             headers=headers).json
    assert patched["missing"] == [] and patched["tags"] == ["CRM"] and patched["title"] == "Webinar"
    web.delete(f"/api/v1/smart-content/contents/{created['id']}", headers=headers, status=204)
    web.get(f"/api/v1/smart-content/contents/{created['id']}", headers=headers, status=404)


def test_sales_users_cannot_open_smart_content(web, ctx, admin_user):
    auth.create_user("sales@example.com", "x" * 12, role="sales")
    login(web, "sales@example.com", "x" * 12)
    web.get("/admin/smart-content", status=403)
