"""Plugins as a site owner sees them: upload, activate, deactivate, uninstall,
and every process (web and worker) following the state in the database."""
from __future__ import annotations

import io
import zipfile

from core.plugins.upload import build_plugin_zip

from .conftest import FIXTURE_PLUGINS, install_fixture_plugin
from .test_hooks import notes


def upload(admin, data: bytes, name="plugin.zip", replace=False):
    page = admin.get("/admin/plugins")
    form = page.forms["plugin-upload"]
    form["plugin"] = (name, data)
    if replace:
        form["replace"] = True
    return form.submit().follow()


def plugin_row(page, name):
    return page.html.find(id=f"plugin-{name}")


def test_upload_activate_deactivate_in_web_and_worker(admin, wsgi, run_jobs):
    page = upload(admin, build_plugin_zip(FIXTURE_PLUGINS / "couvee_fixture"))
    assert "Fixture plugin 1.0.0 was uploaded" in page.text
    assert "Inactive" in plugin_row(page, "couvee_fixture").text
    assert admin.get("/admin/fixture/", expect_errors=True).status_int == 404

    worker_app_before = wsgi.app  # the worker below keeps running across the changes
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    admin.post("/admin/plugins/couvee_fixture/activate", {"csrf_token": token})
    dashboard = admin.get("/admin/")
    assert 'data-menu="fixture"' in dashboard.text
    assert "Fixture page" in admin.get("/admin/fixture/").text
    assert wsgi.app is not worker_app_before  # rebuilt at once by the process that changed it

    # a job queued by the plugin runs while it is active...
    token = admin.get("/admin/plugins").html.find("input", {"name": "csrf_token"})["value"]
    admin.post("/admin/fixture/enqueue", {"csrf_token": token})
    run_jobs()
    assert notes(wsgi.app, "job") == ["from-web"]

    # ...then the plugin is deactivated: routes, menu and queued jobs stop everywhere
    admin.post("/admin/fixture/enqueue", {"csrf_token": token})
    admin.post("/admin/plugins/couvee_fixture/deactivate", {"csrf_token": token})
    assert admin.get("/admin/fixture/", expect_errors=True).status_int == 404
    assert 'data-menu="fixture"' not in admin.get("/admin/").text
    worker = run_jobs()
    assert worker.runtime.app.extensions["couvee"].host.is_active("couvee_fixture") is False
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        from couvee_fixture import FixtureNote

        assert [n.text for n in FixtureNote.select().where(FixtureNote.kind == "job")] == ["from-web"]


def test_a_running_worker_notices_deactivation_made_by_another_process(config, instance, run_jobs, wsgi):
    """Two apps = two processes: the web one changes the state, the worker one
    (built before the change) must skip the plugin's job without a restart."""
    from core import enqueue
    from core.app import create_app
    from core.plugins import lifecycle
    from core.queue import make_worker
    from core.runtime import Runtime

    install_fixture_plugin(instance)
    web_app = create_app(config)
    with web_app.app_context(), web_app.extensions["couvee"].database_connection():
        lifecycle.activate(web_app.extensions["couvee"], "couvee_fixture")
    worker_runtime = Runtime(app=create_app(config))
    assert worker_runtime.state.host.is_active("couvee_fixture")

    web_app = create_app(config)
    with web_app.app_context(), web_app.extensions["couvee"].database_connection():
        import couvee_fixture

        enqueue(couvee_fixture.record_job, "after-disable")
        lifecycle.deactivate(web_app.extensions["couvee"], "couvee_fixture")
    make_worker(worker_runtime, simple=True).work(burst=True)
    assert not worker_runtime.state.host.is_active("couvee_fixture")
    assert notes(worker_runtime.app, "job") == []


def test_forking_worker_runs_jobs_in_the_app_context(ctx, wsgi, run_jobs):
    from core import contacts
    from core.models import Event

    contacts.create_contact({"email": "fork@example.com"})
    run_jobs(simple=False)
    assert Event.select().where(Event.dispatched_at.is_null(False)).count() == 1


def test_incompatible_or_broken_plugins_are_listed_with_the_reason(admin, instance):
    broken = instance / "plugins" / "broken_one"
    broken.mkdir(parents=True)
    (broken / "plugin.toml").write_text(
        'name = "broken_one"\ntitle = "Broken"\nversion = "1"\ndescription = "d"\nauthor = "a"\nrequires_core = ">=0.1"\n'
    )
    (broken / "__init__.py").write_text("raise ImportError('missing dependency: pandas')\n")
    future = instance / "plugins" / "future_one"
    future.mkdir()
    (future / "plugin.toml").write_text(
        'name = "future_one"\ntitle = "Future"\nversion = "1"\ndescription = "d"\nauthor = "a"\nrequires_core = ">=9"\n'
    )
    (future / "__init__.py").write_text("")
    admin.app.runtime.state.stale = True
    page = admin.get("/admin/plugins")
    assert "requires Couvée &gt;=9, this is 0.1.0" in str(plugin_row(page, "future_one"))
    assert plugin_row(page, "future_one").find("button", string="Activate") is None
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    page = admin.post("/admin/plugins/broken_one/activate", {"csrf_token": token}).follow()
    assert "missing dependency: pandas" in page.text
    assert "Inactive" in plugin_row(page, "broken_one").text
    assert admin.get("/admin/contacts").status_int == 200  # the rest keeps working


def test_a_plugin_raising_in_a_hook_is_named_and_others_still_run(admin, wsgi, instance, run_jobs):
    from core import contacts
    from core.models import Event
    from core.plugins import lifecycle

    install_fixture_plugin(instance)
    wsgi.runtime.state.stale = True
    wsgi.runtime.refresh()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        lifecycle.activate(wsgi.app.extensions["couvee"], "couvee_fixture")
        wsgi.runtime.refresh()
        contact = contacts.create_contact({"email": "boom@example.com"})
        contacts.add_tag(contact, "explode")
    run_jobs()
    page = admin.get("/admin/")
    assert "the fixture plugin exploded on purpose" in page.text
    assert "couvee_fixture" in page.text
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert Event.select().where(Event.dispatched_at.is_null()).count() == 0


def test_uninstall_asks_for_confirmation_and_removes_the_data(admin, wsgi, instance):
    upload(admin, build_plugin_zip(FIXTURE_PLUGINS / "couvee_fixture"))
    token = admin.get("/admin/plugins").html.find("input", {"name": "csrf_token"})["value"]
    admin.post("/admin/plugins/couvee_fixture/activate", {"csrf_token": token})
    page = admin.get("/admin/plugins/couvee_fixture/uninstall")
    assert "deletes all its data" in page.text
    page.forms["uninstall-form"]["confirm"] = "wrong"
    assert page.forms["uninstall-form"].submit(expect_errors=True).status_int == 400
    page.forms["uninstall-form"]["confirm"] = "couvee_fixture"
    page = page.forms["uninstall-form"].submit().follow()
    assert "was uninstalled" in page.text
    assert not (instance / "plugins" / "couvee_fixture").exists()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert "fixture_note" not in wsgi.app.extensions["couvee"].database.get_tables()


def test_bad_zip_is_refused_with_a_message_and_nothing_written(admin, instance):
    before = sorted(p.name for p in (instance / "plugins").iterdir())
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../evil.py", "print('pwned')")
    page = upload(admin, evil.getvalue())
    assert "The plugin was not installed" in page.text
    assert sorted(p.name for p in (instance / "plugins").iterdir()) == before


def test_uploads_can_be_turned_off(config, admin_user):
    from webtest import TestApp

    from core.app import create_app
    from core.runtime import WSGIApp

    from .conftest import login

    web = TestApp(WSGIApp(app=create_app({**config, "plugin_uploads": False})))
    login(web)
    page = web.get("/admin/plugins")
    assert "Uploads are turned off" in page.text
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    response = web.post("/admin/plugins/upload", {"csrf_token": token}, upload_files=[("plugin", "p.zip", b"x")],
                        expect_errors=True)
    assert response.status_int == 403


def test_only_admins_manage_plugins(web, ctx):
    from core import auth

    from .conftest import login

    auth.create_user("admin@example.com", "x" * 12, role="admin")
    auth.create_user("marketer@example.com", "y" * 12, role="marketer")
    login(web, "marketer@example.com", "y" * 12)
    assert web.get("/admin/plugins", expect_errors=True).status_int == 403
    assert 'data-menu="plugins"' not in web.get("/admin/").text


def test_safe_mode_loads_no_plugin(config, instance):
    from core.app import create_app
    from core.plugins import lifecycle

    install_fixture_plugin(instance)
    app = create_app(config)
    with app.app_context(), app.extensions["couvee"].database_connection():
        lifecycle.activate(app.extensions["couvee"], "couvee_fixture")
    safe = create_app({**config, "safe_mode": True})
    assert not safe.extensions["couvee"].host.is_active("couvee_fixture")
    assert "text" in safe.extensions["couvee"].registries.field_types  # core still works


def test_a_plugin_dropped_into_the_plugins_folder_appears_and_activates(admin, instance):
    install_fixture_plugin(instance)  # copied by hand, no upload
    page = admin.get("/admin/plugins")
    row = plugin_row(page, "couvee_fixture")
    assert row is not None and "Inactive" in row.text
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    admin.post("/admin/plugins/couvee_fixture/activate", {"csrf_token": token})
    assert "Fixture page" in admin.get("/admin/fixture/").text


def test_a_theme_overrides_a_core_template_and_extends_it(config, instance, admin_user):
    from webtest import TestApp

    from core.app import create_app
    from core.runtime import WSGIApp

    from .conftest import login

    folder = instance / "themes" / "brand" / "templates" / "core" / "admin"
    folder.mkdir(parents=True)
    (folder / "layout.html").write_text(
        '{% extends "core:core/admin/layout.html" %}'
        '{% block head %}<meta name="brand" content="brand theme">{% endblock %}'
    )
    web = TestApp(WSGIApp(app=create_app({**config, "theme": "brand"})))
    login(web)
    page = web.get("/admin/contacts")
    assert '<meta name="brand" content="brand theme">' in page.text and "No contacts yet" in page.text
