"""Points in the admin: empty states, point actions and triggers built through
the forms (bad input refused, nothing lost), settings, the distribution chart,
and the points history with manual adjustment on the contact page."""
from __future__ import annotations

import re

from core import auth, contacts
from core.event_kinds import event_kinds
from core.events import emit
from core.models import Contact
from core.plugins import lifecycle
from plugins.segments.editing import save_segment
from plugins.scoring import triggers
from plugins.scoring.ledger import Change, record_change
from plugins.scoring.models import PointAction, PointChange, PointTrigger, ScoringSettings, TriggerFiring

from .conftest import csrf_of, login

HOSTILE = '"><script>alert(1)</script>'


def test_empty_states_explain_what_to_do(admin):
    page = admin.get("/admin/points")
    assert 'data-menu="scoring"' in page.text
    assert "Scoring is not set up yet" in page.text and "No points were given yet." in page.text
    assert "No point actions yet" in admin.get("/admin/points/actions").text
    assert "No triggers yet" in admin.get("/admin/points/triggers").text


def test_a_point_action_is_created_through_the_form_and_gives_points_once(admin, ctx, run_jobs):
    form = admin.get("/admin/points/actions/new").forms["action-form"]
    form["name"] = "Visited pricing"
    form["delta"] = "0"
    form["kind"] = "page_visited"
    form["url_pattern"] = "(unclosed"
    form["url_mode"] = "regex"
    refused = form.submit(status=400)
    assert "cannot be 0" in refused.text and "regular expression is not valid" in refused.text
    assert PointAction.select().count() == 0
    form = refused.forms["action-form"]
    assert form["name"].value == "Visited pricing"  # nothing typed is lost
    form["delta"] = "+10"
    form["url_pattern"] = "*/pricing*"
    form["url_mode"] = "glob"
    page = form.submit().follow()
    assert "Visited pricing" in page.text and "+10" in page.text
    action = PointAction.get()
    assert (action.delta, action.kind, action.url_pattern, action.active) == (10, "page_visited", "*/pricing*", True)

    ada = contacts.create_contact({"email": "ada@example.com"})
    emit(ada, "page_visited", {"url": "https://ex.com/pricing"})
    emit(ada, "page_visited", {"url": "https://ex.com/pricing/again"})
    run_jobs()
    assert Contact.get_by_id(ada.id).points == 10
    assert ">1 contact<" in admin.get("/admin/points/actions").text  # singular since the plural form


def test_the_events_offered_are_the_registered_kinds_and_others_are_refused(admin, ctx):
    form = admin.get("/admin/points/actions/new").forms["action-form"]
    offered = {value: text for value, _, text in form["kind"].options}
    registered = {kind.id: kind.label for kind in event_kinds()}
    assert set(offered) == set(registered) - {"points_changed", "points_threshold_crossed"}
    assert offered["crm_status_changed"] == "CRM status changed"  # another plugin's kind, its own label
    assert offered["form_submitted"] == registered["form_submitted"]
    form["name"] = "Webinar"
    form["delta"] = "30"
    form["kind"].force_value("webinar_attended")  # a kind nothing records
    refused = form.submit(status=400)
    assert "“webinar_attended” is not an event any active plugin records" in refused.text
    refused.forms["action-form"]["kind"].force_value("points_changed")
    assert "cannot be given for a change of points" in refused.forms["action-form"].submit(status=400).text
    assert PointAction.select().count() == 0


def test_a_tracked_event_by_name_and_its_edit_and_delete(admin, ctx, run_jobs):
    form = admin.get("/admin/points/actions/new").forms["action-form"]
    form["name"] = "Webinar"
    form["delta"] = "30"
    form["kind"] = "custom_event"
    form["target_id"] = "webinar_attended"
    form.submit().follow()
    action = PointAction.get()
    assert (action.kind, action.target_id) == ("custom_event", "webinar_attended")
    ada = contacts.create_contact({"email": "ada@example.com"})
    emit(ada, "custom_event", {"name": "cart_abandoned"})
    run_jobs()
    assert Contact.get_by_id(ada.id).points == 0
    emit(ada, "custom_event", {"name": "webinar_attended"})
    run_jobs()
    assert Contact.get_by_id(ada.id).points == 30
    edit = admin.get(f"/admin/points/actions/{action.id}/edit").forms["action-form"]
    assert edit["kind"].value == "custom_event"
    edit["delta"] = "-5"
    edit.submit().follow()
    assert PointAction.get_by_id(action.id).delta == -5
    page = admin.get("/admin/points/actions")
    admin.post(f"/admin/points/actions/{action.id}/delete", status=400)  # no CSRF token
    admin.post(f"/admin/points/actions/{action.id}/delete", {"csrf_token": csrf_of(page)}).follow()
    assert PointAction.select().count() == 0


def test_a_point_action_of_a_disabled_plugin_is_kept_and_shown_inactive(admin, ctx, run_jobs):
    form = admin.get("/admin/points/actions/new").forms["action-form"]
    form["name"] = "Became a customer"
    form["delta"] = "50"
    form["kind"] = "crm_status_changed"
    form.submit().follow()
    action = PointAction.get()
    lifecycle.deactivate(ctx.extensions["couvee"], "crm_koban_sync")

    row = admin.get("/admin/points/actions").html.find(id="point-actions").find("tbody").text
    assert "Became a customer" in row and "inactive: its plugin is off" in row
    edit = admin.get(f"/admin/points/actions/{action.id}/edit").forms["action-form"]
    assert edit["kind"].value == "crm_status_changed"  # still selected, marked as its plugin being off
    assert "crm_status_changed (its plugin is not active)" in edit.html.find("select", {"name": "kind"}).text
    edit["name"] = "Customer in the CRM"
    edit.submit().follow()  # the saved kind is kept, though nothing records it now
    assert (PointAction.get_by_id(action.id).name, PointAction.get_by_id(action.id).kind) == (
        "Customer in the CRM", "crm_status_changed")
    fresh = admin.get("/admin/points/actions/new").forms["action-form"]
    fresh["name"], fresh["delta"] = "Another", "5"
    fresh["kind"].force_value("crm_status_changed")  # but a new action on it is refused
    assert "is not an event any active plugin records" in fresh.submit(status=400).text


def test_a_trigger_is_built_from_the_actions_registry_without_javascript(admin, ctx, run_jobs):
    segment = save_segment(None, name="Hot leads", kind="static", definition={"match": "all", "groups": []})
    page = admin.get("/admin/points/triggers/new")
    form = page.forms["trigger-form"]
    options = [value for value, *_ in form["a0-action"].options]
    assert {"points.change", "segment.add", "segment.remove"} <= set(options)
    form["name"] = "Hot lead"
    form["threshold"] = "lots"
    refused = form.submit("op", value="save", status=400)
    assert "whole number of points" in refused.text and "Add at least one thing" in refused.text
    form = refused.forms["trigger-form"]
    form["threshold"] = "50"
    form["a0-action"] = "segment.add"
    form = form.submit("op", value="refresh").forms["trigger-form"]
    form["a0-s-segment_id"] = str(segment.id)
    form = form.submit("op", value="add").forms["trigger-form"]
    form["a1-action"] = "points.change"
    form = form.submit("op", value="refresh").forms["trigger-form"]
    form["a1-s-delta"] = "nope"
    refused = form.submit("op", value="save", status=400)
    assert "Points must be a whole number" in refused.text
    form = refused.forms["trigger-form"]
    form["a1-s-delta"] = "5"
    form["a1-s-reason"] = "Became hot"
    page = form.submit("op", value="save").follow()
    assert "Hot lead" in page.text and "50 points" in page.text
    trigger = PointTrigger.get()
    assert trigger.actions == [{"action": "segment.add", "settings": {"segment_id": segment.id}},
                               {"action": "points.change", "settings": {"delta": 5, "reason": "Became hot"}}]
    assert not trigger.retroactive and trigger.retro_status == ""

    ada = contacts.create_contact({"email": "ada@example.com"})
    record_change(Change(ada.id, 60, "Demo request", "manual"))
    run_jobs()
    assert Contact.get_by_id(ada.id).points == 65
    assert TriggerFiring.get().done_at is not None
    contact_page = admin.get(f"/admin/contacts/{ada.id}")
    assert "Became hot" in contact_page.text and "Hot lead" in contact_page.text


def test_a_retroactive_trigger_saved_in_the_admin_runs_in_the_background_with_progress(admin, ctx, run_jobs,
                                                                                       monkeypatch):
    monkeypatch.setattr(triggers, "RETRO_BATCH", 2)
    people = [contacts.create_contact({"email": f"p{i}@example.com"}) for i in range(5)]
    for person in people:
        record_change(Change(person.id, 100, "earlier", "manual"))
    run_jobs()
    form = admin.get("/admin/points/triggers/new").forms["trigger-form"]
    form["name"] = "Existing hot"
    form["threshold"] = "80"
    form["retroactive"] = True
    form["a0-action"] = "points.change"
    form = form.submit("op", value="refresh").forms["trigger-form"]
    form["a0-s-delta"] = "1"
    page = form.submit("op", value="save").follow()
    assert "applied in the background to the 5 contacts" in page.text
    assert "Applying to existing contacts: 0 / 5" in page.text
    assert TriggerFiring.select().count() == 0
    run_jobs()
    trigger = PointTrigger.get()
    assert (trigger.retro_status, trigger.retro_batches) == ("done", 3)
    assert "Applied to the 5 contacts who had the points." in admin.get("/admin/points/triggers").text
    assert {Contact.get_by_id(p.id).points for p in people} == {101}


def test_settings_validate_tiers_and_decay(admin, ctx):
    form = admin.get("/admin/points/settings").forms["scoring-settings"]
    assert form["decay_mode"].value == "off"
    form["warm_from"] = "50"
    form["hot_from"] = "40"
    form["decay_percent"] = "150"
    form["expire_days"] = "soon"
    refused = form.submit(status=400)
    assert "Hot must start above warm" in refused.text and "between 1 and 100" in refused.text
    assert "The lifetime of points must be a whole number" in refused.text
    assert refused.forms["scoring-settings"]["expire_days"].value == "soon"
    assert ScoringSettings.select().count() == 0
    form = refused.forms["scoring-settings"]
    form["hot_from"] = "90"
    form["decay_percent"] = "10"
    form["decay_mode"] = "percent"
    form["expire_days"] = "180"
    form.submit().follow()
    saved = ScoringSettings.get()
    assert (saved.warm_from, saved.hot_from, saved.decay_mode, saved.decay_percent) == (50, 90, "percent", 10)


def test_sales_reps_see_points_but_cannot_configure_them(web, admin_user, ctx):
    auth.create_user("rep@example.com", "a long password", role="sales")
    login(web, "rep@example.com", "a long password")
    assert web.get("/admin/points").status_int == 200
    assert "New point action" not in web.get("/admin/points/actions").text
    web.get("/admin/points/actions/new", status=403)
    web.get("/admin/points/triggers/new", status=403)
    web.get("/admin/points/settings", status=403)


def test_the_segment_editor_offers_the_score_tier_filter(admin, ctx):
    form = admin.get("/admin/segments/new?kind=dynamic").forms["segment-form"]
    assert "points_tier" in [value for value, *_ in form["g0-c0-subject"].options]
    form["name"] = "Hot contacts"
    form["g0-c0-subject"] = "points_tier"
    form = form.submit("action", value="refresh").forms["segment-form"]
    assert [value for value, *_ in form["g0-c0-value"].options] == ["cold", "warm", "hot"]
    form["g0-c0-operator"] = "is"
    form["g0-c0-value"] = "hot"
    page = form.submit("action", value="save").follow()
    assert "Score tier is “hot”" in page.text


def test_overview_shows_tiers_and_a_distribution_chart(admin, ctx):
    for index, points in enumerate((1, 2, 30, 30, 95)):
        person = contacts.create_contact({"email": f"p{index}@example.com"})
        record_change(Change(person.id, points, "x", "manual"))
    contacts.create_contact({"email": "zero@example.com"})
    page = admin.get("/admin/points")
    tiers = page.html.select_one("#tiers").get_text(" ", strip=True)
    assert "3 Cold" in tiers and "2 Warm" in tiers and "1 Hot" in tiers
    svg = page.html.select_one("svg.points-chart")
    bars = svg.select("rect")
    assert sum(int(bar["data-count"]) for bar in bars) == 6
    assert svg["aria-label"] == "Distribution of scores of 6 contacts"
    assert {bar["fill"] for bar in bars if int(bar["data-count"])} == {"#6b9bd1", "#f0a030", "#d9453d"}


def test_contact_page_shows_the_history_and_adjusts_points_by_hand(admin, ctx):
    ada = contacts.create_contact({"email": "ada@example.com", "first_name": HOSTILE})
    record_change(Change(ada.id, 12, HOSTILE, "workflow"))
    page = admin.get(f"/admin/contacts/{ada.id}")
    panel = page.html.select_one("#points-panel")
    assert "Points: 12" in panel.get_text(" ", strip=True)
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    form = page.forms["points-adjust"]
    form["delta"] = "x"
    form["reason"] = "Met at the trade show"
    page = form.submit().follow()
    assert "The points were not changed" in page.text and Contact.get_by_id(ada.id).points == 12
    form = page.forms["points-adjust"]
    form["delta"] = "+8"
    form["reason"] = ""
    form.fields["reason"][0].force_value("")
    page = form.submit().follow()
    assert "Say why the points change" in page.text
    form = page.forms["points-adjust"]
    form["delta"] = "+8"
    form["reason"] = "Met at the trade show"
    page = form.submit().follow()
    assert "+8 points recorded; the score is now 20." in page.text
    form.submit().follow()  # the same form sent twice (double click, back button)
    assert Contact.get_by_id(ada.id).points == 20
    row = PointChange.get(PointChange.source_type == "manual")
    assert (row.delta, row.reason, row.user.email) == (8, "Met at the trade show", "owner@example.com")
    history = admin.get(f"/admin/contacts/{ada.id}").html.select_one("#points-panel table").get_text(" ", strip=True)
    assert "Met at the trade show" in history and "Manual edit" in history and "by Owner" in history
    admin.post(f"/admin/points/contacts/{ada.id}/adjust", {"delta": "5", "reason": "x"}, status=400)  # no CSRF
    assert Contact.get_by_id(ada.id).points == 20
    assert re.search(r"\+8\s*</td>", admin.get("/admin/points").text)
