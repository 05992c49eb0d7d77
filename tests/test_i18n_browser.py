"""French first, in Chromium (issue 17): a French browser crawls the admin and
sees French pages only; a French contact's email and unsubscribe page are
French, an English contact's English, whatever the browser of who opens them."""
from __future__ import annotations

import re

from core import Message, send_message
from core.contacts import create_contact

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from .test_email_send import configure, part

#: sentences of the translated pages: none may show in English to a French browser
ENGLISH = ["Log out", "Dashboard", "Getting started", "Add a contact", "My contacts", "All contacts",
           "Search by email or name", "Delete this contact", "Nothing happened yet", "Language of the interface",
           "Default timezone", "Default language", "First name", "Last name", "Background work", "New contact"]
ADMIN_PAGES = ["/admin/", "/admin/contacts?show=all", "/admin/contacts/{id}", "/admin/contacts/{id}/edit",
               "/admin/contacts/new", "/admin/account", "/admin/settings/general"]


def test_a_french_browser_crawls_a_french_admin(chromium, live_server, admin_user, ctx):
    contact = create_contact({"email": "lise@example.com", "first_name": "Lise"})
    context = chromium.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(live_server.url + "/admin/login")
        assert page.locator("html").get_attribute("lang") == "fr"
        page.get_by_label("Email").fill(ADMIN_EMAIL)
        page.get_by_label("Mot de passe").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(re.compile(r".*/admin/?$"))
        for path in ADMIN_PAGES:
            page.goto(live_server.url + path.format(id=contact.id))
            assert page.locator("html").get_attribute("lang") == "fr", path
            text = page.locator("body").inner_text()
            assert "Se déconnecter" in text, path
            shown = [sentence for sentence in ENGLISH if re.search(rf"\b{re.escape(sentence)}\b", text)]
            assert not shown, f"{path} shows English: {shown}"
    finally:
        context.close()


def test_each_contact_gets_the_footer_and_unsubscribe_page_in_their_language(chromium, live_server, ctx, smtp_sink):
    configure(smtp_sink)
    for email, language in (("margot@example.com", "fr"), ("mark@example.com", "en")):
        contact = create_contact({"email": email, "language": language})
        result = send_message(Message(to=email, contact=contact, kind="smart_content.pick", purpose="marketing",
                                      subject="News", html="<p>Hello</p>", key=f"browser:{language}"))
        assert result.status == "sent", result.reason
    mails = {mail["To"]: mail for mail in smtp_sink.wait_for(2)}
    context = chromium.new_context(locale="en-US")  # the reader's browser does not choose the language
    try:
        page = context.new_page()
        expected = {"margot@example.com": ("fr", "Vous recevez cet email car vous êtes inscrit à nos actualités.",
                                           "Se désinscrire", "Vous êtes désinscrit"),
                    "mark@example.com": ("en", "You receive this email because you subscribed to our news.",
                                         "Unsubscribe", "You are unsubscribed")}
        for email, (lang, footer, button, done) in expected.items():
            html = part(mails[email], "html")
            assert footer in html
            link = re.search(r'<a href="([^"]+/e/u/[^"]+)"', html).group(1).replace("&amp;", "&")
            page.goto(link)
            assert page.locator("html").get_attribute("lang") == lang
            page.get_by_role("button", name=button).click()
            page.wait_for_selector("h1")
            assert page.locator("h1").inner_text() == done
    finally:
        context.close()


#: what the crawl compares between the English and the French page
SHOWN_TEXT = "h1, h2, h3, legend, th, label, button, a.button, p, li, td.empty, .empty, small, nav.sidebar a"


def _texts(page) -> set[str]:
    """The page's visible sentences of three words or more (shorter ones such
    as "Contacts" or "Version" are the same in both languages)."""
    found = set()
    for text in page.locator(SHOWN_TEXT).all_inner_texts():
        for line in text.splitlines():
            line = " ".join(line.split())
            if len(re.findall(r"[A-Za-zÀ-ÿ]{2,}", line)) >= 3:
                found.add(line)
    return found


def _logged_in(chromium, live_server, locale: str):
    context = chromium.new_context(locale=locale)
    page = context.new_page()
    page.goto(live_server.url + "/admin/login")
    page.locator("input[name=email]").fill(ADMIN_EMAIL)
    page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    page.locator("form button").first.click()
    page.wait_for_url(re.compile(r".*/admin/?$"))
    return context, page


def test_every_menu_page_is_french_for_a_french_browser(chromium, live_server, admin_user, ctx):
    """Each page of the admin menu (core's and every bundled plugin's), opened
    by an English then a French browser: no sentence of the English page may
    show unchanged on the French one."""
    create_contact({"email": "lise@example.com", "first_name": "Lise"})
    english, en_page = _logged_in(chromium, live_server, "en-US")
    french, fr_page = _logged_in(chromium, live_server, "fr-FR")
    try:
        links = fr_page.locator("nav.sidebar a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        paths = [link for link in dict.fromkeys(links) if link.startswith("/admin") and "logout" not in link]
        assert len(paths) >= 10, paths
        untranslated = {}
        for path in paths:
            en_page.goto(live_server.url + path)
            fr_page.goto(live_server.url + path)
            assert fr_page.locator("html").get_attribute("lang") == "fr", path
            same = sorted(_texts(en_page) & _texts(fr_page))
            if same:
                untranslated[path] = same
        assert not untranslated, f"English left on French pages: {untranslated}"
    finally:
        english.close()
        french.close()
