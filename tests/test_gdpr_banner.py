"""GDPR plugin, the cookie banner delivered through core's tracking script:
CNIL-style French wording (English too), accept / refuse / customise per
purpose, nothing stored or sent before the visitor acts, and a refusal
stores no identifier."""
from __future__ import annotations

import json

from core.models import SettingValue
from plugins.tracking.models import Site
from plugins.tracking.script import snippet


def test_site_config_carries_the_cnil_wording_and_purposes(ctx):
    from plugins.gdpr.banner import site_config

    config = site_config(None)["gdpr_banner"]
    assert config["lang"] == "fr" and list(config["texts"]) == ["fr"]  # French by default, only French sent
    SettingValue.create(group="gdpr", key="banner_language", value="auto")
    config = site_config(None)["gdpr_banner"]
    assert config["texts"]["fr"]["message"].startswith("Avec votre accord, ce site utilise des cookies")
    assert "poursuivant" not in config["texts"]["fr"]["message"]  # browsing is not consent (CNIL, 2020)
    assert "refuser est aussi simple qu’accepter" in config["texts"]["fr"]["message"]
    assert config["texts"]["fr"]["customise"] == "En savoir plus et paramétrer les cookies"
    assert config["texts"]["en"]["refuse"] == "Refuse all"
    assert [p["id"] for p in config["purposes"]] == ["analytics", "profiling"]
    assert config["max_age_days"] <= 396  # 13 months at most
    SettingValue.create(group="gdpr", key="banner_text_en", value="Custom <b>text</b>")
    assert site_config(None)["gdpr_banner"]["texts"]["en"]["message"] == "Custom <b>text</b>"


def test_banner_is_part_of_the_served_tracking_script(ctx, web):
    site = Site.create(name="Blog", allowed_origins=["http://blog.test"])
    script = web.get(f"/t/{site.key}/couvee.js").follow().text
    assert "tracker.setConsentUI" in script and "cv-consent" in script
    assert "Tout refuser" in script and "Refuse all" not in script


def test_served_script_with_the_default_banner_stays_under_5_kb_gzipped(ctx, web):
    import gzip

    site = Site.create(name="Blog", allowed_origins=["http://blog.test"])
    script = web.get(f"/t/{site.key}/couvee.js").follow(headers={"Accept-Encoding": "identity"}).body
    assert len(gzip.compress(script, 9)) <= 5 * 1024


def _page(site_key: str, lang: str, snippet_html: str) -> str:
    return f'<!doctype html><html lang="{lang}"><head><title>Blog</title>{snippet_html}</head>' \
           '<body><h1>Hello</h1><a id="next" href="index.html?p=2">Next</a></body></html>'


def _storage(page) -> dict:
    return json.loads(page.evaluate("JSON.stringify(Object.assign({}, window.localStorage))"))


def test_browser_banner_blocks_tracking_until_accepted_and_refusal_stores_no_identifier(
        ctx, live_server, static_site, chromium):
    site_files = {}
    site = static_site(site_files)  # an integrator's page on another origin
    blog = Site.create(name="Blog", allowed_origins=[site.url], require_consent=True)
    (site.root / "index.html").write_text(_page(blog.key, "fr", snippet(blog)))

    def open_page():
        context = chromium.new_context()
        page = context.new_page()
        hits = []
        page.on("request", lambda r: hits.append(r.url) if "/t/hit" in r.url else None)
        page.goto(site.url + "/index.html")
        page.wait_for_selector("#cv-consent")
        return context, page, hits

    # refuse: the banner goes, the decision is kept, no identifier, nothing sent
    context, page, hits = open_page()
    banner = page.locator("#cv-consent")
    assert banner.get_attribute("role") == "dialog"
    assert "Avec votre accord" in banner.inner_text()
    assert _storage(page) == {}  # nothing stored before the visitor acts
    page.reload()
    page.wait_for_selector("#cv-consent")  # stays until the visitor acts
    page.get_by_role("button", name="Tout refuser").click()
    assert page.locator("#cv-consent").count() == 0
    stored = _storage(page)
    assert set(stored) == {"cv_consent"} and json.loads(stored["cv_consent"])["p"] == {}
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.locator("#cv-consent").count() == 0  # not asked again
    assert hits == []
    context.close()

    # customise: choose only the analytics purpose
    context, page, hits = open_page()
    page.get_by_role("button", name="En savoir plus et paramétrer les cookies").click()
    page.get_by_label("Mesure d’audience (statistiques de visites)").check()
    page.get_by_role("button", name="Enregistrer mes choix").click()
    page.wait_for_function("() => !!window.localStorage.getItem('cv_vid')")
    assert json.loads(_storage(page)["cv_consent"])["p"] == {"analytics": True}
    page.wait_for_load_state("networkidle")
    assert hits, "the page view held back until consent is sent once granted"
    context.close()

    # accept all
    context, page, hits = open_page()
    page.get_by_role("button", name="Tout accepter").click()
    page.wait_for_function("() => !!window.localStorage.getItem('cv_vid')")
    assert json.loads(_storage(page)["cv_consent"])["p"] == {"analytics": True, "profiling": True}
    context.close()


def test_old_default_banner_text_is_replaced_but_a_custom_one_kept(ctx):
    from core.models import SettingValue
    from plugins.gdpr.purposes import BANNER_TEXT_FR, OLD_BANNER_TEXTS, replace_old_banner_texts

    database = ctx.extensions["couvee"].database
    SettingValue.create(group="gdpr", key="banner_text_fr", value=OLD_BANNER_TEXTS["banner_text_fr"][0])
    SettingValue.create(group="gdpr", key="banner_text_en", value="Our own words about cookies.")
    replace_old_banner_texts(database, None)
    stored = {row.key: row.value for row in SettingValue.select().where(SettingValue.group == "gdpr")}
    assert stored["banner_text_fr"] == BANNER_TEXT_FR
    assert stored["banner_text_en"] == "Our own words about cookies."
