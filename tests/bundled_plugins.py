"""Helpers for the tests of a feature moved out of core into a bundled plugin
(issue 18): walk the admin by its links, as a user clicking around would (the
smoke test of the plugin switched off: no page answers 500, no link leads to
its pages), and start on a database as an install from before the move left it.
"""
from __future__ import annotations

from urllib.parse import urldefrag, urlsplit

from core import create_app
from core.models import MigrationRecord, PluginState


def crawl(admin, start="/admin/", limit=400) -> dict[str, int]:
    """Every admin page reachable by links from ``start`` (GET only; logging
    out excepted): path -> status. Fails on the first 500 with its body."""
    seen: dict[str, int] = {}
    links: dict[str, set[str]] = {}
    todo = [start]
    while todo and len(seen) < limit:
        path = todo.pop(0)
        if path in seen:
            continue
        page = admin.get(path, expect_errors=True)
        seen[path] = page.status_int
        assert page.status_int < 500, f"{path} answered {page.status_int}:\n{page.text[:2000]}"
        if page.status_int in (301, 302, 303):
            todo.append(urlsplit(page.headers["Location"]).path)
            continue
        if page.status_int != 200 or "html" not in page.content_type:
            continue
        for anchor in page.html.find_all("a", href=True):
            target = urldefrag(anchor["href"])[0]
            parts = urlsplit(target)
            if parts.netloc not in ("", "couvee.test") or not parts.path.startswith("/admin"):
                continue
            if "logout" in parts.path:
                continue
            href = parts.path + (f"?{parts.query}" if parts.query else "")
            links.setdefault(href, set()).add(path)
            if href not in seen:
                todo.append(href)
    crawl.links = links
    return seen


def links_to(prefix: str) -> dict[str, set[str]]:
    """The links of the last crawl to paths under ``prefix``: href -> the pages holding it."""
    return {href: pages for href, pages in crawl.links.items() if href.startswith(prefix)}


def upgrade_from_before_the_move(config, app, name: str, former: str):
    """Give the plugin's migration records back to its ``former`` name and
    forget its state, as an install where it was part of core has them; then
    start again. Returns the new app, after asserting what upgrading must give:
    the records adopted (with their first ``applied_at``, not run again) and the
    plugin enabled and active."""
    with app.app_context(), app.extensions["couvee"].database_connection():
        applied = {r.version: r.applied_at for r in MigrationRecord.select().where(MigrationRecord.plugin == name)}
        MigrationRecord.update(plugin=former).where(MigrationRecord.plugin == name).execute()
        PluginState.delete().where(PluginState.name == name).execute()

    upgraded = create_app(config)

    with upgraded.app_context(), upgraded.extensions["couvee"].database_connection():
        records = {r.version: (r.plugin, r.applied_at) for r in MigrationRecord.select().where(
            MigrationRecord.plugin.in_([name, former]))}
        assert records == {version: (name, at) for version, at in applied.items()}  # adopted, not run again
        assert PluginState.get(PluginState.name == name).enabled
        assert upgraded.extensions["couvee"].host.is_active(name)
    return upgraded


def assert_bundled_and_active(state, name: str, formerly: str, migrations: int = 1) -> None:
    """A fresh install has the plugin from ``plugins/``, enabled, its
    migrations run under its own name and none under the one it had."""
    info = state.host.discovered[name]
    assert (info.source, info.formerly) == ("bundled", formerly)
    assert state.host.is_active(name) and name in state.host.active
    assert PluginState.get(PluginState.name == name).enabled
    assert [(r.plugin, r.version) for r in MigrationRecord.select().where(
        MigrationRecord.plugin.in_([name, formerly])).order_by(MigrationRecord.version)] \
        == [(name, version) for version in range(1, migrations + 1)]
