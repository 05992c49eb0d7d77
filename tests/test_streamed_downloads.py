"""Streamed downloads come out whole through a real HTTP server (issue 15
item 3: under ``couvee serve`` the database was closed by the request teardown
before the CSV generator ran, so exports stopped after the BOM and import
reports after their header)."""
from __future__ import annotations

import csv
import http.cookiejar
import io
import re
import urllib.parse
import urllib.request

from plugins.imports import runner
from core.models import Contact

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def logged_in_opener(base_url: str) -> urllib.request.OpenerDirector:
    """A browser-like client (cookies kept) logged in as the administrator."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(f"{base_url}/admin/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    landed = opener.open(f"{base_url}/admin/login", data=form.encode())
    assert "/admin/login" not in landed.url, "login failed"
    return opener


def download_csv(opener, url: str) -> list[list[str]]:
    with opener.open(url) as response:
        assert response.headers["Content-Type"].startswith("text/csv")
        text = response.read().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_contacts_export_of_thousands_of_contacts_is_complete(live_server, ctx, admin_user):
    count = 3000
    Contact.insert_many(
        [{"email": f"person{n}@example.com", "first_name": f"Person {n}"} for n in range(count)]
    ).execute()
    opener = logged_in_opener(live_server.url)

    rows = download_csv(opener, f"{live_server.url}/admin/contacts/export")

    header, body = rows[0], rows[1:]
    emails = {row[header.index("Email")] for row in body}
    assert len(body) == count
    assert emails == {f"person{n}@example.com" for n in range(count)}


def test_import_error_report_is_complete(live_server, ctx, admin_user):
    lines = ["email,prénom"] + [f"not-an-address-{n},Name {n}" for n in range(500)] + ["ok@example.com,Ok"]
    job = runner.new_job(io.BytesIO("\n".join(lines).encode()), "broken.csv")
    runner.execute(job)
    opener = logged_in_opener(live_server.url)

    rows = download_csv(opener, f"{live_server.url}/admin/imports/{job.id}/report.csv")

    assert rows[0][:3] == ["line", "kind", "reason"]
    assert len(rows) == 1 + 500
    assert rows[-1][3:] == ["not-an-address-499", "Name 499"]
