"""Public responses never depend on the admin's session cookie (issue 15
item 12: the tracking script, cached for a year as immutable, was sent with
``Vary: Cookie`` because the auth gate read the session on every view, so
shared caches would not keep it)."""
from __future__ import annotations

import re

import pytest

from tests.forms_helpers import make_form
from tests.test_email_tracking import local, part, sent_mail
from tests.tracking_helpers import make_site


def varies_on_cookie(response) -> bool:
    return "cookie" in response.headers.get("Vary", "").lower()


@pytest.fixture(params=["anonymous", "logged in"])
def visitor(request, web, admin_user):
    """The same browser, without a session or with the administrator's."""
    if request.param == "logged in":
        from .conftest import login

        login(web)
        assert web.cookies.get("couvee_session")
    return web


def test_tracking_loader_and_immutable_script(visitor, wsgi):
    site = make_site(wsgi.app)
    loader = visitor.get(f"/t/{site.key}/couvee.js", status=302)
    script = visitor.get(loader.location, status=200)
    assert "immutable" in script.headers["Cache-Control"]
    assert not varies_on_cookie(loader)
    assert not varies_on_cookie(script)
    assert "Set-Cookie" not in script.headers


def test_form_embed_code_hosted_page_and_definition(visitor, ctx):
    form = make_form()
    for url in ("/f/embed.js", f"/f/{form.key}", f"/f/{form.key}/form.json"):
        response = visitor.get(url, status=200)
        assert not varies_on_cookie(response), url


def test_email_pixel_and_click(visitor, ctx, smtp_sink):
    _, mail, _ = sent_mail(ctx, smtp_sink)
    html = part(mail, "html")
    [click] = re.findall(r'href="(http://couvee\.test/e/c/[^"]+)"', html)
    [pixel] = re.findall(r'src="(http://couvee\.test/e/o/[^"]+)"', html)
    assert not varies_on_cookie(visitor.get(local(click), status=302))
    assert not varies_on_cookie(visitor.get(local(pixel), status=200))


def test_static_files(visitor):
    assert not varies_on_cookie(visitor.get("/static/core/admin.css", status=200))


def test_admin_pages_still_know_the_user(web, admin_user):
    from .conftest import login

    dashboard = login(web)
    assert "Owner" in dashboard.text
    assert varies_on_cookie(web.get("/admin/"))


def test_a_public_view_that_asks_for_the_user_still_gets_it(web, admin_user, ctx):
    """The draft preview of a form is public but shown to a logged-in user
    only: reading the user on demand works, request after request."""
    from .conftest import login

    draft = make_form("Draft", publish=False)
    web.get(f"/f/{draft.key}", status=404)  # anonymous first
    login(web)
    preview = web.get(f"/f/{draft.key}", status=200)
    assert "Draft preview" in preview.text
    assert varies_on_cookie(preview)  # this response depends on who asks
