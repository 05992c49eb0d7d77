"""Issue 18's smoke test: every bundled plugin can be switched off with
``couvee plugins disable`` (those that need it first), and the admin keeps
working without it: no page answers 500, its menu items and pages are gone
(404), no link leads to them, contacts and their events still go through a
worker; switched on again, its menu is back.

The list of plugins is read from ``plugins/*/plugin.toml``, so a plugin added
or moved out of core later is covered without touching this file."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import url_for

from core.contacts import create_contact
from core.dispatch.deliveries import has_due
from core.models import Event, EventDelivery

from .bundled_plugins import crawl, links_to
from .test_owners_plugin import in_db

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted(manifest.parent.name for manifest in (ROOT / "plugins").glob("*/plugin.toml"))


def needing(host, name: str) -> list[str]:
    """``name`` and every bundled plugin that needs it, directly or not, the
    ones that need it first (the order in which they can be switched off)."""
    order, todo = [name], [name]
    while todo:
        current = todo.pop(0)
        for other, info in sorted(host.discovered.items()):
            if other not in order and any(req.name == current for req in info.requires):
                order.insert(0, other)
                todo.append(other)
    return order


def menu_of(app, plugins: list[str]) -> dict[str, str]:
    """The admin menu items the plugins add: id -> URL."""
    menu = app.extensions["couvee"].registries.admin_menu
    with app.test_request_context():
        return {item.id: url_for(item.endpoint) for item in menu if menu.owner(item.id) in plugins}


def test_every_bundled_plugin_is_found():
    assert {"automation", "email", "forms", "gdpr", "imports", "owners", "scoring", "tracking"} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_the_admin_works_with_each_bundled_plugin_switched_off(name, admin, wsgi, couvee_cli, run_jobs):
    host = wsgi.app.extensions["couvee"].host
    assert host.is_active(name)
    switched_off = needing(host, name)
    menu = menu_of(wsgi.app, switched_off)
    before = new_contact(wsgi.app, "before@example.com")
    run_jobs()

    for plugin in switched_off:
        result = couvee_cli("plugins", "disable", plugin)
        assert result.exit_code == 0, result.output

    dashboard = admin.get("/admin/")
    for item, url in menu.items():
        assert f'data-menu="{item}"' not in dashboard.text, item
        assert admin.get(url, expect_errors=True).status_int == 404, url
    seen = crawl(admin)
    assert len(seen) > 10 and f"/admin/contacts/{before}" in seen, sorted(seen)
    for url in menu.values():
        assert not links_to(url), f"links to {url} of the disabled {name}: {links_to(url)}"

    after = new_contact(wsgi.app, "after@example.com")  # events of a contact still go through a worker
    worker = run_jobs()
    assert not any(worker.runtime.app.extensions["couvee"].host.is_active(plugin) for plugin in switched_off)
    with in_db(wsgi.app):
        assert not Event.select().where(Event.dispatched_at.is_null()).exists()
        assert not EventDelivery.select().exists() and not has_due()  # no plugin failed on an event
        assert Event.select().where(Event.contact == after).exists()

    for plugin in reversed(switched_off):
        result = couvee_cli("plugins", "enable", plugin)
        assert result.exit_code == 0, result.output
    dashboard = admin.get("/admin/")
    for item in menu:
        assert f'data-menu="{item}"' in dashboard.text, item


def new_contact(app, email: str) -> int:
    with in_db(app):
        return create_contact({"email": email, "first_name": "Ada"}, source="test").id
