"""The tracking script: served per site at a versioned, long-cached URL,
small, carrying the site's configuration and the plugins' parts."""
from __future__ import annotations

import gzip
import json
import re

from plugins.tracking.script import js_json

from .tracking_helpers import make_site

MAX_GZIPPED = 5 * 1024


def fetch_script(web, key, gzip_ok=False):
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    latest = web.get(f"/t/{key}/couvee.js", headers=headers)
    assert latest.status_int == 302
    assert latest.headers["Cache-Control"] == "public, max-age=300"
    return latest, web.get(latest.location, headers=headers)


def served_config(script_text: str) -> dict:
    match = re.search(r"\}\)\(window, document, (\{.*\})\);\s*$", script_text, re.S)
    assert match, "configuration not found at the end of the script"
    return json.loads(match.group(1))


def test_the_script_is_versioned_and_cached_for_a_year(web, wsgi):
    site = make_site(wsgi.app, require_consent=True)
    latest, script = fetch_script(web, site.key)
    assert re.search(rf"/t/{site.key}/couvee\.[0-9a-f]{{16}}\.js$", latest.location)
    assert script.status_int == 200
    assert script.content_type == "application/javascript"
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    config = served_config(script.text)
    assert config["key"] == site.key and config["consent"] is True and config["dnt"] is True
    assert config["endpoint"] == "http://couvee.test/t/hit"
    # an old version sends the browser to the current one
    old = web.get(f"/t/{site.key}/couvee.0000000000000000.js")
    assert old.status_int == 302 and old.location == latest.location


def test_the_script_is_at_most_5_kb_gzipped(web, wsgi, monkeypatch):
    """Core's script with its configuration; plugins' parts (a consent banner)
    come on top and are measured in their own tests."""
    from plugins.tracking import script as script_mod

    monkeypatch.setattr(script_mod, "parts", lambda: [])
    site = make_site(wsgi.app)
    _, script = fetch_script(web, site.key, gzip_ok=True)
    assert script.headers["ETag"].endswith('-gz"')  # WebTest decodes the gzipped body for us
    from plugins.tracking.script import script_for

    with wsgi.app.test_request_context():
        built = script_for(site.key)
    assert gzip.decompress(built.gzipped) == built.body == script.body
    assert len(built.gzipped) <= MAX_GZIPPED, f"{len(built.gzipped)} bytes gzipped"


def test_unknown_site_has_no_script(web):
    assert web.get("/t/cvNoSuchSite/couvee.js", expect_errors=True).status_int == 404
    assert web.get("/t/bad key!/couvee.js", expect_errors=True).status_int == 404


def test_a_site_change_changes_the_version(web, wsgi, ctx):
    from plugins.tracking import script, sites

    site = make_site(wsgi.app)
    first, _ = fetch_script(web, site.key)
    site.require_consent = False
    site.save()
    sites.publish(site)
    script.forget_built()
    second, body = fetch_script(web, site.key)
    assert first.location != second.location
    assert served_config(body.text)["consent"] is False


def test_configuration_cannot_break_out_of_the_script():
    text = js_json({"banner": "</script><script>alert(1)</script>\u2028"})
    assert "</script>" not in text and "\u2028" not in text
    assert json.loads(text)["banner"].startswith("</script>")
