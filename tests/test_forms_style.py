"""The look of public forms (issue 15 item 17): the hosted page and the JS
embed share a default stylesheet (/f/form.css) that a theme can replace; every
rule is scoped under a cv- class, so the embed leaves the integrator's page
alone; errors are tied to their inputs (aria-describedby); the column is
centred, labels sit above inputs, focus is visible and small screens do not
scroll sideways. Screenshots land in the test's temporary folder."""
from __future__ import annotations

import re

import pytest

from plugins.forms import builder

from .forms_helpers import custom, field_of, make_form, open_form
from .tracking_helpers import BROWSER

ACCENT = "rgb(47, 111, 94)"
ERROR = "rgb(179, 38, 30)"


def css_selectors(css: str) -> list[str]:
    """Every selector of a stylesheet (at-rule preludes left out)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    selectors = []
    for prelude in re.findall(r"([^{}]+)\{", css):
        prelude = prelude.strip()
        if prelude and not prelude.startswith("@"):
            selectors += [part.strip() for part in prelude.split(",")]
    return selectors


@pytest.fixture
def theme_css(instance):
    """Write a theme's forms/form.css before the app is built; returns a setter."""
    folder = instance / "themes" / "default" / "templates" / "forms"
    folder.mkdir(parents=True)
    target = folder / "form.css"
    target.write_text(".cv-form { --cv-accent: #8a1538; }\n")
    return target


def sample_form(**settings):
    custom("company", "text")
    form = make_form("Demo request", fields=["first_name", "company"],
                     consents=[("email_marketing", "Send me the newsletter.")],
                     purpose_text="We answer your request and send the newsletter if you ask for it.", **settings)
    builder.update_field(form, field_of(form, "company"), {"label": "Company", "help": "Where you work"})
    return form


def test_the_hosted_page_uses_the_default_stylesheet_scoped_under_cv_classes(web, ctx):
    form = sample_form()
    page, _ = open_form(web, form)
    assert '<link rel="stylesheet" href="/f/form.css">' in page.text
    assert 'class="public-page forms-page cv-page"' in page.text
    css = web.get("/f/form.css")
    assert css.content_type == "text/css"
    assert "public" in css.headers["Cache-Control"]
    selectors = css_selectors(css.text)
    assert ".cv-form .cv-submit" in selectors and ".cv-page" in selectors
    unscoped = [s for s in selectors if not re.match(r"^(\.cv-|body\.forms-embedded\b)", s)]
    assert unscoped == []  # the JS embed must not style the integrator's page
    assert '{% include "forms:forms/form.css" %}' in css.text  # the override hint in the comment, not run


def test_errors_are_linked_to_their_inputs(web, ctx):
    form = sample_form()
    page, html_form = open_form(web, form)
    assert f'id="cv-{form.key}-company" name="company" value="" aria-describedby="cv-{form.key}-company-help"' in page.text
    html_form["email"] = "not an email"
    answer = html_form.submit(status=422)
    field = f"cv-{form.key}-email"
    assert f'id="{field}" name="email" value="not an email" required autocomplete="email" ' \
           f'aria-describedby="{field}-error" aria-invalid="true"' in answer.text
    assert f'<p class="cv-error" id="{field}-error" role="alert">' in answer.text
    assert f'aria-describedby="cv-{form.key}-form-error"' in answer.text  # the summary above the form


def test_a_theme_replaces_the_stylesheet(theme_css, web, ctx):
    assert web.get("/f/form.css").text.strip() == ".cv-form { --cv-accent: #8a1538; }"


def test_a_theme_can_extend_the_default_stylesheet(theme_css, web, ctx):
    theme_css.write_text('{% include "forms:forms/form.css" %}\n.cv-form { --cv-accent: #8a1538; }\n')
    css = web.get("/f/form.css").text
    assert ".cv-form .cv-submit" in css and css.rstrip().endswith(".cv-form { --cv-accent: #8a1538; }")


def test_the_plain_html_embed_links_the_stylesheet(admin, ctx):
    form = sample_form(allow_plain_html="1")
    embed = admin.get(f"/admin/forms/{form.id}/embed")
    assert "&lt;link rel=&#34;stylesheet&#34; href=&#34;http://couvee.test/f/form.css&#34;&gt;" in embed.text


# --- in Chromium -----------------------------------------------------------------------------


def box(page, selector: str) -> dict:
    return page.eval_on_selector(selector, "node => node.getBoundingClientRect().toJSON()")


def style(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"node => getComputedStyle(node).{prop}")


def test_hosted_page_in_a_browser(live_server, page, ctx, tmp_path):
    form = sample_form()
    url = f"{live_server.url}/f/{form.key}"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url)
    page.screenshot(path=str(tmp_path / "hosted-desktop.png"), full_page=True)
    card = box(page, ".cv-card")
    assert card["width"] <= 640 and abs(card["left"] - (1280 - card["right"])) < 2  # a centred column
    label, email = box(page, f'label[for="cv-{form.key}-email"]'), box(page, 'input[name="email"]')
    assert label["bottom"] <= email["top"] and abs(label["left"] - email["left"]) < 1  # label above its input
    assert style(page, "button.cv-submit", "backgroundColor") == ACCENT

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "email"
    assert style(page, 'input[name="email"]', "outlineStyle") == "solid"  # focus is visible
    assert style(page, 'input[name="email"]', "outlineWidth") == "3px"

    page.fill('input[name="email"]', "not an email")
    page.click("button.cv-submit")
    page.wait_for_selector(f"#cv-{form.key}-email-error")
    page.screenshot(path=str(tmp_path / "hosted-errors.png"), full_page=True)
    assert style(page, f"#cv-{form.key}-email-error", "color") == ERROR
    described = page.get_attribute('input[name="email"]', "aria-describedby")
    assert page.eval_on_selector(f"#{described}", "node => node.textContent").startswith(
        "'not an email' is not a valid email address")

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(url)
    page.screenshot(path=str(tmp_path / "hosted-mobile.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    assert box(page, "button.cv-submit")["width"] == pytest.approx(box(page, "form.cv-form")["width"], abs=1)


HOST_PAGE = """<!doctype html><html><head><title>Integrator</title>
<style>body {{ font-family: serif; }} label {{ font-weight: 300; }}</style></head><body>
<p class="intro">Our newsletter</p>
<label class="host-label">Search <input class="host-input" type="text"></label>
<button class="host-button">Go</button>
{embed}
</body></html>"""
EMBED = '<div data-couvee-form="{key}"{extra}></div><script src="{server}/f/embed.js" async></script>'
HOST_STYLES = """() => ['.intro', '.host-label', '.host-input', '.host-button'].map(s => {
  const c = getComputedStyle(document.querySelector(s));
  return [s, c.fontWeight, c.display, c.width, c.padding, c.borderTopColor, c.backgroundColor, c.outlineStyle];
})"""


@pytest.fixture
def host_page(chromium):
    context = chromium.new_context(user_agent=BROWSER, viewport={"width": 1000, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_the_js_embed_is_styled_without_touching_the_host_page(live_server, static_site, host_page, ctx, tmp_path):
    site = static_site({"plain.html": HOST_PAGE.format(embed=""), "index.html": ""})
    form = sample_form(origins=[site.url])
    builder.update_field(form, field_of(form, "first_name"), {"label": "First name", "required": "1"})
    (site.root / "index.html").write_text(HOST_PAGE.format(embed=EMBED.format(key=form.key, server=live_server.url,
                                                                                extra="")))
    page = host_page
    page.on("pageerror", lambda error: pytest.fail(f"the embed threw into the page: {error}"))
    page.goto(site.url + "/plain.html")
    before = page.evaluate(HOST_STYLES)

    page.goto(site.url + "/index.html")
    page.wait_for_selector("form.cv-form")
    page.wait_for_function("getComputedStyle(document.querySelector('.cv-submit')).backgroundColor !== "
                           "'rgb(239, 239, 239)'")
    page.screenshot(path=str(tmp_path / "embed.png"), full_page=True)
    assert page.evaluate(HOST_STYLES) == before  # the integrator's page looks the same
    assert page.locator("link[data-couvee-style]").count() == 1
    assert style(page, f'label[for="cv-{form.key}-email"]', "display") == "block"
    assert style(page, ".cv-submit", "backgroundColor") == ACCENT

    page.click("button.cv-submit")  # nothing filled: the server's errors are shown and linked
    page.wait_for_selector('.cv-field[data-name="email"] .cv-error:not([hidden])')
    page.screenshot(path=str(tmp_path / "embed-errors.png"), full_page=True)
    error_id = f"cv-{form.key}-email-error"
    assert page.get_attribute('input[name="email"]', "aria-describedby") == error_id
    assert page.get_attribute('input[name="email"]', "aria-invalid") == "true"
    assert page.get_attribute('input[name="company"]', "aria-describedby") == f"cv-{form.key}-company-help"
    assert style(page, f"#{error_id}", "color") == ERROR

    # an integrator with their own styles turns the default stylesheet off
    # (a new page, not index.html rewritten: within the same second the browser revalidates it as unchanged)
    (site.root / "unstyled.html").write_text(HOST_PAGE.format(embed=EMBED.format(
        key=form.key, server=live_server.url, extra=' data-couvee-style="none"')))
    page.goto(site.url + "/unstyled.html")
    page.wait_for_selector("form.cv-form")
    assert page.locator("link[data-couvee-style]").count() == 0
