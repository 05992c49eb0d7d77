"""Every page has an icon (issue 15 item 19: /favicon.ico answered 404 on
every page)."""
from __future__ import annotations

import re

from .conftest import login


def test_pages_link_the_icon_and_it_is_served_with_caching_headers(web, admin_user):
    page = login(web)
    [href] = re.findall(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page.text)
    icon = web.get(href, status=200)
    assert icon.content_type == "image/svg+xml"
    assert icon.body.startswith(b"<svg")
    assert "max-age=" in icon.headers["Cache-Control"] and "public" in icon.headers["Cache-Control"]
    assert "cookie" not in icon.headers.get("Vary", "").lower()
    again = web.get(href, headers={"If-None-Match": icon.headers["ETag"]}, status=304)
    assert again.body == b""


def test_browsers_asking_for_favicon_ico_get_the_icon(web):
    assert web.get("/favicon.ico", status=200).content_type == "image/svg+xml"
    first_run_page = web.get("/admin/login").maybe_follow()
    assert 'rel="icon"' in first_run_page.text
