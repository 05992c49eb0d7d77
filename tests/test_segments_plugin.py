"""Segments are a bundled plugin (issue 18): ``couvee plugins disable
segments`` removes their menu, pages, API, contact panel, kinds, actions and
audience source in every process while their tables are kept; email keeps
working (a newsletter editor says no audience source is active, a send
reaches nobody and is refused with that reason); enabled again, everything is
back; an install from before the move (tables created by core's
``core_segments``) upgrades in place."""
from __future__ import annotations

from core import auth
from core.contacts import add_tag, create_contact
from core.models import Contact, Event

from .bundled_plugins import assert_bundled_and_active, crawl, links_to, upgrade_from_before_the_move


def in_db(app):
    """An app context with a database connection (between requests)."""
    import contextlib

    stack = contextlib.ExitStack()
    stack.enter_context(app.app_context())
    stack.enter_context(app.extensions["couvee"].database_connection())
    return stack


def a_list_with_ada(app) -> tuple[int, int]:
    """A static list holding Ada: (list id, Ada's id)."""
    with in_db(app):
        from plugins.segments import Segment, add_to_segment

        ada = create_contact({"email": "ada@example.com", "first_name": "Ada"}, source="test")
        clients = Segment.create(name="Clients", kind="static")
        add_to_segment(ada, clients)
        return clients.id, ada.id


def members_of(app, segment_id) -> set[int]:
    with in_db(app):
        from plugins.segments import SegmentMember

        return {m.contact_id for m in SegmentMember.select().where(SegmentMember.segment == segment_id)}


def api_key(app, admin_user) -> dict:
    with in_db(app):
        _, secret = auth.create_api_key(admin_user, "tool")
    return {"Authorization": f"Bearer {secret}"}


def test_segments_is_a_bundled_plugin_active_by_default(admin, ctx):
    state = ctx.extensions["couvee"]
    assert_bundled_and_active(state, "segments", formerly="core_segments")
    assert state.registries.event_kinds.owner("segment_joined") == "segments"
    assert state.registries.actions.owner("segment.add") == "segments"
    assert state.registries.audience_sources.owner("segment") == "segments"
    assert state.registries.segment_filters.owner("tag") == "segments"
    assert 'data-menu="segments"' in admin.get("/admin/").text
    assert "No segments yet" in admin.get("/admin/segments").text
    import core

    assert not hasattr(core, "Segment") and not hasattr(core, "SegmentMember")


def test_disable_with_the_cli_then_enable_again(admin, admin_user, wsgi, couvee_cli, run_jobs):
    list_id, ada = a_list_with_ada(wsgi.app)
    api = api_key(wsgi.app, admin_user)
    assert admin.get(f"/api/v1/segments/{list_id}", headers=api).json["member_count"] == 1

    result = couvee_cli("plugins", "disable", "segments")
    assert result.exit_code == 0 and "segments is inactive." in result.output

    dashboard = admin.get("/admin/")
    assert 'data-menu="segments"' not in dashboard.text and "/admin/segments" not in dashboard.text
    for path in ("/admin/segments", f"/admin/segments/{list_id}", "/admin/segments/new"):
        assert admin.get(path, expect_errors=True).status_int == 404, path
    assert admin.get("/api/v1/segments", headers=api, expect_errors=True).status_int == 404
    contact_page = admin.get(f"/admin/contacts/{ada}")
    assert contact_page.status_int == 200 and "add-to-list" not in contact_page.text
    state = wsgi.app.extensions["couvee"]
    assert "segment_joined" not in state.registries.event_kinds
    assert "segment.add" not in state.registries.actions
    assert "segment" not in state.registries.audience_sources
    assert "gdpr.consent" in state.registries.segment_filters  # core's registry: other plugins' filters stay
    assert "segments.rebuild_time_relative" not in state.registries.periodic_jobs

    with in_db(wsgi.app):
        bob = create_contact({"email": "bob@example.com"}, source="test")
        add_tag(bob, "vip")
    worker = run_jobs()  # a worker that no longer knows the plugin
    assert worker.runtime.app.extensions["couvee"].host.is_active("segments") is False
    assert members_of(wsgi.app, list_id) == {ada}  # tables kept

    result = couvee_cli("plugins", "enable", "segments")
    assert result.exit_code == 0 and "segments is active." in result.output
    assert 'data-menu="segments"' in admin.get("/admin/").text
    assert "ada@example.com" in admin.get(f"/admin/segments/{list_id}").text
    assert admin.get("/api/v1/segments", headers=api).json["items"][0]["name"] == "Clients"
    state = wsgi.app.extensions["couvee"]
    assert "segment_joined" in state.registries.event_kinds and "segment" in state.registries.audience_sources


def test_the_admin_without_segments_has_no_error_and_no_link_to_it(admin, wsgi, couvee_cli):
    list_id, ada = a_list_with_ada(wsgi.app)
    assert couvee_cli("plugins", "disable", "segments").exit_code == 0

    seen = crawl(admin)
    assert len(seen) > 20, sorted(seen)  # the crawl reached the admin, not only a login page
    assert f"/admin/contacts/{ada}" in seen and "/admin/email/new" in seen
    to_segments = links_to("/admin/segments")
    assert not to_segments, f"links to the disabled plugin's pages: {to_segments}"


def test_newsletters_without_segments_say_so_and_reach_nobody(admin, wsgi, couvee_cli):
    from plugins.email import newsletters
    from plugins.email.models import Newsletter

    list_id, _ = a_list_with_ada(wsgi.app)
    with in_db(wsgi.app):
        newsletter = Newsletter.create(name="Spring", subject="Hi", content="<p>Hi</p>", segments=[list_id])
        assert newsletters.audience_query(newsletter).count() == 1
    assert couvee_cli("plugins", "disable", "segments").exit_code == 0

    editor = admin.get("/admin/email/new")
    assert editor.status_int == 200 and 'id="no-audience"' in editor.text
    assert "No audience source is active" in editor.text
    assert "No audience source is active" in admin.get(f"/admin/email/{newsletter.id}/edit").text
    assert "No audience source is active" in admin.get(f"/admin/email/{newsletter.id}").text
    with in_db(wsgi.app):
        saved = Newsletter.get_by_id(newsletter.id)
        assert saved.segments == [list_id]  # the stored audience is kept for when segments come back
        assert newsletters.audience_query(saved).count() == 0
        verdict = newsletters.start(saved)
        assert any("No audience source is active" in error for error in verdict.errors)
        assert Newsletter.get_by_id(newsletter.id).status == "draft"

    assert couvee_cli("plugins", "enable", "segments").exit_code == 0
    assert 'id="no-audience"' not in admin.get("/admin/email/new").text  # (the web app rebuilt)
    with in_db(wsgi.app):
        assert newsletters.audience_query(Newsletter.get_by_id(newsletter.id)).count() == 1


def test_an_install_from_before_the_move_upgrades_in_place(config, wsgi):
    """The database of an install where segments were core's
    ``core_segments``: its migration records under that name, no plugin state
    for ``segments``. After a start: the plugin is active, its segments and
    members intact, its migration adopted rather than run again."""
    list_id, ada = a_list_with_ada(wsgi.app)

    upgraded = upgrade_from_before_the_move(config, wsgi.app, "segments", "core_segments")

    assert members_of(upgraded, list_id) == {ada}
    with in_db(upgraded):
        from plugins.segments import Segment

        assert Segment.get_by_id(list_id).name == "Clients"
        assert Event.select().where((Event.kind == "segment_joined") & (Event.contact == ada)).exists()
        assert Contact.select().count() == 1


def test_imports_gdpr_and_smart_content_without_segments(admin, wsgi, couvee_cli):
    list_id, ada = a_list_with_ada(wsgi.app)
    with in_db(wsgi.app):
        from plugins.imports import segments as import_lists
        from plugins.smart_content.targeting import interests_of

        add_tag(Contact.get_by_id(ada), "crm")
        assert import_lists.static_segments() == [(list_id, "Clients")] and import_lists.check(list_id) is None
    assert couvee_cli("plugins", "disable", "segments").exit_code == 0
    admin.get("/admin/")  # the web app rebuilt without the plugin

    with in_db(wsgi.app):
        assert import_lists.static_segments() == []
        assert import_lists.check(list_id) == "Segments are not available on this site."
        assert import_lists.add_members(list_id, [ada]) is False  # the import keeps the id and says so
        assert list(interests_of(Contact.get_by_id(ada)).values()) == ["crm"]  # own tags only
    page = admin.get("/admin/gdpr/reoptin")
    done = page.forms["reoptin-segment"].submit().follow()
    assert "enable the Segments plugin to create this segment" in done.text
    assert admin.get("/admin/smart-content/matrix").status_int == 200
