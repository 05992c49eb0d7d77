"""Smart content's "Recommended content" block in a newsletter (issue 21):
each recipient gets the content the programme would pick for them, filled
through the email plugin's ``email_template_values`` hook; a contact with
nothing matching gets the library's best content; the prerendered path and
the full rendering give the same email."""
from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
import time_machine

from core import contacts, hookimpl, utcnow
from core.state import state
from plugins.segments import Segment, add_to_segment
from tests.test_email_mjml import write_mjml
from tests.test_email_send import configure, part

from plugins.email import newsletters, personal
from plugins.email.config import load_config
from plugins.email.models import Newsletter
from plugins.smart_content import library
from plugins.smart_content.emailblock import recommended_block


def newsletter_with_block() -> str:
    return ("<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ first_name or \"reader\" }}</mj-text>"
            "</mj-column></mj-section>" + recommended_block()["content"] + "</mj-body></mjml>")


def articles():
    crm = library.save_content(None, {
        "title": "Automate with your CRM", "url": "https://blog.example.fr/crm",
        "image_url": "https://cdn.example.fr/crm.jpg", "excerpt": "Smart marketing, step by step.",
        "stage": "engagement", "tags": ["CRM"], "score": 3})
    seo = library.save_content(None, {
        "title": "SEO for <small> shops", "url": "https://blog.example.fr/seo",
        "image_url": "https://cdn.example.fr/seo.jpg", "excerpt": "Be found & chosen.",
        "stage": "engagement", "tags": ["SEO"], "score": 9})
    return crm, seo


def reader(email, tags, segment):
    person = contacts.create_contact({"email": email, "first_name": email.split("@")[0].title()})
    for tag in tags:
        contacts.add_tag(person, tag)
    add_to_segment(person, segment)
    return person


def test_each_recipient_gets_their_own_recommendation_and_the_others_the_best_content(
        admin, ctx, smtp_sink, run_jobs):
    configure(smtp_sink)
    crm, seo = articles()
    readers = Segment.create(name="Readers", kind="static")
    reader("ann@example.com", ["CRM"], readers)
    reader("ben@example.com", ["SEO"], readers)
    reader("cat@example.com", ["Gardening"], readers)  # nothing matches her interests
    page = write_mjml(admin, [readers.id], content=newsletter_with_block(), subject="News").follow()
    assert "✗" not in page.text  # the rules pass: the check sees a real content (the fallback), alt included
    confirm = next(f for f in page.forms.values() if f.action.endswith("/send")).submit()
    next(f for f in confirm.forms.values() if f.fields.get("confirmed")).submit()
    run_jobs()
    messages = {m["To"]: m for m in smtp_sink.wait_for(3)}
    ann, ben, cat = (part(messages[f"{name}@example.com"], "html") for name in ("ann", "ben", "cat"))
    assert "Automate with your CRM" in ann and "https://cdn.example.fr/crm.jpg" in ann and "SEO for" not in ann
    assert "Smart marketing, step by step." in part(messages["ann@example.com"], "plain")
    # Ben's own pick, the contents' text escaped as any value
    assert "SEO for &lt;small&gt; shops</h2>" in ben and "Be found &amp; chosen." in ben
    assert "<small>" not in ben.replace('alt="SEO for <small> shops"', "")  # only inside the quoted alt
    assert "Automate with your CRM" not in ben
    # nothing matches Cat: the library's best content (highest score), never an empty section
    assert "SEO for &lt;small&gt; shops" in cat and 'src="https://cdn.example.fr/seo.jpg"' in cat
    for html in (ann, ben, cat):
        assert "{{" not in html and "Read it" in html
        assert "blog.example.fr" not in html  # the button's link is tracked (signed per send), not bare
    # Ann's button leads, through the tracked link, to her article
    button = re.search(r'href="(http://couvee\.test/e/c/[^"]+)"[^>]*>\s*Read it', ann) or re.search(
        r'href="(http://couvee\.test/e/c/[^"]+)"', ann)
    url = urlparse(button.group(1))
    response = admin.get(url.path + ("?" + url.query if url.query else ""))
    assert response.location.startswith("https://blog.example.fr/crm")
    assert Newsletter.select().order_by(Newsletter.id.desc()).first().status == "sent"


def test_an_empty_library_leaves_the_block_empty_and_the_rules_refuse_the_send(ctx):
    configure()
    newsletter = Newsletter.create(name="n", subject="s", content=newsletter_with_block(), content_format="mjml")
    verdict = newsletters.check_ready(newsletter)
    assert any("alt text" in error for error in verdict.errors)


def test_the_prerendered_path_gives_the_full_rendering_with_the_recommendation(ctx):
    configure()
    articles()
    readers = Segment.create(name="Readers", kind="static")
    ann = reader("ann@example.com", ["CRM"], readers)
    ben = reader("ben@example.com", ["SEO"], readers)
    # the title in text only: the prerendered path fills it by substitution
    content = ("<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ first_name }}, read "
               "{{ content.title }}</mj-text></mj-column></mj-section></mj-body></mjml>")
    newsletter = Newsletter.create(name="n", subject="s", content=content, content_format="mjml")
    renderer = newsletters.newsletter_renderer(newsletter, load_config(), prerender=True)
    assert renderer.fast is not None and renderer.foreign == {"content"}
    with time_machine.travel(utcnow(), tick=False):  # link signatures carry the second they were made
        for send_id, person, title in ((1, ann, "Automate with your CRM"), (2, ben, "SEO for &lt;small&gt; shops")):
            urls = renderer.urls(send_id)
            fast = renderer.render(send_id, person, urls)
            assert renderer.fast is not None  # the first recipient's comparison found no difference
            assert renderer.fast.render(renderer.context(person, urls), fast.subject, urls,
                                        renderer.clicks(send_id)) == (fast.html, fast.text)
            assert fast == renderer.render_full(send_id, person, urls, renderer.clicks(send_id))
            assert f"read {title}" in fast.html


def test_a_newsletter_without_the_block_does_not_ask_smart_content(ctx, monkeypatch):
    configure()
    from plugins.smart_content import emailblock

    monkeypatch.setattr(emailblock, "recommended_for", lambda contact: 1 / 0)
    newsletter = Newsletter.create(name="n", subject="Hi {{ first_name }}", content="<p>{{ fields.x }}</p>")
    renderer = newsletters.newsletter_renderer(newsletter, load_config())
    assert renderer.foreign == frozenset()
    person = contacts.create_contact({"email": "ann@example.com", "first_name": "Ann"})
    assert "Hi Ann" == renderer.render(1, person).subject


def test_hook_email_template_values(ctx):
    """A plugin lends the names it owns, per recipient; it cannot override the
    email plugin's names; one that raises fails that email as a template error."""
    configure()
    seen = []

    class Shop:
        @hookimpl
        def email_template_values(self, contact, names):
            seen.append((contact.email if contact else None, names))
            if "boom" in names:
                raise RuntimeError("the shop is down")
            return {"shop": {"product": f"boots for {contact.first_name}" if contact else "boots"},
                    "first_name": "Mallory", "other": "also lent"}

    hooks = state().hooks
    hooks.pm.register(Shop(), name="shop_values")
    try:
        ann = contacts.create_contact({"email": "ann@example.com", "first_name": "Ann"})
        newsletter = Newsletter.create(name="n", subject="For {{ first_name }}",
                                       content="<p>{{ first_name }}: {{ shop.product }} {{ other }}</p>")
        renderer = newsletters.newsletter_renderer(newsletter, load_config())
        assert renderer.foreign == {"shop", "other"}
        rendered = renderer.render(1, ann)
        assert rendered.subject == "For Ann" and "<p>Ann: boots for Ann also lent</p>" in rendered.html
        assert seen == [("ann@example.com", frozenset({"shop", "other"}))]
        assert "boots</p>" not in rendered.html and "<p>: boots" in renderer.render(2, None).html
        plain = Newsletter.create(name="p", subject="Hi", content="<p>{{ first_name }} {{ range(2)|list }}</p>")
        newsletters.newsletter_renderer(plain, load_config()).render(3, ann)
        assert len(seen) == 2  # a template using only the email plugin's names (and builtins) asks nobody
        broken = Newsletter.create(name="b", subject="s", content="<p>{{ boom }}</p>")
        with pytest.raises(personal.ContentError, match="the shop is down"):
            newsletters.newsletter_renderer(broken, load_config()).render(4, ann)
    finally:
        hooks.pm.unregister(name="shop_values")
