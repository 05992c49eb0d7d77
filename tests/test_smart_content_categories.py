"""RSS categories proposed as tags (issue 19 item 5): a feed item's categories
that are not tags yet are pre-filled in the content's tags field; saving keeps
what the editor left there, and they are not proposed again."""
from __future__ import annotations

from core.models import Tag

from plugins.smart_content import feeds, library
from plugins.smart_content.models import Content


def test_a_feed_items_categories_are_proposed_as_tags(admin, ctx):
    Tag.insert(name="crm").execute()
    feeds.store_items(None, [feeds.Item(title="Webinar CRM", url="https://blog.example.fr/webinar",
                                        categories=["CRM", "Webinars", "Agenda"])])
    content = Content.get(Content.url == "https://blog.example.fr/webinar")
    page = admin.get(f"/admin/smart-content/contents/{content.id}")
    form = next(f for f in page.forms.values() if "tags" in f.fields)
    assert form["tags"].value == "crm, Webinars, Agenda"
    assert "proposed as tags above" in page.text
    form["tags"] = "crm, Webinars"  # the editor drops one
    form.submit().follow()
    assert sorted(library.tags_by_content([content.id])[content.id], key=str.casefold) == ["crm", "Webinars"]
    again = admin.get(f"/admin/smart-content/contents/{content.id}")
    kept = next(f for f in again.forms.values() if "tags" in f.fields)["tags"].value
    assert sorted(kept.split(", "), key=str.casefold) == ["crm", "Webinars"]
    assert "proposed as tags" not in again.text and Content.get_by_id(content.id).suggested_tags == []
